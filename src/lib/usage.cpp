#include "portpool/usage.hpp"

#include "portpool/error.hpp"

#include <cmath>

namespace portpool {
namespace {

// The smallest count whose share of capacity reaches `percent`; capacity + 1 (never
// reached) when percent is above 100.
std::uint64_t count_for(double percent, std::uint64_t capacity) noexcept {
  if (percent <= 0) return 0;
  if (percent > 100) return capacity + 1;
  return static_cast<std::uint64_t>(
      std::ceil(percent * static_cast<double>(capacity) / 100.0 - 1e-9));
}

} // namespace

std::string_view to_string(usage_level level) noexcept {
  switch (level) {
  case usage_level::ok: return "OK";
  case usage_level::warning: return "WARNING";
  case usage_level::critical: return "CRITICAL";
  }
  return "UNKNOWN";
}

void validate(const usage_thresholds& t) {
  const auto bad = [](const std::string& what) {
    throw bad_input("bad usage thresholds: " + what);
  };
  if (!(t.warn_percent > 0)) bad("warn " + std::to_string(t.warn_percent) + "% must be above 0");
  if (!(t.crit_percent >= t.warn_percent))
    bad("crit " + std::to_string(t.crit_percent) + "% is below warn " +
        std::to_string(t.warn_percent) + "%");
  if (!(t.hysteresis_percent >= 0) || t.hysteresis_percent >= t.warn_percent)
    bad("hysteresis " + std::to_string(t.hysteresis_percent) +
        "% must be 0 or more and below warn");
}

usage_limits usage_limits::for_capacity(std::uint64_t capacity,
                                        const usage_thresholds& t) noexcept {
  usage_limits l;
  l.warn_enter = count_for(t.warn_percent, capacity);
  l.warn_leave = count_for(t.warn_percent - t.hysteresis_percent, capacity);
  l.crit_enter = count_for(t.crit_percent, capacity);
  l.crit_leave = count_for(t.crit_percent - t.hysteresis_percent, capacity);
  return l;
}

usage_level usage_limits::next(usage_level current, std::uint64_t used) const noexcept {
  const usage_level reached = used >= crit_enter   ? usage_level::critical
                              : used >= warn_enter ? usage_level::warning
                                                   : usage_level::ok;
  if (reached > current) return reached;
  usage_level level = current;
  if (level == usage_level::critical && used < crit_leave) level = usage_level::warning;
  if (level == usage_level::warning && used < warn_leave) level = usage_level::ok;
  return level;
}

double group_usage::percent() const noexcept {
  return capacity == 0 ? 0.0 : 100.0 * static_cast<double>(in_use) / static_cast<double>(capacity);
}

std::string usage_alert::message() const {
  const auto from = source ? source->to_string() : std::string("all sources");
  const auto pct = capacity == 0 ? 0
                                 : static_cast<unsigned>(100.0 * static_cast<double>(used) /
                                                         static_cast<double>(capacity));
  return "connections from " + from + " to " + destination.to_string() +
         (is_recovery() ? " are back to " : " have used ") + std::to_string(used) + " of " +
         std::to_string(capacity) + " ports (" + std::to_string(pct) + "%)";
}

} // namespace portpool
