#pragma once
// The child side of a worker process: runs one mode on its own io_context and reports to
// the parent over a pipe, one JSON object per line.
//
// Messages to the parent: {"type":"progress"|"ramped"|"ready"|"final","worker":k,
// "stats":{...},"info":{...}} and {"type":"error","worker":k,"message":"..."}.
// From the parent: any byte ("stop\n") or end of file means stop now.

#include "options.hpp"

namespace portpool::load {

/// Runs worker `index` of `count` in this freshly forked process until its mode finishes,
/// sending a progress line every --progress and a final line. SIGINT/SIGTERM stop it as
/// the parent's "stop" does. Returns the exit code: 0 after "final", 1 after "error".
int run_worker(const load_options& options, unsigned index, unsigned count, int to_parent,
               int from_parent);

} // namespace portpool::load
