#pragma once
// A copy of the proxy's figures taken at one moment, and its two renderings: Prometheus
// text for /metrics and JSON for /stats.

#include "runtime.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace portpool::proxy {

/// One source address toward one backend.
struct source_figures {
  std::string source;
  std::uint64_t used = 0, capacity = 0, high_water = 0, conflicts = 0, quarantined = 0;
  bool up = true;          ///< health checks reach backends from it
  bool in_rotation = true; ///< the allocator hands out its slots (false while down)
  usage_level level = usage_level::ok;
};

/// One backend: pool usage (or, in kernel mode, upstream connections against the
/// kernel's range) and traffic counters.
struct destination_figures {
  std::string destination;
  bool up = true;
  unsigned weight = 1;
  std::uint64_t used = 0, capacity = 0, high_water = 0, exhausted = 0, conflicts = 0;
  std::uint64_t active = 0, connections = 0, bytes_to_backend = 0, bytes_to_client = 0;
  usage_level level = usage_level::ok; ///< of used against capacity, with hysteresis
  std::array<std::uint64_t, failure_reason_count> failures{};
  std::vector<source_figures> sources;
};

struct proxy_figures {
  std::string mode;
  std::vector<destination_figures> destinations;
  std::uint64_t clients_active = 0, clients_total = 0, clients_failed = 0;
  std::uint64_t idle_timeouts = 0, accept_errors = 0, maxconn_waits = 0, maxconn = 0;
  std::uint64_t bytes_spliced = 0; ///< of all bytes relayed, those moved by splice(2)
  std::uint64_t open_fds = 0;
  bool draining = false;
  usage_thresholds thresholds; ///< --warn, --crit and the hysteresis the levels use
};

/// Reads every counter and the allocator's snapshot. Safe while traffic flows.
proxy_figures collect_figures(const shared_state& shared);

/// Prometheus text exposition format (version 0.0.4).
std::string render_prometheus(const proxy_figures& f);

/// {"destinations":[{"destination":..,"used":..,"capacity":..,"high_water":..,
/// "exhausted":..,"conflicts":..,"sources":[{"source":..,"used":..,"capacity":..}]}],
/// "connections":{"active":..,"total":..,"failed":..}, ...}
std::string render_json(const proxy_figures& f);

/// Open file descriptors of this process (entries of /proc/self/fd).
std::uint64_t count_open_fds();

} // namespace portpool::proxy
