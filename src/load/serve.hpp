#pragma once
// Serve mode: an echo backend. Every worker listens on every --listen endpoint with
// SO_REUSEPORT, so the kernel spreads connections over the workers.

#include "worker_context.hpp"

#include <boost/asio/awaitable.hpp>

#include <stdexcept>

namespace portpool::load {

/// Thrown when a listener cannot be set up; what() names the endpoint and the errno name,
/// e.g. "cannot listen on 127.0.0.1:8080: EADDRINUSE".
class listen_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Echoes every byte on every accepted connection until --duration passes or ctx.stop
/// fires, then closes the listeners and every session. Sends "ready" once listening.
/// Stats: attempted/ok/failed count accepts, established the open sessions, dropped the
/// sessions ended by an error (not a clean close), bytes both ways.
boost::asio::awaitable<void> run_serve(worker_context& ctx);

} // namespace portpool::load
