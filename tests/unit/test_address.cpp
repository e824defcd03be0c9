#include "portpool/address.hpp"
#include "portpool/error.hpp"

#include <doctest/doctest.h>

using portpool::address_pool;
using portpool::bad_input;
using portpool::endpoint;
using portpool::ip_address;

namespace {
std::string error_of(std::string_view text) {
  std::string error;
  CHECK_FALSE(address_pool::try_parse(text, error).has_value());
  return error;
}
} // namespace

TEST_SUITE("address") {
  TEST_CASE("single addresses, ranges, CIDR blocks and lists") {
    CHECK(address_pool::parse("127.0.0.2").size() == 1);
    const auto range = address_pool::parse("127.0.0.2-127.0.0.9");
    REQUIRE(range.size() == 8);
    CHECK(range[0].to_string() == "127.0.0.2");
    CHECK(range[7].to_string() == "127.0.0.9");
    const auto block = address_pool::parse("127.0.0.0/29");
    REQUIRE(block.size() == 8);
    CHECK(block[0].to_string() == "127.0.0.0");
    CHECK(block[7].to_string() == "127.0.0.7");
    const auto list = address_pool::parse(" 10.0.0.1, 10.0.0.7 ,10.0.0.3");
    REQUIRE(list.size() == 3);
    CHECK(list[1].to_string() == "10.0.0.7");
    CHECK(address_pool::parse("127.0.0.1/32").size() == 1);
  }

  TEST_CASE("a range crossing an octet boundary") {
    const auto pool = address_pool::parse("10.0.0.254-10.0.1.1");
    REQUIRE(pool.size() == 4);
    CHECK(pool[2].to_string() == "10.0.1.0");
  }

  TEST_CASE("IPv6 addresses and ranges") {
    const auto one = address_pool::parse("::1");
    REQUIRE(one.size() == 1);
    CHECK(one[0].is_v6());
    const auto pool = address_pool::parse("fd00::1-fd00::8");
    REQUIRE(pool.size() == 8);
    CHECK(pool[7].to_string() == "fd00::8");
    CHECK(address_pool::parse("fd00::fffe-fd00::1:1").size() == 4);
    CHECK(address_pool::parse("fd00::/125").size() == 8);
    const auto mixed = address_pool::parse("127.0.0.2,::1");
    CHECK(mixed[0].is_v4());
    CHECK(mixed[1].is_v6());
  }

  TEST_CASE("to_string round-trips") {
    const auto pool = address_pool::parse("127.0.0.2-127.0.0.5,127.0.0.9,fd00::1-fd00::3");
    CHECK(pool.to_string() == "127.0.0.2-127.0.0.5,127.0.0.9,fd00::1-fd00::3");
    CHECK(address_pool::parse(pool.to_string()).size() == pool.size());
  }

  TEST_CASE("every kind of bad input names the token and why") {
    CHECK(error_of("127.0.0.9-127.0.0.2") ==
          "bad address pool \"127.0.0.9-127.0.0.2\": range end before start");
    CHECK(error_of("127.0.0.300") ==
          "bad address pool \"127.0.0.300\": \"127.0.0.300\" is not an IPv4 or IPv6 address");
    CHECK(error_of("127.0.0.2,,127.0.0.3") ==
          "bad address pool \"127.0.0.2,,127.0.0.3\": empty item in list");
    CHECK(error_of("") == "bad address pool \"\": empty; give addresses like 127.0.0.2-127.0.0.9");
    CHECK(error_of("127.0.0.1-::1") ==
          "bad address pool \"127.0.0.1-::1\": range mixes IPv4 and IPv6");
    CHECK(error_of("127.0.0.0/33") ==
          "bad address pool \"127.0.0.0/33\": prefix length must be 0-32");
    CHECK(error_of("127.0.0.0/x") ==
          "bad address pool \"127.0.0.0/x\": prefix length must be 0-32");
    CHECK(error_of("127.0.0.1/29") ==
          "bad address pool \"127.0.0.1/29\": host bits set; the block starts at 127.0.0.0");
    CHECK(error_of("127.0.0.0/8") ==
          "bad address pool \"127.0.0.0/8\": more than 65536 addresses in one pool");
    CHECK(error_of("10.0.0.0-10.255.255.255") ==
          "bad address pool \"10.0.0.0-10.255.255.255\": more than 65536 addresses in one pool");
    CHECK(error_of("127.0.0.2,127.0.0.2") == "bad address pool \"127.0.0.2\": duplicate address");
    CHECK(error_of("localhost") ==
          "bad address pool \"localhost\": \"localhost\" is not an IPv4 or IPv6 address");
    CHECK_THROWS_AS(address_pool::parse("1.2.3"), bad_input);
  }

  TEST_CASE("endpoints parse and print IPv4 and bracketed IPv6") {
    const auto e = endpoint::parse("127.0.0.1:8080");
    CHECK(e.address.to_string() == "127.0.0.1");
    CHECK(e.port == 8080);
    CHECK(e.to_string() == "127.0.0.1:8080");
    const auto v6 = endpoint::parse("[::1]:9000");
    CHECK(v6.address.is_v6());
    CHECK(v6.to_string() == "[::1]:9000");
    CHECK_THROWS_WITH_AS(endpoint::parse("127.0.0.1:70000"),
                         "bad endpoint \"127.0.0.1:70000\": port must be 1-65535", bad_input);
    CHECK_THROWS_WITH_AS(endpoint::parse("127.0.0.1"),
                         "bad endpoint \"127.0.0.1\": expected ADDRESS:PORT", bad_input);
    CHECK_THROWS_WITH_AS(endpoint::parse("::1:80"),
                         "bad endpoint \"::1:80\": write IPv6 as [ADDRESS]:PORT", bad_input);
    CHECK_THROWS_AS(endpoint::parse("[::1]"), bad_input);
    CHECK_THROWS_AS(endpoint::parse("host:80"), bad_input);
  }

  TEST_CASE("IPv4 host order conversion") {
    const auto a = ip_address::v4(0x7f000002);
    CHECK(a.to_string() == "127.0.0.2");
    CHECK(a.v4_host_order() == 0x7f000002u);
    CHECK(ip_address::parse("127.0.0.2") == a);
    CHECK(ip_address::v4(0x7f000003) > a);
  }
}
