#pragma once
// The parent process: forks --workers worker processes, reads their JSON lines, prints the
// live progress line, coordinates hold mode (stop every worker --duration after the last
// one ramped), and sums the final figures. Bounded: a watchdog stops and then kills
// workers that outlive the plan.

#include "options.hpp"
#include "report.hpp"

#include <ostream>

namespace portpool::load {

/// Runs the whole plan; progress lines go to `out`. Call it before any thread exists (it
/// forks). SIGINT/SIGTERM to the parent stop the workers early; their figures still count.
run_report supervise(const load_options& options, std::ostream& out);

} // namespace portpool::load
