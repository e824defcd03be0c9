#include "socket_scan.hpp"

#include "netlink_reader.hpp"
#include "proc_reader.hpp"
#include "socket_table_error.hpp"

namespace portpool::watch {

std::string_view to_string(socket_source source) noexcept {
  switch (source) {
  case socket_source::automatic: return "auto";
  case socket_source::netlink: return "netlink";
  case socket_source::proc: return "proc";
  }
  return "unknown";
}

std::optional<socket_source> parse_socket_source(std::string_view text) noexcept {
  if (text == "auto") return socket_source::automatic;
  if (text == "netlink") return socket_source::netlink;
  if (text == "proc") return socket_source::proc;
  return std::nullopt;
}

socket_scan scan_sockets(socket_source source, socket_sink& sink,
                         std::optional<local_port_span> only) {
  socket_scan scan;
  if (source != socket_source::proc) {
    try {
      scan.dump = read_tcp_sockets_netlink(sink, netlink_dump::automatic, only);
      scan.used = socket_source::netlink;
      return scan;
    } catch (const socket_table_error& e) {
      if (source == socket_source::netlink) throw;
      scan.fallback_reason = e.what();
      sink.discard(); // a dump that failed half-way must not be counted twice
    }
  }
  try {
    read_tcp_sockets_proc(sink);
  } catch (const socket_table_error& e) {
    if (scan.fallback_reason.empty()) throw;
    throw socket_table_error(scan.fallback_reason + "; fallback " + e.what());
  }
  scan.used = socket_source::proc;
  return scan;
}

} // namespace portpool::watch
