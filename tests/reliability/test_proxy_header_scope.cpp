// Found by tests/fuzz/fuzz_proxy_protocol.cpp: the PROXY v1 header for a link-local IPv6
// client carries the scope id ("PROXY TCP6 fe80::1%eth0 ..."), which the protocol does
// not allow (addresses as inet_ntop writes them) and which readers such as HAProxy
// reject, so the backend dropped the connection. Fixed: the writer drops the scope id.
#include "proxy_protocol.hpp"

#include <doctest/doctest.h>

#include <string>

TEST_CASE("proxy_v1_header_has_no_scope_id") {
  namespace ip = boost::asio::ip;
  const ip::address_v6 link_local(ip::make_address_v6("fe80::1").to_bytes(), 1);
  const ip::tcp::endpoint client(link_local, 8000);
  const ip::tcp::endpoint frontend(ip::make_address("::1"), 80);
  const auto header = portpool::proxy::proxy_header_v1(client, frontend);
  const std::string line(header.begin(), header.end());
  CHECK(line == "PROXY TCP6 fe80::1 ::1 8000 80\r\n");
}
