#pragma once
// Open-file limits: raise the soft limit to the hard one, and refuse, before anything
// starts, a plan that needs more descriptors per worker than a process may have.

#include "options.hpp"

#include <cstdint>

namespace portpool::load {

/// Descriptors a worker keeps for itself besides its sockets (stdio, pipes, epoll, timers).
inline constexpr std::uint64_t worker_overhead_fds = 64;

/// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the soft limit now in force.
std::uint64_t raise_open_file_limit();

/// Sockets the busiest worker holds at once: hold, its share of --connections; churn, its
/// share of --concurrency; serve, 0 (it cannot know how many will come).
std::uint64_t sockets_per_worker(const load_options& o);

/// Throws usage_error when sockets_per_worker + overhead exceeds `limit`, naming the need
/// and the --workers that would fit, e.g. "hold needs 50064 descriptors per worker ... use
/// --workers 3 or more".
void check_descriptor_plan(const load_options& o, std::uint64_t limit);

} // namespace portpool::load
