#pragma once
// One row of the kernel's TCP socket table, as both readers (netlink sock_diag and
// /proc/net/tcp) report it.

#include "portpool/address.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace portpool::watch {

/// TCP states with the kernel's numbering (include/net/tcp_states.h), so both readers can
/// cast the number they read. bound_inactive is the kernel's pseudo-state (Linux 6.8+) for
/// sockets that bound a port but neither connected nor listened.
enum class tcp_state : std::uint8_t {
  established = 1,
  syn_sent,
  syn_recv,
  fin_wait1,
  fin_wait2,
  time_wait,
  close,
  close_wait,
  last_ack,
  listen,
  closing,
  new_syn_recv,
  bound_inactive,
};

/// One past the highest state number, to size per-state counters.
inline constexpr std::size_t tcp_state_slots = 14;

/// "ESTAB", "TIME_WAIT", "LISTEN"... (ss's names with underscores, as the JSON keys use).
std::string_view to_string(tcp_state state) noexcept;

/// The state for a kernel state number, or nullopt for a number the kernel does not use.
std::optional<tcp_state> tcp_state_from_number(unsigned number) noexcept;

/// A TCP socket: its local and peer endpoints and its state. Ports in host order.
/// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, dual-stack sockets) are stored as IPv4,
/// because they draw from the same 4-tuple space as plain IPv4 sockets.
struct tcp_socket {
  ip_address local;
  ip_address peer;
  std::uint16_t local_port = 0;
  std::uint16_t peer_port = 0;
  tcp_state state = tcp_state::close;

  friend auto operator<=>(const tcp_socket&, const tcp_socket&) = default;
};

/// An address from 16 network-order bytes, turning ::ffff:a.b.c.d into a.b.c.d.
ip_address address_from_v6_bytes(const std::array<std::uint8_t, 16>& bytes) noexcept;

} // namespace portpool::watch
