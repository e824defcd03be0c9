#pragma once
// The four output formats. Each writer prints one round; with --interval the program
// calls it once per round (table redraws, the others append).

#include "watch_round.hpp"

#include <cstddef>
#include <optional>
#include <ostream>
#include <string_view>

namespace portpool::watch {

enum class output_format : std::uint8_t { table, nagios, prometheus, json };

/// "table", "nagios", "prometheus", "json".
std::string_view to_string(output_format format) noexcept;
/// Parses a format name; nullopt when it is none of them.
std::optional<output_format> parse_output_format(std::string_view text) noexcept;

/// A summary line (range, capacity, groups, worst group), the `top` fullest groups with a
/// usage bar (0: all), the warnings, and the explicit binds inside the watched ports.
void write_table(std::ostream& out, const watch_round& round, std::size_t top);

/// One Nagios plugin status line with perfdata, then one line per further warning
/// (plugin long output). The exit code is nagios_exit_code(round).
void write_nagios(std::ostream& out, const watch_round& round);
/// 0 OK, 1 WARNING, 2 CRITICAL (3 UNKNOWN is for failures, decided by the caller).
int nagios_exit_code(const watch_round& round) noexcept;

/// Prometheus text exposition for node_exporter's textfile collector: per-group series
/// for the `top` fullest groups (0: all) and totals; warnings as `#` comments.
void write_prometheus(std::ostream& out, const watch_round& round, std::size_t top);

/// One JSON document on one line: range, settings, the `top` fullest groups (0: all),
/// warnings and binds.
void write_json(std::ostream& out, const watch_round& round, std::size_t top);

} // namespace portpool::watch
