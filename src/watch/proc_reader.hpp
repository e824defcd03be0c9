#pragma once
// The TCP socket table through /proc/net/tcp and /proc/net/tcp6: the fallback when
// netlink sock_diag is unavailable (module missing, seccomp, old container runtimes).

#include "socket_sink.hpp"

#include <string>
#include <string_view>

namespace portpool::watch {

/// Parses the text of /proc/net/tcp or /proc/net/tcp6 (header line first) and delivers
/// one tcp_socket per row to `sink`. The kernel prints each address as the 32-bit words of the
/// network-order address in host byte order (%08X), and ports in host order.
/// Throws socket_table_error naming the line and the bad field.
void parse_proc_net_tcp(std::string_view text, socket_sink& sink);

/// Every TCP socket listed in `<dir>/tcp` and `<dir>/tcp6` (the latter may be absent
/// when IPv6 is off). /proc lists no bound-but-inactive sockets. Thread-safe.
/// Throws socket_table_error naming the file.
void read_tcp_sockets_proc(socket_sink& sink, const std::string& dir = "/proc/net");

} // namespace portpool::watch
