// http_keepalive_client HOST:PORT TARGET REQUESTS CONCURRENCY SOURCES PORTS
// e.g. http_keepalive_client 127.0.0.1:8080 / 1000 8 127.0.0.2-127.0.0.5 20000-29999
//
// An HTTP/1.1 client (Boost.Beast) that keeps a pool of keep-alive upstream connections:
// each request checks a connection out of portpool::connection_pool (an idle one when
// there is one, else a new one from a pooled source slot), and recycles it when the
// response allows keep-alive. Prints status counts and the pool's hit rate.
#include <portpool/connection_pool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <iostream>
#include <map>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

struct tally {
  std::map<unsigned, int> statuses;
  int failures = 0;
};

asio::awaitable<void> client(portpool::connection_pool& pool, tcp::endpoint server,
                             std::string target, int requests, tally& out) {
  for (int i = 0; i < requests; ++i) {
    std::error_code ec;
    auto connection = co_await pool.checkout(server, ec);
    if (ec) {
      std::cerr << "connect " << server << ": " << ec.message() << '\n';
      ++out.failures;
      continue;
    }
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, server.address().to_string());
    request.keep_alive(true);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    boost::system::error_code io_error;
    co_await http::async_write(connection.socket(), request,
                               asio::redirect_error(asio::use_awaitable, io_error));
    if (!io_error)
      co_await http::async_read(connection.socket(), buffer, response,
                                asio::redirect_error(asio::use_awaitable, io_error));
    if (io_error) {
      // A reused connection may have been closed by the server just now: count it; a
      // real client would retry once on a fresh connection.
      ++out.failures;
      continue; // `connection` is dropped: closed, its source slot freed
    }
    ++out.statuses[response.result_int()];
    if (response.keep_alive()) connection.recycle();
  }
}

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr
        << "usage: http_keepalive_client HOST:PORT TARGET REQUESTS CONCURRENCY SOURCES PORTS\n"
           "  e.g. http_keepalive_client 127.0.0.1:8080 / 1000 8 127.0.0.2-127.0.0.5 "
           "20000-29999\n";
    return 2;
  }
  try {
    const auto server = portpool::to_asio(portpool::endpoint::parse(argv[1]));
    const int requests = std::stoi(argv[3]), concurrency = std::stoi(argv[4]);
    if (requests < 1 || concurrency < 1)
      throw std::invalid_argument("REQUESTS and CONCURRENCY must be >= 1");
    portpool::source_allocator allocator({.sources = portpool::address_pool::parse(argv[5]),
                                          .ports = portpool::port_set::parse(argv[6])});
    asio::io_context io;
    tally result;
    {
      portpool::connection_pool pool(
          io.get_executor(), allocator,
          {.max_idle_per_destination = static_cast<std::size_t>(concurrency)});
      int running = concurrency;
      for (int c = 0; c < concurrency; ++c)
        asio::co_spawn(io, client(pool, server, argv[2], requests / concurrency, result),
                       [&](std::exception_ptr) {
                         if (--running == 0) io.stop(); // the pool's sweeper would run on
                       });
      io.run();
      const auto s = pool.stats();
      std::cout << "pool: " << s.hits << " hits, " << s.misses << " misses, "
                << s.evicted_peer_closed << " peer-closed evictions\n";
    }
    for (const auto& [status, count] : result.statuses)
      std::cout << "HTTP " << status << ": " << count << '\n';
    std::cout << "failures: " << result.failures << '\n';
    return result.failures == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "http_keepalive_client: " << e.what() << '\n';
    return 2;
  }
}
