// minimal_forwarder LISTEN_PORT BACKEND_HOST:PORT SOURCES PORTS
// e.g. minimal_forwarder 9000 127.0.0.1:8080 127.0.0.2-127.0.0.9 20000-29999
//
// A TCP forwarder in one file: every client connection is relayed to the backend over
// an upstream connection whose source (ip, port) comes from the pool, so the forwarder
// can hold sources x ports connections to the one backend instead of the kernel's
// ephemeral range.
#include <portpool/connect.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <iostream>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto no_throw = asio::as_tuple(asio::use_awaitable);

// Copies one direction until EOF or error, then passes the EOF on (half-close).
asio::awaitable<void> transfer(tcp::socket& from, tcp::socket& to) {
  std::array<char, 16384> buffer;
  for (;;) {
    auto [read_error, n] = co_await from.async_read_some(asio::buffer(buffer), no_throw);
    if (read_error) break; // EOF or reset: either way this direction is done
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
    std::cerr << "upstream " << backend << ": " << upstream.error.message() << '\n';
    co_return; // the client is closed as `client` goes out of scope
  }
  // upstream.slot (the source lease) lives until this frame ends, with the socket.
  co_await (transfer(client, upstream.socket) && transfer(upstream.socket, client));
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, portpool::source_allocator& pool,
                             tcp::endpoint backend) {
  for (;;) {
    auto [error, client] = co_await acceptor.async_accept(no_throw);
    if (error == asio::error::operation_aborted) co_return; // shutting down
    if (error) continue; // e.g. EMFILE: a real proxy backs off here, see portpool-proxy
    asio::co_spawn(acceptor.get_executor(), session(std::move(client), pool, backend),
                   asio::detached);
  }
}

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: minimal_forwarder LISTEN_PORT BACKEND_HOST:PORT SOURCES PORTS\n"
                 "  e.g. minimal_forwarder 9000 127.0.0.1:8080 127.0.0.2-127.0.0.9 20000-29999\n";
    return 2;
  }
  try {
    const auto backend = portpool::to_asio(portpool::endpoint::parse(argv[2]));
    portpool::source_allocator pool({.sources = portpool::address_pool::parse(argv[3]),
                                     .ports = portpool::port_set::parse(argv[4])});
    const auto port = portpool::port_set::parse(argv[1]).to_vector().at(0);

    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) { acceptor.close(); });
    asio::co_spawn(io, listen(acceptor, pool, backend), asio::detached);
    std::cout << "forwarding 127.0.0.1:" << port << " -> " << backend << " from "
              << pool.capacity(portpool::from_asio(backend)) << " source slots\n";
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "minimal_forwarder: " << e.what() << '\n';
    return 2;
  }
}
