#pragma once
// What the user sees: the live progress line, the final summary and the --json report.

#include "options.hpp"
#include "run_stats.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace portpool::load {

/// One worker's final figures and facts.
struct worker_result {
  unsigned index = 0;
  run_stats stats;
  boost::json::object info; ///< from the worker: partition, ports per source...
  bool finished = false;    ///< sent its final line
  int exit_status = 0;      ///< waitpid status text is in run_report::problems
};

/// The whole run, as the parent saw it.
struct run_report {
  run_mode mode = run_mode::hold;
  unsigned workers = 1;
  run_stats total; ///< sum of the workers' final figures
  std::vector<worker_result> per_worker;
  std::uint64_t peak_established = 0; ///< most connected at once across workers (sampled)
  double ramp_seconds = 0;            ///< hold: start until every worker ramped
  double hold_seconds = 0;            ///< hold: every worker ramped until stop
  double elapsed_seconds = 0;         ///< the whole run
  std::vector<std::string> problems;  ///< worker errors, crashes, timeouts

  /// Successful connections (serve: accepts) per second over the ramp (hold) or run.
  double conn_per_s() const;
  /// 0 when everything succeeded, 1 otherwise (failures, drops, mismatches, problems).
  int exit_code() const;
};

/// "[  3.0s] open 1200 est 1150 new 400/s failed 50 (EADDRNOTAVAIL 50) connect p50 45us
/// p99 320us"; `interval_ok` successes in the last `interval_s` seconds.
std::string progress_line(run_mode mode, double elapsed_s, const run_stats& now,
                          std::uint64_t interval_ok, double interval_s);

/// The multi-line final summary.
std::string summary(const run_report& r);

/// The --json report: mode, attempted, ok, failed, errors, connect_us percentiles,
/// conn_per_s, echo_mismatch, and more (see docs/load.md).
boost::json::object report_json(const run_report& r);

/// "EADDRNOTAVAIL 200, ECONNREFUSED 3" (empty tally: "none").
std::string format_tally(const error_tally& t);

} // namespace portpool::load
