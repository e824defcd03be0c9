#pragma once
/// Usage figures per destination and per (source ip, destination), thresholds with
/// hysteresis, and the alert transitions they produce. No logging: callers decide.

#include "portpool/address.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portpool {

/// How full a group is, relative to its thresholds.
enum class usage_level : std::uint8_t { ok, warning, critical };

/// "OK", "WARNING", "CRITICAL".
std::string_view to_string(usage_level level) noexcept;

/// Percent thresholds. A level is entered when usage reaches its threshold and left
/// only when usage falls `hysteresis_percent` below it, so a group hovering at the line
/// does not flap. A threshold above 100 never fires.
struct usage_thresholds {
  double warn_percent = 80;
  double crit_percent = 95;
  double hysteresis_percent = 5;
};

/// Throws bad_input when the thresholds make no sense (negative, warn above crit).
void validate(const usage_thresholds& t);

/// The same thresholds as slot counts for one capacity, so the hot path compares integers.
struct usage_limits {
  std::uint64_t warn_enter = 0, warn_leave = 0; // warning when used >= enter; ok when < leave
  std::uint64_t crit_enter = 0, crit_leave = 0;

  static usage_limits for_capacity(std::uint64_t capacity, const usage_thresholds& t) noexcept;
  /// The level after a change of `used`, given the level before.
  usage_level next(usage_level current, std::uint64_t used) const noexcept;
};

/// Figures of one group: a destination as a whole, or one source address toward it.
struct group_usage {
  /// Slots leased now; may exceed capacity while leases of a source taken out of
  /// rotation are still open.
  std::uint64_t in_use = 0;
  std::uint64_t capacity = 0;     ///< usable: enabled sources x ports; a source: ports
  std::uint64_t high_water = 0;   ///< most slots leased at once
  std::uint64_t acquisitions = 0; ///< successful acquires
  std::uint64_t exhaustions = 0;  ///< acquires refused because no slot was free
  std::uint64_t conflicts = 0;    ///< slots reported in use elsewhere (bind/connect failures)
  std::uint64_t quarantined = 0;  ///< slots skipped now after a conflict
  usage_level level = usage_level::ok;

  /// in_use as a percentage of capacity (0 when capacity is 0).
  double percent() const noexcept;
};

struct source_usage {
  ip_address source;
  group_usage usage;
  bool enabled = true; ///< false while source_allocator::set_source_enabled took it out
};

struct destination_usage {
  endpoint destination;
  group_usage usage;
  std::vector<source_usage> sources;
};

/// A copy of every destination's figures, taken destination by destination.
struct usage_snapshot {
  std::vector<destination_usage> destinations;
};

/// A change of level of one group, delivered to allocator_options::on_alert.
struct usage_alert {
  endpoint destination;
  std::optional<ip_address> source; ///< nullopt: the destination as a whole
  usage_level previous = usage_level::ok;
  usage_level current = usage_level::ok;
  std::uint64_t used = 0;
  std::uint64_t capacity = 0;

  bool is_recovery() const noexcept { return current < previous; }
  /// "connections from 127.0.0.2 to 127.0.0.1:8080 have used 23000 of 28232 ports (81%)";
  /// "from all sources" for a destination as a whole.
  std::string message() const;
};

} // namespace portpool
