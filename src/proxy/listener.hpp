#pragma once
// Accepting clients: one acceptor per (worker, listen address) with SO_REUSEPORT so the
// kernel spreads connections over the workers without a shared lock.

#include "runtime.hpp"

#include <boost/asio/awaitable.hpp>

namespace portpool::proxy {

/// Opens, binds (SO_REUSEADDR, SO_REUSEPORT) and listens on `at` with the worker's
/// io_context. Throws std::runtime_error naming the address and the kernel's reason.
boost::asio::ip::tcp::acceptor open_acceptor(worker& w, const endpoint& at);

/// Accepts until the acceptor is closed, starting a session per client. Pauses while
/// --maxconn clients are active (they wait in the listen backlog), and backs off on
/// accept errors such as EMFILE instead of spinning.
boost::asio::awaitable<void> accept_loop(worker& w, boost::asio::ip::tcp::acceptor& acceptor);

/// On drain: accepts every client already waiting in the listen backlog (its handshake
/// is done, so closing the listener would reset it), starts their sessions, then closes
/// the acceptor. Runs on the worker's thread.
void accept_backlog_and_close(worker& w, boost::asio::ip::tcp::acceptor& acceptor);

} // namespace portpool::proxy
