#include "portpool/address.hpp"

#include "portpool/detail/text.hpp"
#include "portpool/error.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <set>

namespace portpool {
namespace {

__extension__ using u128 = unsigned __int128;

u128 to_integer(const ip_address& a) {
  u128 value = 0;
  const std::size_t n = a.is_v4() ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i)
    value = (value << 8) | a.bytes()[i];
  return value;
}

ip_address from_integer(u128 value, bool v6) {
  if (!v6) return ip_address::v4(static_cast<std::uint32_t>(value));
  std::array<std::uint8_t, 16> bytes{};
  for (int i = 15; i >= 0; --i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
  return ip_address::v6(bytes);
}

[[noreturn]] void fail(std::string_view token, std::string_view why) {
  throw bad_input("bad address pool \"" + std::string(token) + "\": " + std::string(why));
}

ip_address parse_one(std::string_view token, std::string_view part) {
  auto a = ip_address::parse(part);
  if (!a) fail(token, "\"" + std::string(part) + "\" is not an IPv4 or IPv6 address");
  return *a;
}

void append_range(std::vector<ip_address>& out, std::string_view token, u128 first, u128 last,
                  bool v6) {
  const u128 count = last - first + 1;
  if (count > address_pool::max_addresses || out.size() + count > address_pool::max_addresses)
    fail(token,
         "more than " + std::to_string(address_pool::max_addresses) + " addresses in one pool");
  for (u128 v = first;; ++v) {
    out.push_back(from_integer(v, v6));
    if (v == last) break;
  }
}

void parse_token(std::vector<ip_address>& out, std::string_view token) {
  if (auto slash = token.find('/'); slash != std::string_view::npos) {
    const auto base = parse_one(token, detail::trim(token.substr(0, slash)));
    const auto bits_text = detail::trim(token.substr(slash + 1));
    const unsigned width = base.is_v4() ? 32 : 128;
    unsigned prefix = 0;
    auto [ptr, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), prefix);
    if (ec != std::errc{} || ptr != bits_text.data() + bits_text.size() || bits_text.empty() ||
        prefix > width)
      fail(token, "prefix length must be 0-" + std::to_string(width));
    const unsigned host_bits = width - prefix;
    if (host_bits >= 17)
      fail(token,
           "more than " + std::to_string(address_pool::max_addresses) + " addresses in one pool");
    const u128 mask = (u128{1} << host_bits) - 1;
    const u128 value = to_integer(base);
    if ((value & mask) != 0)
      fail(token, "host bits set; the block starts at " +
                      from_integer(value & ~mask, base.is_v6()).to_string());
    append_range(out, token, value, value | mask, base.is_v6());
    return;
  }
  if (auto dash = token.find('-'); dash != std::string_view::npos) {
    const auto first = parse_one(token, detail::trim(token.substr(0, dash)));
    const auto last = parse_one(token, detail::trim(token.substr(dash + 1)));
    if (first.is_v4() != last.is_v4()) fail(token, "range mixes IPv4 and IPv6");
    const u128 a = to_integer(first), b = to_integer(last);
    if (b < a) fail(token, "range end before start");
    append_range(out, token, a, b, first.is_v6());
    return;
  }
  out.push_back(parse_one(token, token));
  if (out.size() > address_pool::max_addresses)
    fail(token,
         "more than " + std::to_string(address_pool::max_addresses) + " addresses in one pool");
}

} // namespace

ip_address ip_address::v4(std::uint32_t host_order) noexcept {
  ip_address a;
  a.bytes_[0] = static_cast<std::uint8_t>(host_order >> 24);
  a.bytes_[1] = static_cast<std::uint8_t>(host_order >> 16);
  a.bytes_[2] = static_cast<std::uint8_t>(host_order >> 8);
  a.bytes_[3] = static_cast<std::uint8_t>(host_order);
  return a;
}

ip_address ip_address::v6(const std::array<std::uint8_t, 16>& bytes) noexcept {
  ip_address a;
  a.bytes_ = bytes;
  a.v6_ = true;
  return a;
}

std::optional<ip_address> ip_address::parse(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  std::array<std::uint8_t, 16> bytes{};
  if (inet_pton(AF_INET, s.c_str(), bytes.data()) == 1) {
    ip_address a;
    std::copy_n(bytes.begin(), 4, a.bytes_.begin());
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), bytes.data()) == 1) return v6(bytes);
  return std::nullopt;
}

std::uint32_t ip_address::v4_host_order() const noexcept {
  return std::uint32_t{bytes_[0]} << 24 | std::uint32_t{bytes_[1]} << 16 |
         std::uint32_t{bytes_[2]} << 8 | std::uint32_t{bytes_[3]};
}

std::string ip_address::to_string() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6_ ? AF_INET6 : AF_INET, bytes_.data(), buffer, sizeof buffer);
  return buffer;
}

endpoint endpoint::parse(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return bad_input("bad endpoint \"" + std::string(text) + "\": " + std::string(why));
  };
  std::string_view host, port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw bad("expected [IPv6]:PORT");
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw bad("expected ADDRESS:PORT");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) throw bad("write IPv6 as [ADDRESS]:PORT");
  }
  const auto address = ip_address::parse(host);
  if (!address) throw bad("\"" + std::string(host) + "\" is not an IPv4 or IPv6 address");
  const auto port = detail::parse_port(port_text);
  if (!port) throw bad("port must be 1-65535");
  return {*address, *port};
}

std::string endpoint::to_string() const {
  const auto host = address.to_string();
  return (address.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::size_t endpoint_hash::operator()(const endpoint& e) const noexcept {
  std::size_t h = e.port * 0x9e3779b97f4a7c15ull + (e.address.is_v6() ? 1 : 0);
  for (auto b : e.address.bytes())
    h = (h ^ b) * 0x100000001b3ull;
  return h;
}

address_pool::address_pool(std::vector<ip_address> addresses) : addresses_(std::move(addresses)) {
  std::set<ip_address> seen;
  for (const auto& a : addresses_)
    if (!seen.insert(a).second) fail(a.to_string(), "duplicate address");
}

address_pool address_pool::parse(std::string_view text) {
  std::vector<ip_address> out;
  if (detail::trim(text).empty()) fail(text, "empty; give addresses like 127.0.0.2-127.0.0.9");
  for (auto token : detail::split(text, ',')) {
    token = detail::trim(token);
    if (token.empty()) fail(text, "empty item in list");
    parse_token(out, token);
  }
  return address_pool(std::move(out));
}

std::optional<address_pool> address_pool::try_parse(std::string_view text, std::string& error) {
  try {
    return parse(text);
  } catch (const bad_input& e) {
    error = e.what();
    return std::nullopt;
  }
}

std::string address_pool::to_string() const {
  std::string out;
  for (std::size_t i = 0; i < addresses_.size();) {
    std::size_t j = i;
    while (j + 1 < addresses_.size() && addresses_[j + 1].is_v6() == addresses_[i].is_v6() &&
           to_integer(addresses_[j + 1]) == to_integer(addresses_[j]) + 1)
      ++j;
    if (!out.empty()) out += ',';
    out += addresses_[i].to_string();
    if (j > i) out += "-" + addresses_[j].to_string();
    i = j + 1;
  }
  return out;
}

} // namespace portpool
