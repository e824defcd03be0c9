#pragma once
// The figures one worker process keeps while it runs, shipped to the parent as JSON lines
// and summed there. One struct for every mode; each mode fills the fields it has.

#include "latency_histogram.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace portpool::load {

/// Failures by reason name (see error_names.hpp), sorted by name.
using error_tally = std::map<std::string, std::uint64_t>;

/// Sum of every count in a tally.
std::uint64_t total(const error_tally& tally) noexcept;

/// Counters of one worker (or, after merge(), of all). Thread-compatible.
struct run_stats {
  // Connections (hold, churn) or accepted sockets (serve: ok = accepted, failed = accept
  // errors). Invariants once a run ends: ok + failed == attempted, total(errors) == failed.
  std::uint64_t attempted = 0;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  error_tally errors;
  std::uint64_t slot_conflicts = 0; ///< pool slots found taken elsewhere and skipped

  // Gauges: sockets open now (connecting or connected), connected now, most connected.
  std::uint64_t open = 0;
  std::uint64_t established = 0;
  std::uint64_t peak_established = 0;

  // hold: connections still intact when told to stop, and those lost before (by reason);
  // held + dropped == ok. serve: sessions ended by an error other than a clean close.
  std::uint64_t held = 0;
  std::uint64_t dropped = 0;
  error_tally drop_errors;

  // Echo traffic: round trips completed, round trips whose bytes differed, byte counts.
  std::uint64_t echoes = 0;
  std::uint64_t echo_mismatch = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;

  latency_histogram connect_latency; ///< successful connects only
  latency_histogram echo_latency;    ///< write of the payload to the last byte of its echo

  std::uint64_t rss_kb = 0; ///< resident memory of the process(es) when last sampled

  /// One more connected socket (updates the peak).
  void connected() noexcept {
    ++established;
    if (established > peak_established) peak_established = established;
  }
  /// Adds every counter and gauge of `other` (peaks add up to an upper bound).
  void merge(const run_stats& other);

  /// Everything, histograms included, for the pipe to the parent.
  boost::json::object to_json() const;
  /// Inverse of to_json(); throws std::exception on a malformed object.
  static run_stats from_json(const boost::json::object& o);
};

/// Resident set size of the calling process in KiB, from /proc/self/statm (0 if unknown).
std::uint64_t current_rss_kb() noexcept;

} // namespace portpool::load
