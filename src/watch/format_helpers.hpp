#pragma once
// Small pieces the output formats share, so they describe a round in the same words.

#include "watch_round.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace portpool::watch::detail {

/// How many groups to print for --top (0: all).
inline std::size_t shown_groups(const watch_round& round, std::size_t top) {
  const auto n = round.report.groups.size();
  return top == 0 ? n : std::min(top, n);
}

/// One group's warning: its level and the seed's wording.
struct warning {
  usage_level level;
  std::string text;
};

/// Every warning of the round (all groups at WARNING or CRITICAL, fullest first),
/// whatever --top says: an alarm is never hidden by a display limit.
inline std::vector<warning> warnings(const watch_round& round) {
  std::vector<warning> out;
  for (const auto& g : round.report.groups)
    if (g.level != usage_level::ok) out.push_back({g.level, warning_message(g)});
  return out;
}

/// "ephemeral range 40000-40199" or "ports 20000-29999" (--ports).
inline std::string watched_text(const watch_round& round) {
  if (round.custom_ports) return "ports " + round.watched.to_string();
  return "ephemeral range " + std::to_string(round.range.low) + "-" +
         std::to_string(round.range.high);
}

/// "ESTAB=150 TIME_WAIT=20", non-zero states only.
inline std::string states_text(const port_group& g) {
  std::string out;
  for (std::size_t i = 0; i < g.states.size(); ++i) {
    if (g.states[i] == 0) continue;
    if (!out.empty()) out += ' ';
    out += to_string(static_cast<tcp_state>(i));
    out += '=';
    out += std::to_string(g.states[i]);
  }
  return out;
}

/// "1 group" / "2 groups".
inline std::string count_text(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

} // namespace portpool::watch::detail
