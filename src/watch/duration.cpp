#include "duration.hpp"

#include "portpool/detail/text.hpp"
#include "portpool/error.hpp"

#include <string>

namespace portpool::watch {

std::chrono::milliseconds parse_duration(std::string_view text) {
  const auto fail = [&](const char* why) {
    throw bad_input("bad duration \"" + std::string(text) + "\": " + why);
  };
  const auto digits_end = text.find_first_not_of("0123456789");
  if (digits_end == 0 || text.empty()) fail("expected a number and a unit, e.g. 500ms, 5s, 2m");
  if (digits_end == std::string_view::npos) fail("no unit: write 500ms, 5s, 2m or 1h");
  const auto number = detail::parse_unsigned(text.substr(0, digits_end));
  const auto unit = text.substr(digits_end);
  std::uint64_t per_unit = 0;
  if (unit == "ms")
    per_unit = 1;
  else if (unit == "s")
    per_unit = 1000;
  else if (unit == "m")
    per_unit = 60'000;
  else if (unit == "h")
    per_unit = 3'600'000;
  else
    fail("unknown unit: use ms, s, m or h");
  constexpr std::uint64_t max_ms = 24ull * 3'600'000;
  if (!number || *number > max_ms / per_unit) fail("longer than 24h");
  if (*number == 0) fail("must be at least 1ms");
  return std::chrono::milliseconds(*number * per_unit);
}

} // namespace portpool::watch
