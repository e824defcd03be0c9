#pragma once
// Choosing the socket table source: netlink first, /proc as the fallback.

#include "netlink_reader.hpp"
#include "socket_sink.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace portpool::watch {

/// Where the socket table comes from. `automatic` tries netlink and falls back to /proc.
enum class socket_source : std::uint8_t { automatic, netlink, proc };

/// "auto", "netlink", "proc".
std::string_view to_string(socket_source source) noexcept;
/// Parses "auto", "netlink" or "proc"; nullopt otherwise.
std::optional<socket_source> parse_socket_source(std::string_view text) noexcept;

/// What one reading of the table used.
struct socket_scan {
  socket_source used = socket_source::netlink;   ///< netlink or proc, never automatic
  netlink_dump dump = netlink_dump::single_walk; ///< the netlink request that worked
  std::string fallback_reason; ///< why netlink was abandoned (automatic only), else empty
};

/// Reads the calling thread's namespace's TCP socket table from `source` into `sink`
/// (after a discard() when netlink failed half-way and /proc takes over). Throws
/// socket_table_error when the forced source fails, or when both fail (automatic).
/// `only` narrows the netlink dump to local ports in that span (a filter in the kernel);
/// /proc cannot filter, so its sink gets every socket.
socket_scan scan_sockets(socket_source source, socket_sink& sink,
                         std::optional<local_port_span> only = std::nullopt);

} // namespace portpool::watch
