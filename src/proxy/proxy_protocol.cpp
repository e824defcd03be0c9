#include "proxy_protocol.hpp"

#include <string>

namespace portpool::proxy {
namespace asio = boost::asio;

namespace {

asio::ip::address_v6 as_v6(const asio::ip::address& a) {
  return a.is_v6() ? a.to_v6() : asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

} // namespace

std::vector<std::uint8_t> proxy_header_v1(const asio::ip::tcp::endpoint& client,
                                          const asio::ip::tcp::endpoint& frontend) {
  const bool v4 = client.address().is_v4() && frontend.address().is_v4();
  // No scope id ("fe80::1%eth0"): the protocol carries addresses as inet_ntop writes
  // them, and readers such as HAProxy reject the '%'.
  auto text = [&](const asio::ip::address& a) {
    return v4 ? a.to_string() : asio::ip::address_v6(as_v6(a).to_bytes()).to_string();
  };
  const std::string line = std::string("PROXY ") + (v4 ? "TCP4 " : "TCP6 ") +
                           text(client.address()) + " " + text(frontend.address()) + " " +
                           std::to_string(client.port()) + " " + std::to_string(frontend.port()) +
                           "\r\n";
  return {line.begin(), line.end()};
}

std::vector<std::uint8_t> proxy_header_v2(const asio::ip::tcp::endpoint& client,
                                          const asio::ip::tcp::endpoint& frontend) {
  static constexpr std::uint8_t signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  std::vector<std::uint8_t> out(std::begin(signature), std::end(signature));
  out.push_back(0x21); // version 2, PROXY command
  const bool v4 = client.address().is_v4() && frontend.address().is_v4();
  if (v4) {
    out.push_back(0x11); // AF_INET, STREAM
    put16(out, 12);
    for (const auto& a : {client.address(), frontend.address()}) {
      const auto bytes = a.to_v4().to_bytes();
      out.insert(out.end(), bytes.begin(), bytes.end());
    }
  } else {
    out.push_back(0x21); // AF_INET6, STREAM
    put16(out, 36);
    for (const auto& a : {client.address(), frontend.address()}) {
      const auto bytes = as_v6(a).to_bytes();
      out.insert(out.end(), bytes.begin(), bytes.end());
    }
  }
  put16(out, client.port());
  put16(out, frontend.port());
  return out;
}

} // namespace portpool::proxy
