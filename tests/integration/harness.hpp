#pragma once
// Real-socket helpers for the integration tests: listeners that hold what they accept,
// and a bounded way to run a coroutine to completion.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <exception>
#include <list>
#include <memory>
#include <stdexcept>
#include <vector>

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

/// Echoes every byte on every accepted connection until the peer closes or
/// close_accepted() closes them from this side.
class echo_listener {
public:
  echo_listener(asio::io_context& io, const tcp::endpoint& at) : acceptor_(io, at) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  void stop() {
    boost::system::error_code ignored; // closing twice is harmless
    acceptor_.close(ignored);
  }
  /// Closes the backend side of every live connection (the client sees EOF).
  void close_accepted() {
    for (auto& s : live_) {
      boost::system::error_code ignored; // some may be closed already
      s->close(ignored);
    }
    live_.clear();
  }
  std::size_t accepted() const { return accepted_; }

private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return; // operation_aborted on stop()
      ++accepted_;
      auto shared = std::make_shared<tcp::socket>(std::move(socket));
      live_.push_back(shared);
      asio::co_spawn(acceptor_.get_executor(), echo(shared), asio::detached);
    }
  }
  static asio::awaitable<void> echo(std::shared_ptr<tcp::socket> s) {
    std::array<char, 4096> buffer;
    for (;;) {
      auto [rec, n] =
          co_await s->async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
      if (rec) co_return; // EOF, reset or closed by close_accepted()
      auto [wec, m] = co_await asio::async_write(*s, asio::buffer(buffer, n),
                                                 asio::as_tuple(asio::use_awaitable));
      if (wec) co_return;
    }
  }

  tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<tcp::socket>> live_;
  std::size_t accepted_ = 0;
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
