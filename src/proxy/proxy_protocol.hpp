#pragma once
// PROXY protocol headers (HAProxy's spec, versions 1 and 2) that tell a backend who the
// client was, since the backend only sees the proxy's source address.

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <vector>

namespace portpool::proxy {

/// "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n" (or TCP6). `client` is the client's
/// address, `frontend` the address it connected to. Pure.
std::vector<std::uint8_t> proxy_header_v1(const boost::asio::ip::tcp::endpoint& client,
                                          const boost::asio::ip::tcp::endpoint& frontend);

/// The binary v2 header: signature, PROXY command, TCP over IPv4/IPv6, addresses. Mixed
/// families are sent as IPv6 with IPv4-mapped addresses. Pure.
std::vector<std::uint8_t> proxy_header_v2(const boost::asio::ip::tcp::endpoint& client,
                                          const boost::asio::ip::tcp::endpoint& frontend);

} // namespace portpool::proxy
