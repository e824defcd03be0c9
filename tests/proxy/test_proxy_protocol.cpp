// PROXY protocol headers, byte for byte, against HAProxy's proxy-protocol.txt.
#include "proxy_protocol.hpp"

#include <doctest/doctest.h>

using namespace portpool::proxy;
namespace asio = boost::asio;
using asio::ip::tcp;

TEST_SUITE("proxy_protocol") {
  TEST_CASE("v1") {
    const tcp::endpoint client(asio::ip::make_address("192.0.2.1"), 56324);
    const tcp::endpoint frontend(asio::ip::make_address("198.51.100.1"), 443);
    const auto h = proxy_header_v1(client, frontend);
    CHECK(std::string(h.begin(), h.end()) == "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n");
    const tcp::endpoint client6(asio::ip::make_address("2001:db8::1"), 1000);
    const auto h6 = proxy_header_v1(client6, frontend);
    CHECK(std::string(h6.begin(), h6.end()) ==
          "PROXY TCP6 2001:db8::1 ::ffff:198.51.100.1 1000 443\r\n");
  }

  TEST_CASE("v2") {
    const tcp::endpoint client(asio::ip::make_address("192.0.2.1"), 0x1234);
    const tcp::endpoint frontend(asio::ip::make_address("198.51.100.1"), 443);
    const auto h = proxy_header_v2(client, frontend);
    const std::vector<std::uint8_t> expected = {
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, // signature
        0x21, 0x11, 0x00, 0x0C,                      // v2 PROXY, TCP4, 12
        192,  0,    2,    1,    198,  51,   100,  1, // addresses
        0x12, 0x34, 0x01, 0xBB};                     // ports
    CHECK(h == expected);
    const tcp::endpoint client6(asio::ip::make_address("::1"), 1);
    const auto h6 = proxy_header_v2(client6, frontend);
    REQUIRE(h6.size() == 16 + 36);
    CHECK(h6[13] == 0x21); // TCP over IPv6
    CHECK(h6[15] == 36);
    CHECK(h6[16 + 15] == 1);         // ::1
    CHECK(h6[16 + 16 + 10] == 0xff); // ::ffff:198.51.100.1
    CHECK(h6[16 + 16 + 12] == 198);
  }
}
