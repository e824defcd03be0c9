#include "portpool/port_range.hpp"

#include "portpool/detail/text.hpp"
#include "portpool/error.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace portpool {
namespace {

[[noreturn]] void fail(std::string_view token, std::string_view why) {
  throw bad_input("bad port range \"" + std::string(token) + "\": " + std::string(why));
}

std::uint16_t parse_bound(std::string_view token, std::string_view text) {
  text = detail::trim(text);
  const auto value = detail::parse_unsigned(text);
  if (!value) fail(token, "\"" + std::string(text) + "\" is not a port number");
  if (*value > 65535) fail(token, "port above 65535");
  if (*value == 0) fail(token, "port 0 is not a usable port");
  return static_cast<std::uint16_t>(*value);
}

std::pair<std::uint16_t, std::uint16_t> parse_item(std::string_view token, std::string_view body) {
  const auto dash = body.find('-');
  if (dash == std::string_view::npos) {
    const auto p = parse_bound(token, body);
    return {p, p};
  }
  const auto low = parse_bound(token, body.substr(0, dash));
  const auto high = parse_bound(token, body.substr(dash + 1));
  if (high < low) fail(token, "range end before start");
  return {low, high};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

} // namespace

port_set port_set::range(std::uint16_t low, std::uint16_t high) {
  if (low == 0) fail("0", "port 0 is not a usable port");
  if (high < low) fail(std::to_string(low) + "-" + std::to_string(high), "range end before start");
  port_set s;
  s.insert(low, high);
  return s;
}

port_set port_set::parse(std::string_view text) {
  if (detail::trim(text).empty()) fail(text, "empty; give ports like 20000-29999");
  port_set included, excluded;
  bool any_inclusion = false;
  for (auto token : detail::split(text, ',')) {
    token = detail::trim(token);
    if (token.empty()) fail(text, "empty item in list");
    const bool exclude = token.front() == '!';
    const auto [low, high] = parse_item(token, exclude ? token.substr(1) : token);
    if (exclude) {
      excluded.insert(low, high);
    } else {
      included.insert(low, high);
      any_inclusion = true;
    }
  }
  if (!any_inclusion) fail(text, "only exclusions; name the ports to use, e.g. 20000-29999,!25000");
  auto result = included - excluded;
  if (result.empty()) fail(text, "the exclusions leave no port");
  return result;
}

std::optional<port_set> port_set::try_parse(std::string_view text, std::string& error) {
  try {
    return parse(text);
  } catch (const bad_input& e) {
    error = e.what();
    return std::nullopt;
  }
}

port_set port_set::parse_kernel_list(std::string_view text) {
  port_set s;
  text = detail::trim(text);
  if (text.empty()) return s;
  for (auto token : detail::split(text, ',')) {
    token = detail::trim(token);
    if (token.empty()) fail(text, "empty item in list");
    const auto [low, high] = parse_item(token, token);
    s.insert(low, high);
  }
  return s;
}

port_set& port_set::insert(std::uint16_t low, std::uint16_t high) noexcept {
  for (std::uint32_t p = low; p <= high; ++p)
    bits_.set(p);
  return *this;
}

port_set& port_set::erase(std::uint16_t low, std::uint16_t high) noexcept {
  for (std::uint32_t p = low; p <= high; ++p)
    bits_.reset(p);
  return *this;
}

port_set operator&(const port_set& a, const port_set& b) noexcept {
  port_set r;
  r.bits_ = a.bits_ & b.bits_;
  return r;
}

port_set operator-(const port_set& a, const port_set& b) noexcept {
  port_set r;
  r.bits_ = a.bits_ & ~b.bits_;
  return r;
}

std::vector<std::uint16_t> port_set::to_vector() const {
  std::vector<std::uint16_t> ports;
  ports.reserve(size());
  for (std::uint32_t p = 1; p <= 65535; ++p)
    if (bits_.test(p)) ports.push_back(static_cast<std::uint16_t>(p));
  return ports;
}

std::string port_set::to_string() const {
  std::string out;
  for (std::uint32_t p = 1; p <= 65535;) {
    if (!bits_.test(p)) {
      ++p;
      continue;
    }
    std::uint32_t q = p;
    while (q + 1 <= 65535 && bits_.test(q + 1))
      ++q;
    if (!out.empty()) out += ',';
    out += std::to_string(p);
    if (q > p) out += "-" + std::to_string(q);
    p = q + 1;
  }
  return out;
}

ephemeral_range read_ephemeral_range(const std::string& path) {
  std::istringstream in(read_file(path));
  unsigned long low = 0, high = 0;
  if (!(in >> low >> high) || low == 0 || high > 65535 || high < low)
    throw std::runtime_error("cannot parse " + path + ": expected two ports, low and high");
  return {static_cast<std::uint16_t>(low), static_cast<std::uint16_t>(high)};
}

port_set read_reserved_ports(const std::string& path) {
  const auto content = read_file(path);
  try {
    return port_set::parse_kernel_list(content);
  } catch (const bad_input& e) {
    throw std::runtime_error("cannot parse " + path + ": " + e.what());
  }
}

port_set ephemeral_overlap(const port_set& pool, const ephemeral_range& range,
                           const port_set& reserved) {
  return (pool & range.ports()) - reserved;
}

} // namespace portpool
