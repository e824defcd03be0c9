#pragma once
// Durations on the command line: "500ms", "5s", "2m", "1h".

#include <chrono>
#include <string_view>

namespace portpool::watch {

/// Parses a whole number followed by a unit (ms, s, m, h), between 1 ms and 24 h.
/// Throws portpool::bad_input naming the text: `bad duration "5x": ...`.
std::chrono::milliseconds parse_duration(std::string_view text);

} // namespace portpool::watch
