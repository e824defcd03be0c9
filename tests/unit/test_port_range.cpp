#include "portpool/error.hpp"
#include "portpool/port_range.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include <unistd.h>

using portpool::bad_input;
using portpool::ephemeral_range;
using portpool::port_set;

namespace {
std::string error_of(std::string_view text) {
  std::string error;
  CHECK_FALSE(port_set::try_parse(text, error).has_value());
  return error;
}

std::string temp_file(const std::string& content) {
  char name[] = "/tmp/portpool-test-XXXXXX";
  const int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  std::ofstream(name) << content;
  ::close(fd);
  return name;
}
} // namespace

TEST_SUITE("port_range") {
  TEST_CASE("ranges, lists and exclusions") {
    const auto s = port_set::parse("1024-65000,!8080,!9000-9100");
    CHECK(s.size() == (65000 - 1024 + 1) - 1 - 101);
    CHECK(s.contains(1024));
    CHECK(s.contains(65000));
    CHECK_FALSE(s.contains(8080));
    CHECK_FALSE(s.contains(9050));
    CHECK(s.contains(9101));
    CHECK_FALSE(s.contains(1023));
    CHECK(port_set::parse("20000").size() == 1);
    CHECK(port_set::parse("!8080, 8000-8100").size() == 100); // exclusions apply after all
    CHECK(port_set::parse("1-65535").size() == 65535);
    CHECK(s.to_string() == "1024-8079,8081-8999,9101-65000");
    CHECK(port_set::parse(s.to_string()) == s);
    const auto v = port_set::parse("5,3,4").to_vector();
    CHECK(v == std::vector<std::uint16_t>{3, 4, 5});
  }

  TEST_CASE("every kind of bad input names the token and why") {
    CHECK(error_of("70000-80000") == "bad port range \"70000-80000\": port above 65535");
    CHECK(error_of("2000-1000") == "bad port range \"2000-1000\": range end before start");
    CHECK(error_of("0-100") == "bad port range \"0-100\": port 0 is not a usable port");
    CHECK(error_of("abc") == "bad port range \"abc\": \"abc\" is not a port number");
    CHECK(error_of("10-x") == "bad port range \"10-x\": \"x\" is not a port number");
    CHECK(error_of("-5") == "bad port range \"-5\": \"\" is not a port number");
    CHECK(error_of("1000,,2000") == "bad port range \"1000,,2000\": empty item in list");
    CHECK(error_of("") == "bad port range \"\": empty; give ports like 20000-29999");
    CHECK(error_of("!8080") == "bad port range \"!8080\": only exclusions; name the ports to use, "
                               "e.g. 20000-29999,!25000");
    CHECK(error_of("8080,!8080") == "bad port range \"8080,!8080\": the exclusions leave no port");
    CHECK(error_of("99999999999999999999") ==
          "bad port range \"99999999999999999999\": \"99999999999999999999\" is not a port number");
    CHECK_THROWS_AS(port_set::range(0, 10), bad_input);
    CHECK_THROWS_AS(port_set::range(10, 9), bad_input);
  }

  TEST_CASE("the kernel's files: ephemeral range and reserved ports") {
    const auto range_file = temp_file("32768\t60999\n");
    const auto r = portpool::read_ephemeral_range(range_file);
    CHECK(r.low == 32768);
    CHECK(r.high == 60999);
    CHECK(r.size() == 28232);
    const auto reserved_file = temp_file("8080,40000-40009\n");
    const auto reserved = portpool::read_reserved_ports(reserved_file);
    CHECK(reserved.size() == 11);
    CHECK(reserved.contains(40009));
    const auto empty_file = temp_file("\n");
    CHECK(portpool::read_reserved_ports(empty_file).empty());
    const auto junk_file = temp_file("hello\n");
    CHECK_THROWS_WITH_AS(
        portpool::read_ephemeral_range(junk_file),
        ("cannot parse " + junk_file + ": expected two ports, low and high").c_str(),
        std::runtime_error);
    CHECK_THROWS_WITH_AS(portpool::read_ephemeral_range("/nonexistent/range"),
                         "cannot read /nonexistent/range", std::runtime_error);
    for (const auto& f : {range_file, reserved_file, empty_file, junk_file})
      std::remove(f.c_str());
  }

  TEST_CASE("the live kernel range can be read") {
    const auto r = portpool::read_ephemeral_range();
    CHECK(r.low > 0);
    CHECK(r.high >= r.low);
    CHECK_NOTHROW((void)portpool::read_reserved_ports());
  }

  TEST_CASE("overlap with the ephemeral range leaves out reserved ports") {
    const ephemeral_range kernel{32768, 60999};
    const auto pool = port_set::parse("20000-40000");
    const auto reserved = port_set::parse("32768-33767");
    const auto overlap = portpool::ephemeral_overlap(pool, kernel, reserved);
    CHECK(overlap.size() == 40000 - 33768 + 1);
    CHECK_FALSE(overlap.contains(32768));
    CHECK(overlap.contains(33768));
    CHECK(portpool::ephemeral_overlap(port_set::parse("20000-29999"), kernel, {}).empty());
  }
}
