#pragma once
// Hold mode: open this worker's share of --connections at its share of --rate, tell the
// parent when the ramp is over, keep them (echoing every --ping-interval) until told to
// stop, then close them all.

#include "worker_context.hpp"

#include <boost/asio/awaitable.hpp>

namespace portpool::load {

/// Runs hold mode in this worker until ctx.stop fires after the ramp (the parent fires it
/// --duration after every worker ramped). Sends "ramped" to the parent when every connect
/// attempt has finished. Fills ctx.stats; held + dropped == ok at the end.
boost::asio::awaitable<void> run_hold(worker_context& ctx);

} // namespace portpool::load
