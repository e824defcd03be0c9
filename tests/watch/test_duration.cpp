#include "duration.hpp"

#include "portpool/error.hpp"

#include <doctest/doctest.h>

using namespace portpool;
using namespace std::chrono_literals;

TEST_SUITE("duration") {
  TEST_CASE("units") {
    CHECK(watch::parse_duration("500ms") == 500ms);
    CHECK(watch::parse_duration("5s") == 5s);
    CHECK(watch::parse_duration("2m") == 2min);
    CHECK(watch::parse_duration("1h") == 1h);
    CHECK(watch::parse_duration("24h") == 24h);
  }
  TEST_CASE("bad durations name the text") {
    for (const char* text :
         {"", "5", "5x", "ms", "-5s", "0s", "25h", "1.5s", "5 s", "99999999999999999999ms"}) {
      CAPTURE(text);
      const auto quoted = "\"" + std::string(text) + "\"";
      CHECK_THROWS_WITH_AS(watch::parse_duration(text), doctest::Contains(quoted.c_str()),
                           bad_input);
    }
  }
}
