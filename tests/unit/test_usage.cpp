#include "portpool/error.hpp"
#include "portpool/usage.hpp"

#include <doctest/doctest.h>

using namespace portpool;

TEST_SUITE("usage") {
  TEST_CASE("levels rise at the threshold and fall only past the hysteresis") {
    const auto l = usage_limits::for_capacity(
        100, {.warn_percent = 80, .crit_percent = 95, .hysteresis_percent = 5});
    auto level = usage_level::ok;
    level = l.next(level, 79);
    CHECK(level == usage_level::ok);
    level = l.next(level, 80);
    CHECK(level == usage_level::warning);
    level = l.next(level, 76); // 76% is within 5 points of 80: stays
    CHECK(level == usage_level::warning);
    level = l.next(level, 75);
    CHECK(level == usage_level::warning);
    level = l.next(level, 74);
    CHECK(level == usage_level::ok);
    level = l.next(level, 95);
    CHECK(level == usage_level::critical);
    level = l.next(level, 90);
    CHECK(level == usage_level::critical);
    level = l.next(level, 89);
    CHECK(level == usage_level::warning);
    level = l.next(level, 10);
    CHECK(level == usage_level::ok);
  }

  TEST_CASE("thresholds as counts round up, and above 100% never fire") {
    const auto l = usage_limits::for_capacity(28232, {});
    CHECK(l.warn_enter == 22586); // ceil(0.80 * 28232)
    CHECK(l.crit_enter == 26821); // ceil(0.95 * 28232)
    const auto never = usage_limits::for_capacity(10, {.warn_percent = 101, .crit_percent = 200});
    CHECK(never.next(usage_level::ok, 10) == usage_level::ok);
  }

  TEST_CASE("bad thresholds are refused with the value") {
    CHECK_THROWS_WITH_AS(validate({.warn_percent = 90, .crit_percent = 80}),
                         "bad usage thresholds: crit 80.000000% is below warn 90.000000%",
                         bad_input);
    CHECK_THROWS_AS(validate({.warn_percent = 0}), bad_input);
    CHECK_THROWS_AS(validate({.warn_percent = 10, .crit_percent = 20, .hysteresis_percent = 10}),
                    bad_input);
    CHECK_NOTHROW(validate({}));
  }

  TEST_CASE("alert messages use the incident write-up's wording") {
    usage_alert a{endpoint::parse("127.0.0.1:8080"),
                  ip_address::parse("127.0.0.2"),
                  usage_level::ok,
                  usage_level::warning,
                  23000,
                  28232};
    CHECK(a.message() ==
          "connections from 127.0.0.2 to 127.0.0.1:8080 have used 23000 of 28232 ports (81%)");
    a.source.reset();
    a.previous = usage_level::critical;
    a.current = usage_level::ok;
    a.used = 100;
    CHECK(a.is_recovery());
    CHECK(a.message() ==
          "connections from all sources to 127.0.0.1:8080 are back to 100 of 28232 ports (0%)");
    CHECK(to_string(usage_level::critical) == "CRITICAL");
  }
}
