#pragma once
// What a mode (hold, churn, serve) gets inside one worker process: its options and place
// among the workers, the stop event, the figures it keeps, and a way to tell the parent.

#include "options.hpp"
#include "run_stats.hpp"
#include "stop_event.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <string_view>

namespace portpool::load {

/// One per worker process; lives as long as its io_context. Single-threaded.
struct worker_context {
  const load_options& options;
  unsigned index = 0; ///< this worker, 0..count-1
  unsigned count = 1; ///< workers in the run
  stop_event& stop;   ///< fired by the parent, a signal, or the mode's own deadline
  run_stats stats;    ///< this worker's figures, shipped with every message
  /// Facts fixed at start (partition, ports, capacity), shipped with the final message.
  boost::json::object info;
  /// Sends {"type": type, "stats": ...} to the parent now (blocking; small).
  std::function<void(std::string_view type)> tell_parent;
};

} // namespace portpool::load
