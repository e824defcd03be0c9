// Command-line parsing that needs no process: durations, shares, error names, and the
// descriptor plan.
#include "descriptor_budget.hpp"
#include "error_names.hpp"
#include "options.hpp"

#include "portpool/error.hpp"

#include <doctest/doctest.h>

#include <cerrno>

using namespace portpool::load;
using namespace std::chrono_literals;

namespace {
load_options parse(std::vector<const char*> args) {
  args.insert(args.begin(), "portpool-load");
  auto o = parse_options(static_cast<int>(args.size()), args.data());
  REQUIRE(o);
  return *o;
}
} // namespace

TEST_SUITE("options") {
  TEST_CASE("durations") {
    CHECK(parse_duration("--d", "500ms") == 500ms);
    CHECK(parse_duration("--d", "10s") == 10s);
    CHECK(parse_duration("--d", "1.5") == 1500ms);
    CHECK(parse_duration("--d", "2m") == 120s);
    CHECK_THROWS_WITH_AS(parse_duration("--duration", "5x"), doctest::Contains("\"5x\""),
                         usage_error);
    CHECK_THROWS_AS(parse_duration("--duration", "s"), usage_error);
  }

  TEST_CASE("shares add up to the total") {
    for (std::uint64_t total : {0ULL, 1ULL, 7ULL, 500000ULL})
      for (unsigned n : {1u, 2u, 3u, 27u}) {
        std::uint64_t sum = 0;
        for (unsigned k = 0; k < n; ++k)
          sum += share_of(total, k, n);
        CHECK(sum == total);
        CHECK(share_of(total, 0, n) - share_of(total, n - 1, n) <= 1);
      }
  }

  TEST_CASE("hold with a pool") {
    const auto o = parse({"hold", "--target", "127.0.0.1:8080", "--target", "127.0.0.1:8081",
                          "--source", "127.0.0.2-127.0.0.5", "--ports", "20000-20199",
                          "--connections", "800", "--workers", "2", "--rate", "1000"});
    CHECK(o.mode == run_mode::hold);
    CHECK(o.targets.size() == 2);
    CHECK(o.sources->size() == 4);
    CHECK(o.ports.size() == 200);
    CHECK(o.connections == 800);
    CHECK(o.workers == 2);
    CHECK(o.rate == 1000);
  }

  TEST_CASE("flags of another mode are refused by name") {
    CHECK_THROWS_WITH_AS(parse({"serve", "--listen", "127.0.0.1:1", "--connections", "5"}),
                         doctest::Contains("--connections"), usage_error);
    CHECK_THROWS_WITH_AS(
        parse({"hold", "--target", "127.0.0.1:1", "--source-mode", "kernel", "--ports", "1-2"}),
        doctest::Contains("--ports"), usage_error);
  }

  TEST_CASE("more ports than partitions") {
    CHECK_THROWS_WITH_AS(parse({"hold", "--target", "127.0.0.1:1", "--source", "127.0.0.2",
                                "--ports", "20000-20002", "--workers", "4"}),
                         doctest::Contains("20000-20002"), usage_error);
  }

  TEST_CASE("descriptor plan names the workers that fit") {
    auto o = parse({"hold", "--target", "127.0.0.1:1", "--source-mode", "kernel", "--connections",
                    "500000", "--workers", "10"});
    CHECK_THROWS_WITH_AS(check_descriptor_plan(o, 20000), doctest::Contains("--workers 26 or more"),
                         usage_error);
    o.workers = 27;
    CHECK_NOTHROW(check_descriptor_plan(o, 20000));
  }
}

TEST_SUITE("error_names") {
  TEST_CASE("errno and library names") {
    CHECK(error_name(std::error_code(EADDRNOTAVAIL, std::system_category())) == "EADDRNOTAVAIL");
    CHECK(error_name(std::make_error_code(std::errc::connection_refused)) == "ECONNREFUSED");
    CHECK(error_name(make_error_code(portpool::errc::exhausted)) == "POOL_EXHAUSTED");
    CHECK(error_name(make_error_code(portpool::errc::connect_timeout)) == "CONNECT_TIMEOUT");
    CHECK(error_name(boost::asio::error::eof) == "EOF");
    CHECK(error_name(boost::system::error_code(ECONNRESET, boost::system::system_category())) ==
          "ECONNRESET");
    // Asio's codes converted to std keep their errno name.
    const std::error_code converted =
        boost::system::error_code(EADDRINUSE, boost::system::system_category());
    CHECK(error_name(converted) == "EADDRINUSE");
    CHECK(errno_name(99999) == "errno 99999");
  }
}
