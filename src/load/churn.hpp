#pragma once
// Churn mode: for --duration, connect, send --payload, read the echo, close; this
// worker's share of --concurrency cycles in flight, paced at its share of --rate if given.

#include "worker_context.hpp"

#include <boost/asio/awaitable.hpp>

namespace portpool::load {

/// Runs churn mode in this worker until --duration passes or ctx.stop fires; cycles in
/// flight then finish (each bounded by the connect and echo timeouts). Fills ctx.stats:
/// one attempt per cycle, ok when the echo came back intact, failed by reason otherwise.
boost::asio::awaitable<void> run_churn(worker_context& ctx);

} // namespace portpool::load
