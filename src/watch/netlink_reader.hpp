#pragma once
// The TCP socket table through netlink NETLINK_SOCK_DIAG, as ss reads it: binary
// records, no text to format or parse, so it stays fast at 100,000 sockets.

#include "socket_sink.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace portpool::watch {

/// How to ask the kernel for the table.
enum class netlink_dump : std::uint8_t {
  /// One TCPDIAG_GETSOCK request (struct inet_diag_req, which the kernel runs as family
  /// AF_UNSPEC): the kernel walks its socket hash once for both families. Measured at
  /// 100,000 TIME_WAIT sockets: about half the kernel time of per_family (docs/watch.md).
  single_walk,
  /// Two SOCK_DIAG_BY_FAMILY requests (struct inet_diag_req_v2), AF_INET then AF_INET6,
  /// as ss does: each walks the whole hash and keeps one family.
  per_family,
  /// single_walk, or per_family if the kernel refuses the former.
  automatic,
};

/// Local ports low..high inclusive. Given to the reader, it becomes an inet_diag bytecode
/// filter: the kernel still walks every socket but formats and copies only those inside,
/// which saves most of the dump's cost for sockets the caller would drop anyway (the
/// server sides of inbound connections, whose local port is the service port).
struct local_port_span {
  std::uint16_t low = 1;
  std::uint16_t high = 65535;
};

/// "single_walk", "per_family", "auto".
std::string_view to_string(netlink_dump how) noexcept;

/// Every TCP socket (IPv4 and IPv6, every state including LISTEN) of the calling
/// thread's network namespace, in the order the kernel dumps them; with `only`, just
/// those whose local port is in that span. Sockets that only
/// called bind() (the TCP_BOUND_INACTIVE pseudo-state of Linux 6.8+) are not asked for:
/// that makes the kernel walk its whole bind hash too, +50% time at 100,000 sockets.
/// Delivers each to `sink` as it is decoded; returns the request that worked (never automatic).
/// Thread-safe (one netlink socket per call). Throws socket_table_error naming the step that failed
/// (no sock_diag module, EPERM...).
netlink_dump read_tcp_sockets_netlink(socket_sink& sink, netlink_dump how = netlink_dump::automatic,
                                      std::optional<local_port_span> only = std::nullopt);

} // namespace portpool::watch
