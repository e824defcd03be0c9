#include "format_helpers.hpp"
#include "output_format.hpp"

#include <cstdio>
#include <string>

namespace portpool::watch {
namespace {

std::string percent_text(double percent) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%.1f%%", percent);
  return buffer;
}

// [##########----------] with 20 cells; a partly used cell is not drawn full.
std::string usage_bar(double percent) {
  constexpr int cells = 20;
  const int full = std::clamp(static_cast<int>(percent / 100.0 * cells), 0, cells);
  return "[" + std::string(static_cast<std::size_t>(full), '#') +
         std::string(static_cast<std::size_t>(cells - full), '-') + "]";
}

std::string pad(std::string text, std::size_t width, bool right = false) {
  if (text.size() >= width) return text;
  const std::string fill(width - text.size(), ' ');
  return right ? fill + text : text + fill;
}

std::string ports_list(const std::vector<std::uint16_t>& ports) {
  port_set set;
  for (auto p : ports)
    set.insert(p, p);
  return set.to_string();
}

} // namespace

void write_table(std::ostream& out, const watch_round& round, std::size_t top) {
  const auto& report = round.report;
  out << "portpool-watch: " << detail::watched_text(round) << " (" << round.watched.size()
      << " ports, " << round.reserved_watched << " reserved), capacity " << round.capacity
      << " per group; " << detail::count_text(report.groups.size(), "group") << ", "
      << report.sockets_counted << " sockets counted of " << report.sockets_seen << " read ("
      << to_string(round.source_used) << ")";
  if (report.groups.empty()) {
    out << "; OK\n";
  } else {
    const auto& worst = report.groups.front();
    out << "; worst " << worst.key.local_ip.to_string() << " -> " << peer_text(worst.key) << " "
        << worst.used << "/" << worst.capacity << " (" << percent_text(worst.percent()) << ") "
        << to_string(report.worst) << "\n";
  }

  const auto shown = detail::shown_groups(round, top);
  if (shown > 0) {
    std::size_t local_width = 8, peer_width = 4;
    for (std::size_t i = 0; i < shown; ++i) {
      local_width = std::max(local_width, report.groups[i].key.local_ip.to_string().size());
      peer_width = std::max(peer_width, peer_text(report.groups[i].key).size());
    }
    out << pad("LEVEL", 9) << pad("LOCAL IP", local_width + 2) << pad("PEER", peer_width + 2)
        << pad("USED", 7, true) << pad("CAP", 7, true) << pad("PCT", 8, true) << "  "
        << pad("USAGE", 23) << "STATES\n";
    for (std::size_t i = 0; i < shown; ++i) {
      const auto& g = report.groups[i];
      out << pad(std::string(to_string(g.level)), 9)
          << pad(g.key.local_ip.to_string(), local_width + 2)
          << pad(peer_text(g.key), peer_width + 2) << pad(std::to_string(g.used), 7, true)
          << pad(std::to_string(g.capacity), 7, true) << pad(percent_text(g.percent()), 8, true)
          << "  " << pad(usage_bar(g.percent()), 23) << detail::states_text(g) << "\n";
    }
    if (shown < report.groups.size())
      out << "... " << detail::count_text(report.groups.size() - shown, "more group")
          << " (--top 0 shows all)\n";
  }
  for (const auto& w : detail::warnings(round))
    out << to_string(w.level) << ": " << w.text << "\n";
  for (const auto& b : report.binds) {
    out << "explicit binds in watched ports: " << b.local_ip.to_string() << " listens on "
        << detail::count_text(b.listening.size(), "port") << " (" << ports_list(b.listening)
        << "); connect() skips them for every destination\n";
  }
}

} // namespace portpool::watch
