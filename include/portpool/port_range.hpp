#pragma once
/// Port sets ("1024-65000,!8080,!9000-9100") and the kernel's ephemeral range.

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portpool {

/// A set of TCP ports (1-65535). A value type of 8 KiB; thread-compatible.
class port_set {
public:
  port_set() = default;
  /// The ports low..high inclusive; throws bad_input when low is 0 or high < low.
  static port_set range(std::uint16_t low, std::uint16_t high);

  /// Parses comma-separated ports and ranges; a leading '!' excludes, after every
  /// inclusion: "1024-65000,!8080,!9000-9100". Throws bad_input naming the token:
  /// `bad port range "70000-80000": port above 65535`. An empty result is an error.
  static port_set parse(std::string_view text);
  /// As parse(), but returns nullopt and sets `error` instead of throwing.
  static std::optional<port_set> try_parse(std::string_view text, std::string& error);
  /// Parses the kernel's list syntax ("8080,9000-9100", may be empty) as in
  /// /proc/sys/net/ipv4/ip_local_reserved_ports. Throws bad_input.
  static port_set parse_kernel_list(std::string_view text);

  bool contains(std::uint16_t port) const noexcept { return bits_.test(port); }
  std::size_t size() const noexcept { return bits_.count(); }
  bool empty() const noexcept { return bits_.none(); }

  port_set& insert(std::uint16_t low, std::uint16_t high) noexcept;
  port_set& erase(std::uint16_t low, std::uint16_t high) noexcept;
  /// Ports in both sets.
  friend port_set operator&(const port_set& a, const port_set& b) noexcept;
  /// Ports in a but not in b.
  friend port_set operator-(const port_set& a, const port_set& b) noexcept;
  friend bool operator==(const port_set&, const port_set&) = default;

  /// The ports in ascending order.
  std::vector<std::uint16_t> to_vector() const;
  /// Compact text ("1024-8079,8081-65000"); round-trips through parse().
  std::string to_string() const;

private:
  std::bitset<65536> bits_;
};

/// The kernel's ephemeral range, net.ipv4.ip_local_port_range (inclusive).
struct ephemeral_range {
  std::uint16_t low = 32768;
  std::uint16_t high = 60999;

  std::size_t size() const noexcept { return std::size_t{high} - low + 1; }
  port_set ports() const { return port_set::range(low, high); }
};

/// Reads the calling thread's network namespace's ephemeral range.
/// Throws std::runtime_error naming the file when it cannot be read or parsed.
ephemeral_range
read_ephemeral_range(const std::string& path = "/proc/sys/net/ipv4/ip_local_port_range");

/// Reads net.ipv4.ip_local_reserved_ports (ports the kernel never hands out ephemerally).
/// Throws std::runtime_error naming the file when it cannot be read or parsed.
port_set
read_reserved_ports(const std::string& path = "/proc/sys/net/ipv4/ip_local_reserved_ports");

/// The ports of `pool` that the kernel's own connect() could also pick: inside the
/// ephemeral range and not reserved. Binding them explicitly makes the kernel skip them
/// for every other process (on any address), shrinking everyone's ephemeral range, so a
/// non-empty result deserves a warning. Pure; thread-safe.
port_set ephemeral_overlap(const port_set& pool, const ephemeral_range& range,
                           const port_set& reserved);

} // namespace portpool
