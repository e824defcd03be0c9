// The log-linear latency histogram: bucket bounds, quantiles, merge and the JSON form the
// workers ship to the parent.
#include "latency_histogram.hpp"

#include <doctest/doctest.h>

using portpool::load::latency_histogram;
using namespace std::chrono_literals;

TEST_SUITE("latency_histogram") {
  TEST_CASE("buckets cover every value with bounded error") {
    std::uint64_t previous_top = 0;
    for (unsigned i = 1; i < latency_histogram::bucket_count; ++i) {
      const auto top = latency_histogram::bucket_top(i);
      REQUIRE(top > previous_top); // contiguous and increasing
      REQUIRE(latency_histogram::bucket_of(top) == i);
      REQUIRE(latency_histogram::bucket_of(previous_top + 1) == i);
      previous_top = top;
      if (top > (1ULL << 62)) break;
    }
    for (std::uint64_t v : {1ULL, 127ULL, 128ULL, 1000ULL, 123456789ULL, 1ULL << 40}) {
      const auto top = latency_histogram::bucket_top(latency_histogram::bucket_of(v));
      CHECK(top >= v);
      CHECK(static_cast<double>(top - v) <= static_cast<double>(v) / 64.0);
    }
  }

  TEST_CASE("quantiles of 1..1000 us") {
    latency_histogram h;
    for (int i = 1; i <= 1000; ++i)
      h.record(std::chrono::microseconds(i));
    CHECK(h.count() == 1000);
    CHECK(h.max() == 1000us);
    const auto near = [](std::chrono::nanoseconds got, double want_us) {
      return std::abs(static_cast<double>(got.count()) / 1000.0 - want_us) <= want_us / 64.0;
    };
    CHECK(near(h.quantile(0.5), 500));
    CHECK(near(h.quantile(0.9), 900));
    CHECK(near(h.quantile(0.99), 990));
    CHECK(h.quantile(1.0) == 1000us);
    CHECK(latency_histogram{}.quantile(0.5) == 0ns);
  }

  TEST_CASE("merge and json round trip equal recording in one") {
    latency_histogram a, b, both;
    for (int i = 0; i < 500; ++i) {
      a.record(std::chrono::microseconds(10 + i));
      b.record(std::chrono::milliseconds(3 + i % 7));
      both.record(std::chrono::microseconds(10 + i));
      both.record(std::chrono::milliseconds(3 + i % 7));
    }
    auto shipped = latency_histogram::from_json(b.to_json());
    a.merge(shipped);
    CHECK(a.count() == both.count());
    CHECK(a.max() == both.max());
    for (double q : {0.1, 0.5, 0.9, 0.99, 0.999})
      CHECK(a.quantile(q) == both.quantile(q));
  }
}
