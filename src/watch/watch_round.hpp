#pragma once
// One observation: read the kernel's range and reserved ports, read the socket table,
// group it. Everything the output formats print comes from here.

#include "port_groups.hpp"
#include "socket_scan.hpp"

#include "portpool/port_range.hpp"
#include "portpool/usage.hpp"

#include <chrono>
#include <optional>

namespace portpool::watch {

/// What a round needs to know.
struct round_settings {
  std::optional<port_set> ports; ///< --ports; nullopt: the kernel's ephemeral range
  socket_source source = socket_source::automatic;
  usage_thresholds thresholds;
};

/// The result of one round.
struct watch_round {
  ephemeral_range range;              ///< the kernel's ephemeral range now
  bool custom_ports = false;          ///< --ports given: `watched` is that set
  port_set watched;                   ///< local ports counted
  std::uint64_t reserved_watched = 0; ///< watched ports in ip_local_reserved_ports
  std::uint64_t capacity = 0;         ///< per group
  usage_thresholds thresholds;
  socket_source source_used = socket_source::netlink;
  netlink_dump dump = netlink_dump::single_walk; ///< with netlink: the request used
  std::string fallback_reason;                   ///< why netlink was abandoned, if it was
  std::chrono::microseconds scan_time{};         ///< reading and grouping the table
  watch_report report;
};

/// Capacity of a group: without --ports, the ephemeral range minus the reserved ports
/// (connect() never picks those). With --ports, the set minus the reserved ports in it.
/// Throws std::runtime_error (range or reserved file) or socket_table_error.
watch_round take_round(const round_settings& settings, level_memory* memory = nullptr);

} // namespace portpool::watch
