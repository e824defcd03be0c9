#include "format_helpers.hpp"
#include "output_format.hpp"

#include <cstdio>

namespace portpool::watch {
namespace {

// Label values escape backslash, double quote and newline (exposition format).
std::string label_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string group_labels(const group_key& k) {
  return "{local_ip=\"" + label_value(k.local_ip.to_string()) + "\",peer_ip=\"" +
         label_value(k.peer_ip.to_string()) + "\",peer_port=\"" + std::to_string(k.peer_port) +
         "\"}";
}

std::string ratio(double percent) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", percent / 100.0);
  return buffer;
}

void header(std::ostream& out, const char* name, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n";
}

} // namespace

void write_prometheus(std::ostream& out, const watch_round& round, std::size_t top) {
  const auto& report = round.report;
  const auto shown = detail::shown_groups(round, top);
  for (const auto& w : detail::warnings(round))
    out << "# " << to_string(w.level) << ": " << w.text << "\n";

  header(out, "portpool_watch_group_used_ports",
         "Local ports held by one (local ip, peer ip, peer port) group, every state but "
         "LISTEN (fullest groups only, see --top).");
  for (std::size_t i = 0; i < shown; ++i)
    out << "portpool_watch_group_used_ports" << group_labels(report.groups[i].key) << ' '
        << report.groups[i].used << "\n";
  header(out, "portpool_watch_group_usage_ratio", "Used ports of the group / capacity.");
  for (std::size_t i = 0; i < shown; ++i)
    out << "portpool_watch_group_usage_ratio" << group_labels(report.groups[i].key) << ' '
        << ratio(report.groups[i].percent()) << "\n";
  header(out, "portpool_watch_group_level", "0 OK, 1 WARNING, 2 CRITICAL.");
  for (std::size_t i = 0; i < shown; ++i)
    out << "portpool_watch_group_level" << group_labels(report.groups[i].key) << ' '
        << static_cast<int>(report.groups[i].level) << "\n";

  header(out, "portpool_watch_capacity_ports",
         "Ports one group may use: watched ports minus ip_local_reserved_ports.");
  out << "portpool_watch_capacity_ports " << round.capacity << "\n";
  header(out, "portpool_watch_range_low", "Lowest port of ip_local_port_range.");
  out << "portpool_watch_range_low " << round.range.low << "\n";
  header(out, "portpool_watch_range_high", "Highest port of ip_local_port_range.");
  out << "portpool_watch_range_high " << round.range.high << "\n";
  header(out, "portpool_watch_reserved_ports", "Watched ports in ip_local_reserved_ports.");
  out << "portpool_watch_reserved_ports " << round.reserved_watched << "\n";
  header(out, "portpool_watch_groups", "Groups holding at least one watched port.");
  out << "portpool_watch_groups " << report.groups.size() << "\n";
  header(out, "portpool_watch_groups_by_level", "Groups at each level.");
  std::array<std::size_t, 3> by_level{};
  for (const auto& g : report.groups)
    ++by_level[static_cast<std::size_t>(g.level)];
  for (auto level : {usage_level::ok, usage_level::warning, usage_level::critical})
    out << "portpool_watch_groups_by_level{level=\"" << to_string(level) << "\"} "
        << by_level[static_cast<std::size_t>(level)] << "\n";
  header(out, "portpool_watch_worst_usage_ratio", "Usage ratio of the fullest group.");
  out << "portpool_watch_worst_usage_ratio "
      << ratio(report.groups.empty() ? 0.0 : report.groups.front().percent()) << "\n";
  header(out, "portpool_watch_sockets_counted", "Sockets holding a watched local port.");
  out << "portpool_watch_sockets_counted " << report.sockets_counted << "\n";
  header(out, "portpool_watch_sockets_read",
         "Rows of the TCP socket table read (netlink: only those whose local port lies "
         "between the lowest and highest watched port).");
  out << "portpool_watch_sockets_read " << report.sockets_seen << "\n";
  header(out, "portpool_watch_listening_ports",
         "Watched ports held by listeners (connect() skips them for every destination).");
  for (const auto& b : report.binds)
    out << "portpool_watch_listening_ports{local_ip=\"" << label_value(b.local_ip.to_string())
        << "\"} " << b.listening.size() << "\n";
}

} // namespace portpool::watch
