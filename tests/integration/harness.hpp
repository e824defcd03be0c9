#pragma once
// Real-socket helpers for the integration tests: listeners that hold what they accept,
// and a bounded way to run a coroutine to completion.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <list>
#include <stdexcept>

namespace portpool::testing {
namespace asio = boost::asio;
using asio::ip::tcp;

/// Accepts and keeps every connection until stop().
class holding_listener {
public:
  holding_listener(asio::io_context& io, const tcp::endpoint& at) : acceptor_(io, at) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  void stop() {
    boost::system::error_code ignored; // closing twice is harmless
    acceptor_.close(ignored);
  }
  /// Closes every accepted connection (our FIN follows the peer's: the peer's side of
  /// the 4-tuple moves on to TIME_WAIT).
  void close_accepted() { accepted_.clear(); }
  std::size_t accepted() const { return accepted_.size(); }

private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return; // operation_aborted on stop()
      accepted_.push_back(std::move(socket));
    }
  }

  tcp::acceptor acceptor_;
  std::list<tcp::socket> accepted_;
};

/// Runs `body` on `io` until it returns (at most `limit`), rethrowing its exception.
template <class Body>
void run(asio::io_context& io, Body body, std::chrono::seconds limit = std::chrono::seconds(60)) {
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(100));
  if (failure) std::rethrow_exception(failure);
  if (!done) throw std::runtime_error("test body did not finish in time");
}

} // namespace portpool::testing
