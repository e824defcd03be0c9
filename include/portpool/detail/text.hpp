#pragma once
// Small text helpers shared by the library's parsers. Not part of the public API.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace portpool::detail {

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

inline std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = s.find(separator);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

/// A whole unsigned decimal number, or nullopt (empty, sign, junk, overflow).
inline std::optional<std::uint64_t> parse_unsigned(std::string_view s) {
  std::uint64_t value = 0;
  if (s.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

/// A port 1-65535, or nullopt.
inline std::optional<std::uint16_t> parse_port(std::string_view s) {
  const auto v = parse_unsigned(s);
  if (!v || *v == 0 || *v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(*v);
}

} // namespace portpool::detail
