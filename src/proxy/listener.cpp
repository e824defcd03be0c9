#include "listener.hpp"

#include "session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <sys/socket.h>

namespace portpool::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

tcp::acceptor open_acceptor(worker& w, const endpoint& at) {
  const auto address = to_asio(at);
  tcp::acceptor acceptor(w.io);
  boost::system::error_code ec;
  acceptor.open(address.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) {
    using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    acceptor.set_option(reuse_port(true), ec);
  }
  // Accepted sockets inherit TCP_NODELAY from the listener: one setsockopt per client
  // saved.
  if (!ec) acceptor.set_option(tcp::no_delay(true), ec);
  if (!ec) acceptor.bind(address, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + at.to_string() + ": " + ec.message());
  return acceptor;
}

asio::awaitable<void> accept_loop(worker& w, tcp::acceptor& acceptor) {
  auto& shared = w.shared;
  auto& counters = shared.counters;
  asio::steady_timer pause(w.io);
  auto backoff = 10ms;
  bool at_maxconn = false;
  while (acceptor.is_open()) {
    if (load(counters.clients_active) >= shared.maxconn) {
      // Leave new clients in the kernel's backlog, as HAProxy does at maxconn.
      if (!at_maxconn) bump(counters.maxconn_waits);
      at_maxconn = true;
      pause.expires_after(10ms);
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    at_maxconn = false;
    auto [ec, socket] = co_await acceptor.async_accept(w.io, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      bump(counters.accept_errors);
      std::uint64_t suppressed = 0;
      if (shared.accept_error_log.allow(suppressed))
        spdlog::error("accept failed: {}; pausing {}ms before accepting again (raise the "
                      "open-file limit or lower --maxconn){}",
                      ec.message(), backoff.count(),
                      suppressed ? " (" + std::to_string(suppressed) + " more)" : std::string());
      pause.expires_after(backoff);
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      continue;
    }
    backoff = 10ms;
    bump(counters.clients_active);
    bump(counters.clients_total);
    start_session(w, std::move(socket));
  }
}

void accept_backlog_and_close(worker& w, tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  acceptor.non_blocking(true, ec);
  while (!ec && acceptor.is_open()) {
    tcp::socket socket(w.io);
    acceptor.accept(socket, ec); // would_block once the backlog is empty
    if (ec) break;
    bump(w.shared.counters.clients_active);
    bump(w.shared.counters.clients_total);
    start_session(w, std::move(socket));
  }
  acceptor.close(ec); // closing twice is harmless
}

} // namespace portpool::proxy
