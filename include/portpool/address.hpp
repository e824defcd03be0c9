#pragma once
/// IP addresses, endpoints and pools of source addresses, without Asio.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portpool {

/// An IPv4 or IPv6 address, stored in network byte order. A value type; thread-compatible.
class ip_address {
public:
  /// 0.0.0.0
  ip_address() = default;

  /// From a host-order IPv4 address, e.g. 0x7f000001 for 127.0.0.1.
  static ip_address v4(std::uint32_t host_order) noexcept;
  /// From 16 network-order bytes.
  static ip_address v6(const std::array<std::uint8_t, 16>& bytes) noexcept;
  /// Parses one address ("127.0.0.2", "::1"); nullopt when it is not one.
  static std::optional<ip_address> parse(std::string_view text);

  bool is_v4() const noexcept { return !v6_; }
  bool is_v6() const noexcept { return v6_; }
  /// The IPv4 address in host order; meaningful only when is_v4().
  std::uint32_t v4_host_order() const noexcept;
  /// The bytes in network order: 4 used for IPv4, 16 for IPv6.
  const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }

  /// "127.0.0.2" or "fd00::1".
  std::string to_string() const;

  friend auto operator<=>(const ip_address&, const ip_address&) = default;

private:
  std::array<std::uint8_t, 16> bytes_{};
  bool v6_ = false;
};

/// A TCP endpoint: address and port (host order).
struct endpoint {
  ip_address address;
  std::uint16_t port = 0;

  /// Parses "127.0.0.1:8080" or "[::1]:8080"; throws bad_input naming the value.
  static endpoint parse(std::string_view text);
  /// "127.0.0.1:8080" or "[::1]:8080".
  std::string to_string() const;

  friend auto operator<=>(const endpoint&, const endpoint&) = default;
};

/// Hash for unordered containers keyed by endpoint.
struct endpoint_hash {
  std::size_t operator()(const endpoint& e) const noexcept;
};

/// An ordered set of distinct source addresses, e.g. parsed from
/// "127.0.0.2-127.0.0.9", "127.0.0.0/29", "10.0.0.1,10.0.0.7" or "fd00::1-fd00::8".
/// Immutable after construction; safe to share between threads.
class address_pool {
public:
  /// The most addresses one pool may hold (a /8 is a typo, not a plan).
  static constexpr std::size_t max_addresses = 65536;

  address_pool() = default;
  explicit address_pool(std::vector<ip_address> addresses);

  /// Parses a comma-separated list of addresses, ranges "a-b" and CIDR blocks "a/n".
  /// Throws bad_input naming the bad token and why, e.g.
  /// `bad address pool "127.0.0.9-127.0.0.2": range end before start`.
  static address_pool parse(std::string_view text);
  /// As parse(), but returns nullopt and sets `error` instead of throwing.
  static std::optional<address_pool> try_parse(std::string_view text, std::string& error);

  std::size_t size() const noexcept { return addresses_.size(); }
  bool empty() const noexcept { return addresses_.empty(); }
  const ip_address& operator[](std::size_t i) const noexcept { return addresses_[i]; }
  auto begin() const noexcept { return addresses_.begin(); }
  auto end() const noexcept { return addresses_.end(); }

  /// A compact text form ("127.0.0.2-127.0.0.9"), round-trips through parse().
  std::string to_string() const;

private:
  std::vector<ip_address> addresses_;
};

} // namespace portpool
