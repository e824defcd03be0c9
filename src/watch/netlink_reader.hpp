#pragma once
// The TCP socket table through netlink NETLINK_SOCK_DIAG (SOCK_DIAG_BY_FAMILY), as ss
// reads it: binary records, no text to format or parse, so it stays fast at 100,000
// sockets.

#include "tcp_socket.hpp"

#include <vector>

namespace portpool::watch {

/// Every TCP socket (IPv4 and IPv6, every state including LISTEN and, on Linux 6.8+,
/// bound-but-inactive sockets) of the calling thread's network namespace, in the order
/// the kernel dumps them. Appends to `out`. Thread-safe (one netlink socket per call).
/// Throws socket_table_error naming the step that failed (no sock_diag module, EPERM...).
void read_tcp_sockets_netlink(std::vector<tcp_socket> &out);

} // namespace portpool::watch
