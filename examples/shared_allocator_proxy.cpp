// shared_allocator_proxy SOURCES PORTS LISTEN_PORT=BACKEND [LISTEN_PORT=BACKEND...]
// e.g. shared_allocator_proxy 127.0.0.2-127.0.0.9 20000-29999 9001=127.0.0.1:8081
// 9002=127.0.0.1:8082
//
// A custom proxy with several listeners, each forwarding to its own backend, all
// drawing source slots from ONE allocator: a source port serves every backend at once,
// and each backend (and each source toward it) gets its own usage figures. Usage alerts
// are logged through spdlog in the incident write-up's wording, with a status line every
// 10 seconds.
#include <portpool/connect.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <list>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto no_throw = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> transfer(tcp::socket& from, tcp::socket& to) {
  std::array<char, 16384> buffer;
  for (;;) {
    auto [read_error, n] = co_await from.async_read_some(asio::buffer(buffer), no_throw);
    if (read_error) break; // EOF or reset ends this direction
    auto [write_error, m] = co_await asio::async_write(to, asio::buffer(buffer, n), no_throw);
    if (write_error) break;
  }
  boost::system::error_code ignored; // the peer may be gone already
  to.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> session(tcp::socket client, portpool::source_allocator& pool,
                              tcp::endpoint backend) {
  auto upstream = co_await portpool::async_connect(pool, backend);
  if (upstream.error) {
    spdlog::error("no upstream to {}: {}", portpool::from_asio(backend).to_string(),
                  upstream.error == portpool::errc::exhausted
                      ? pool.describe(portpool::from_asio(backend))
                      : upstream.error.message());
    co_return;
  }
  co_await (transfer(client, upstream.socket) && transfer(upstream.socket, client));
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, portpool::source_allocator& pool,
                             tcp::endpoint backend) {
  asio::steady_timer backoff(acceptor.get_executor());
  for (;;) {
    auto [error, client] = co_await acceptor.async_accept(no_throw);
    if (error == asio::error::operation_aborted) co_return;
    if (error) { // EMFILE and friends: wait instead of spinning
      spdlog::warn("accept: {}; retrying in 100 ms", error.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(no_throw);
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), session(std::move(client), pool, backend),
                   asio::detached);
  }
}

asio::awaitable<void> report(portpool::source_allocator& pool) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  for (;;) {
    tick.expires_after(std::chrono::seconds(10));
    if (auto [e] = co_await tick.async_wait(no_throw); e) co_return;
    for (const auto& d : pool.snapshot().destinations)
      spdlog::info("{}: {} of {} source slots in use (high water {})", d.destination.to_string(),
                   d.usage.in_use, d.usage.capacity, d.usage.high_water);
  }
}

int main(int argc, char** argv) {
  if (argc < 4) {
    spdlog::error("usage: shared_allocator_proxy SOURCES PORTS LISTEN_PORT=BACKEND...  e.g. "
                  "127.0.0.2-127.0.0.9 20000-29999 9001=127.0.0.1:8081 9002=127.0.0.1:8082");
    return 2;
  }
  try {
    portpool::source_allocator pool({
        .sources = portpool::address_pool::parse(argv[1]),
        .ports = portpool::port_set::parse(argv[2]),
        .on_alert =
            [](const portpool::usage_alert& a) {
              if (a.is_recovery())
                spdlog::info("RECOVERED: {}", a.message());
              else if (a.current == portpool::usage_level::critical)
                spdlog::error("CRITICAL: {}", a.message());
              else
                spdlog::warn("WARNING: {}", a.message());
            },
    });
    asio::io_context io;
    std::list<tcp::acceptor> acceptors;
    for (int i = 3; i < argc; ++i) {
      const std::string_view route = argv[i];
      const auto eq = route.find('=');
      if (eq == std::string_view::npos)
        throw std::invalid_argument("bad route \"" + std::string(route) +
                                    "\": expected PORT=HOST:PORT");
      const auto port = portpool::port_set::parse(route.substr(0, eq)).to_vector().at(0);
      const auto backend = portpool::to_asio(portpool::endpoint::parse(route.substr(eq + 1)));
      auto& acceptor =
          acceptors.emplace_back(io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
      spdlog::info("127.0.0.1:{} -> {} ({} source slots)", port, route.substr(eq + 1),
                   pool.capacity(portpool::from_asio(backend)));
      asio::co_spawn(io, listen(acceptor, pool, backend), asio::detached);
    }
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { io.stop(); });
    asio::co_spawn(io, report(pool), asio::detached);
    io.run();
  } catch (const std::exception& e) {
    spdlog::error("shared_allocator_proxy: {}", e.what());
    return 2;
  }
}
