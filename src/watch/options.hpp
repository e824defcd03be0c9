#pragma once
// portpool-watch's command line.

#include "output_format.hpp"
#include "watch_round.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace portpool::watch {

/// Everything the command line sets, with the defaults of `portpool-watch` alone.
struct watch_options {
  output_format format = output_format::table;
  round_settings round;                              ///< --ports, --source, --warn, --crit
  std::size_t top = 10;                              ///< --top; 0: every group
  std::optional<std::chrono::milliseconds> interval; ///< --interval; nullopt: one round
  std::optional<std::uint64_t> count; ///< --count: rounds with --interval; nullopt: forever
  bool verbose = false;
};

/// The outcome of parsing: options to run with, or a text to print and an exit code.
struct command_line {
  std::optional<watch_options> options; ///< set when the program should run
  std::string text;                     ///< --help text (stdout) or a one-line error (stderr)
  int exit_code = 0;                    ///< 0 for --help; 3 (nagios) or 2 for bad flags
};

/// Parses argv. Bad flags give one line naming the option and the value, e.g.
/// `portpool-watch: bad --warn "abc": not a number`, and exit code 3 when nagios output
/// was asked for (UNKNOWN), 2 otherwise. Never throws for bad input.
command_line parse_command_line(int argc, const char* const argv[]);

} // namespace portpool::watch
