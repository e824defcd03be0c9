#pragma once
// The proxy as a whole: start-up, worker threads, admin, health checks, and the drain
// on SIGTERM/SIGINT.

#include "config.hpp"

namespace portpool::proxy {

/// Runs the proxy until SIGTERM/SIGINT and the drain that follows; returns the exit
/// status (0 after a drain). Throws bad_input when the options cannot work together
/// (exit 2) and std::runtime_error when a listener cannot be opened (exit 1); nothing
/// is served in either case.
int run_proxy(proxy_config config);

} // namespace portpool::proxy
