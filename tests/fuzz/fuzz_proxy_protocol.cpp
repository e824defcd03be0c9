// libFuzzer: the PROXY protocol writer round-trips. The input chooses two endpoints
// (family, address bytes, IPv6 scope id, port); the v1 and v2 headers written for them
// are read back by a strict reader written from HAProxy's spec (proxy-protocol.txt) and
// must give the same addresses and ports.
#include "proxy_protocol.hpp"

#include <boost/asio/ip/address.hpp>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {
namespace asio = boost::asio;
using asio::ip::tcp;

struct byte_reader {
  const std::uint8_t* data;
  std::size_t size;
  std::uint8_t next() {
    if (size == 0) return 0;
    --size;
    return *data++;
  }
};

tcp::endpoint endpoint_from(byte_reader& in) {
  const auto kind = in.next();
  const auto port = static_cast<std::uint16_t>(in.next() << 8 | in.next());
  if (kind % 2 == 0) {
    asio::ip::address_v4::bytes_type b;
    for (auto& x : b)
      x = in.next();
    return {asio::ip::address_v4(b), port};
  }
  asio::ip::address_v6::bytes_type b;
  for (auto& x : b)
    x = in.next();
  // A scope id when the input asks for one (kind 3, 7...): link-local clients have one,
  // and the v1 writer must drop it (tests/reliability/test_proxy_header_scope.cpp).
  const unsigned long scope = kind % 4 == 3 ? in.next() : 0;
  return {asio::ip::address_v6(b, scope), port};
}

// The address a header must carry: IPv4 stays IPv4 only when both ends are IPv4; otherwise
// IPv4 is shown IPv4-mapped. Scope ids have no place in the protocol.
asio::ip::address expected(const asio::ip::address& a, bool both_v4) {
  if (both_v4) return a;
  const auto v6 = a.is_v6() ? a.to_v6() : asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
  return asio::ip::address_v6(v6.to_bytes());
}

struct parsed {
  asio::ip::address source, destination;
  std::uint16_t source_port = 0, destination_port = 0;
};

std::optional<std::uint16_t> port_text(std::string_view s) {
  unsigned v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  // The spec: no leading zeros, 0-65535.
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v > 65535 ||
      (s.size() > 1 && s[0] == '0'))
    return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

std::optional<parsed> read_v1(const std::vector<std::uint8_t>& h) {
  const std::string_view line(reinterpret_cast<const char*>(h.data()), h.size());
  if (line.size() > 107 || !line.ends_with("\r\n") || !line.starts_with("PROXY ")) return {};
  std::vector<std::string_view> words;
  std::string_view rest = line.substr(6, line.size() - 8);
  while (!rest.empty()) {
    const auto space = rest.find(' ');
    words.push_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  if (words.size() != 5 || (words[0] != "TCP4" && words[0] != "TCP6")) return {};
  parsed p;
  boost::system::error_code ec;
  for (auto* a : {&words[1], &words[2]})
    if (a->find_first_not_of("0123456789abcdefABCDEF.:") != std::string_view::npos) return {};
  p.source = asio::ip::make_address(std::string(words[1]), ec);
  if (ec) return {};
  p.destination = asio::ip::make_address(std::string(words[2]), ec);
  if (ec) return {};
  if ((words[0] == "TCP4") != (p.source.is_v4() && p.destination.is_v4())) return {};
  const auto sp = port_text(words[3]), dp = port_text(words[4]);
  if (!sp || !dp) return {};
  p.source_port = *sp;
  p.destination_port = *dp;
  return p;
}

std::optional<parsed> read_v2(const std::vector<std::uint8_t>& h) {
  static constexpr std::uint8_t signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  if (h.size() < 16 || !std::equal(std::begin(signature), std::end(signature), h.begin()))
    return {};
  if (h[12] != 0x21) return {}; // version 2, PROXY
  const std::size_t length = static_cast<std::size_t>(h[14] << 8 | h[15]);
  if (h.size() != 16 + length) return {};
  const auto* body = h.data() + 16;
  parsed p;
  auto u16 = [](const std::uint8_t* at) { return static_cast<std::uint16_t>(at[0] << 8 | at[1]); };
  if (h[13] == 0x11 && length == 12) {
    asio::ip::address_v4::bytes_type s, d;
    std::copy(body, body + 4, s.begin());
    std::copy(body + 4, body + 8, d.begin());
    p.source = asio::ip::address_v4(s);
    p.destination = asio::ip::address_v4(d);
    p.source_port = u16(body + 8);
    p.destination_port = u16(body + 10);
    return p;
  }
  if (h[13] == 0x21 && length == 36) {
    asio::ip::address_v6::bytes_type s, d;
    std::copy(body, body + 16, s.begin());
    std::copy(body + 16, body + 32, d.begin());
    p.source = asio::ip::address_v6(s);
    p.destination = asio::ip::address_v6(d);
    p.source_port = u16(body + 32);
    p.destination_port = u16(body + 34);
    return p;
  }
  return {};
}

void check(const char* version, const std::optional<parsed>& got, const tcp::endpoint& client,
           const tcp::endpoint& frontend, const std::vector<std::uint8_t>& header) {
  const bool both_v4 = client.address().is_v4() && frontend.address().is_v4();
  if (got && got->source == expected(client.address(), both_v4) &&
      got->destination == expected(frontend.address(), both_v4) &&
      got->source_port == client.port() && got->destination_port == frontend.port())
    return;
  std::fprintf(stderr, "%s header does not read back for %s:%u -> %s:%u: [", version,
               client.address().to_string().c_str(), client.port(),
               frontend.address().to_string().c_str(), frontend.port());
  for (const auto b : header)
    std::fprintf(stderr, b >= 32 && b < 127 ? "%c" : "\\x%02x", b);
  std::fprintf(stderr, "]\n");
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  byte_reader in{data, size};
  const auto client = endpoint_from(in);
  const auto frontend = endpoint_from(in);
  const auto v1 = portpool::proxy::proxy_header_v1(client, frontend);
  check("v1", read_v1(v1), client, frontend, v1);
  const auto v2 = portpool::proxy::proxy_header_v2(client, frontend);
  check("v2", read_v2(v2), client, frontend, v2);
  return 0;
}
