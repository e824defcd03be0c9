// portpool-bench-connect: connect latency of the kernel strategy (plain connect()) and
// the pool strategy (explicit bind + connect) as the port space fills up. Runs itself in
// a private network namespace with a 10,000-port ephemeral range (30000-39999) and
// tcp_tw_reuse=0; the pool has 1 source x 10,000 ports (20000-29999) so both strategies
// have the same number of ports toward the one backend. At each occupancy the space is
// filled with held connections, then single connections are timed (and reset, so they
// leave no TIME_WAIT); 5 interleaved rounds of 200 samples per (strategy, occupancy). One line
// each:
//   strategy=<kernel|pool> occupancy=<pct> connect_us=<median>
// then the ratio the target names: pool at 90% <= 1.2x pool at 0%.
#include "netns.hpp"

#include "portpool/connect.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <vector>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace portpool;

namespace {

constexpr int range_size = 10000;
constexpr int samples_per_round = 200;
constexpr int rounds = 5;
const tcp::endpoint backend(asio::ip::make_address("127.0.0.1"), 8080);

// The backend, in a child process so its descriptors do not count against ours: accepts
// everything and closes each connection when the client closes or resets it.
[[noreturn]] void run_backend(int listen_fd) {
  const int ep = ::epoll_create1(0);
  epoll_event ev{.events = EPOLLIN, .data = {.fd = listen_fd}};
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  std::vector<epoll_event> events(256);
  for (;;) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == listen_fd) {
        for (int c; (c = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          epoll_event cev{.events = EPOLLIN | EPOLLRDHUP, .data = {.fd = c}};
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
      } else {
        ::close(fd); // the client closed or reset: nothing else to do
      }
    }
  }
}

void reset_close(tcp::socket& s) {
  boost::system::error_code ignored; // measurement sockets: failures here change nothing
  s.set_option(asio::socket_base::linger(true, 0), ignored);
  s.close(ignored);
}

asio::awaitable<void> settle() {
  asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(200));
  co_await pause.async_wait(asio::use_awaitable);
}

asio::awaitable<void> sample_connects(source_allocator& pool, source_mode mode,
                                      std::vector<double>& us) {
  for (int i = 0; i < samples_per_round; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto r = co_await async_connect(pool, backend, {.mode = mode});
    const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
    if (r.error) throw std::runtime_error("sample connect failed: " + r.error.message());
    us.push_back(took.count());
    reset_close(r.socket);
  }
}

// Holds `target` connections of `mode` open, opening or resetting the difference.
asio::awaitable<void> set_occupancy(source_allocator& pool, source_mode mode, std::size_t target,
                                    std::vector<connect_result>& fill) {
  while (fill.size() > target) {
    reset_close(fill.back().socket);
    fill.pop_back();
  }
  while (fill.size() < target) {
    auto r = co_await async_connect(pool, backend, {.mode = mode});
    if (r.error) throw std::runtime_error("fill connect failed: " + r.error.message());
    fill.push_back(std::move(r));
  }
  co_await settle(); // let the backend catch up before timing anything
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Rounds interleave every (strategy, occupancy) so that a noisy neighbour on this shared
// machine slows all of them alike instead of skewing one.
asio::awaitable<void> run(source_allocator& pool, std::map<std::string, double>& results) {
  std::map<std::string, std::vector<double>> us;
  for (int round = 0; round < rounds; ++round) {
    for (const auto mode : {source_mode::kernel, source_mode::pool}) {
      std::vector<connect_result> fill;
      for (const int occupancy : {0, 50, 90}) {
        co_await set_occupancy(pool, mode, range_size * occupancy / 100, fill);
        co_await sample_connects(pool, mode,
                                 us[std::string(to_string(mode)) + std::to_string(occupancy)]);
      }
      co_await set_occupancy(pool, mode, 0, fill);
    }
  }
  for (const auto mode : {source_mode::kernel, source_mode::pool}) {
    for (const int occupancy : {0, 50, 90}) {
      const auto key = std::string(to_string(mode)) + std::to_string(occupancy);
      results[key] = median(us[key]);
      std::printf("strategy=%s occupancy=%d connect_us=%.1f\n",
                  std::string(to_string(mode)).c_str(), occupancy, results[key]);
    }
  }
}

} // namespace

int main() {
  try {
    tools::enter_private_netns_with_range(30000, 30000 + range_size - 1);
    tools::write_sysctl("net/ipv4/tcp_tw_reuse", "0");
  } catch (const std::exception& e) {
    std::cerr << "portpool-bench-connect: " << e.what() << '\n';
    return 1;
  }
  asio::io_context io;
  tcp::acceptor acceptor(io, backend);
  acceptor.listen(4096);
  const pid_t child = ::fork();
  if (child == 0) run_backend(acceptor.native_handle());
  acceptor.close();

  source_allocator pool(
      {.sources = address_pool::parse("127.0.0.2"), .ports = port_set::parse("20000-29999")});
  std::map<std::string, double> results;
  int status = 0;
  asio::co_spawn(io, run(pool, results), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::cerr << "portpool-bench-connect: " << x.what() << '\n';
      status = 1;
    }
  });
  io.run();
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  if (status == 0)
    std::printf(
        "pool_90_over_pool_0=%.2f kernel_90_over_kernel_0=%.2f kernel_90_over_pool_90=%.2f\n",
        results["pool90"] / results["pool0"], results["kernel90"] / results["kernel0"],
        results["kernel90"] / results["pool90"]);
  return status;
}
