#include "format_helpers.hpp"
#include "output_format.hpp"

#include <cstdio>

namespace portpool::watch {

int nagios_exit_code(const watch_round& round) noexcept {
  switch (round.report.worst) {
  case usage_level::ok: return 0;
  case usage_level::warning: return 1;
  case usage_level::critical: return 2;
  }
  return 3;
}

void write_nagios(std::ostream& out, const watch_round& round) {
  const auto& report = round.report;
  const auto warnings = detail::warnings(round);
  out << "PORTPOOL-WATCH " << to_string(report.worst) << " - ";
  if (!warnings.empty()) {
    out << warnings.front().text;
    if (warnings.size() > 1)
      out << " (and " << detail::count_text(warnings.size() - 1, "more group") << ")";
  } else if (report.groups.empty()) {
    out << "no connections in " << detail::watched_text(round);
  } else {
    const auto& worst = report.groups.front();
    out << detail::count_text(report.groups.size(), "group") << ", fullest "
        << worst.key.local_ip.to_string() << " to " << peer_text(worst.key) << " with "
        << worst.used << " of " << worst.capacity << " ephemeral ports ("
        << static_cast<unsigned>(worst.percent()) << "%)";
  }

  // Perfdata: label=value[UOM];warn;crit;min;max, thresholds as the plugin applies them.
  const auto limits = usage_limits::for_capacity(round.capacity, round.thresholds);
  const auto worst_used = report.groups.empty() ? 0 : report.groups.front().used;
  const auto worst_percent = report.groups.empty() ? 0.0 : report.groups.front().percent();
  char percent[32];
  std::snprintf(percent, sizeof percent, "%.2f", worst_percent);
  out << " | worst_percent=" << percent << "%;" << round.thresholds.warn_percent << ";"
      << round.thresholds.crit_percent << ";0;100"
      << " worst_used=" << worst_used << ";" << limits.warn_enter << ";" << limits.crit_enter
      << ";0;" << round.capacity << " capacity=" << round.capacity
      << " groups=" << report.groups.size() << " sockets=" << report.sockets_counted << "\n";
  // Plugin long output: the other warnings, one a line.
  for (std::size_t i = 1; i < warnings.size(); ++i)
    out << to_string(warnings[i].level) << ": " << warnings[i].text << "\n";
}

} // namespace portpool::watch
