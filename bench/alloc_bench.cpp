// portpool-bench-alloc: acquire+release cost of the allocator at rising occupancy.
// 8 sources x 64,512 ports (1024-65535) toward one destination. For each occupancy the
// pool is filled, then a random (1 - occupancy) share of slots is released so the free
// slots are scattered, as they are after hours of churn. One line per occupancy:
//   occupancy=<pct> acquire_release_ns=<median> by_endpoint_ns=<median>
// then 2-thread throughput lines. Target: <= 30 ns at every occupancy.
#include "portpool/allocator.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

using namespace portpool;
using clock_type = std::chrono::steady_clock;

namespace {

const endpoint destination = endpoint::parse("127.0.0.1:8080");

allocator_options bench_options() {
  return {.sources = address_pool::parse("127.0.0.2-127.0.0.9"),
          .ports = port_set::parse("1024-65535")};
}

template <class Op> double median_ns_per_op(Op op, int batches = 15, int per_batch = 200000) {
  std::vector<double> samples;
  for (int b = 0; b < batches; ++b) {
    const auto start = clock_type::now();
    for (int i = 0; i < per_batch; ++i)
      op();
    const std::chrono::duration<double, std::nano> took = clock_type::now() - start;
    samples.push_back(took.count() / per_batch);
  }
  std::nth_element(samples.begin(), samples.begin() + batches / 2, samples.end());
  return samples[static_cast<std::size_t>(batches / 2)];
}

void occupancy_line(double percent) {
  source_allocator pool(bench_options());
  std::error_code ec;
  const auto handle = pool.destination(destination, ec);
  const auto capacity = pool.capacity(destination);
  std::vector<lease> held;
  held.reserve(capacity);
  for (std::uint64_t i = 0; i < capacity; ++i)
    held.push_back(pool.acquire(handle, ec));
  std::mt19937_64 rng(42);
  std::shuffle(held.begin(), held.end(), rng);
  held.resize(static_cast<std::size_t>(static_cast<double>(capacity) * percent / 100.0));

  const double by_handle = median_ns_per_op([&] {
    auto l = pool.acquire(handle, ec);
    if (ec) std::abort(); // a free slot exists at every measured occupancy
  });
  const double by_endpoint = median_ns_per_op([&] {
    auto l = pool.acquire(destination, ec);
    if (ec) std::abort();
  });
  std::printf("occupancy=%g acquire_release_ns=%.1f by_endpoint_ns=%.1f\n", percent, by_handle,
              by_endpoint);
}

void threads_line(bool same_destination) {
  source_allocator pool(bench_options());
  constexpr int ops = 2000000;
  auto work = [&](int id) {
    std::error_code ec;
    const auto d = same_destination ? destination : endpoint::parse("127.0.0.1:8081");
    const auto handle = pool.destination(id == 0 ? destination : d, ec);
    for (int i = 0; i < ops; ++i) {
      auto l = pool.acquire(handle, ec);
      if (ec) std::abort();
    }
  };
  const auto start = clock_type::now();
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  const std::chrono::duration<double> took = clock_type::now() - start;
  std::printf("threads=2 destinations=%s acquire_release_per_s=%.0f\n",
              same_destination ? "same" : "distinct", 2.0 * ops / took.count());
}

} // namespace

int main() {
  for (double p : {0.0, 50.0, 90.0, 99.0, 99.9})
    occupancy_line(p);
  threads_line(true);
  threads_line(false);
}
