#include "echo_exchange.hpp"

#include "error_names.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <vector>

namespace portpool::load {
namespace asio = boost::asio;

asio::awaitable<std::optional<std::string>>
echo_once(asio::ip::tcp::socket& socket, asio::steady_timer& timer, std::size_t payload,
          std::uint64_t connection, std::uint64_t round, std::chrono::milliseconds timeout,
          run_stats& stats) {
  using namespace asio::experimental::awaitable_operators;
  constexpr auto token = asio::as_tuple(asio::use_awaitable);
  // Allocated per round trip, not per connection: idle held connections cost nothing here.
  std::vector<std::uint8_t> out(payload), in(payload);
  const std::uint64_t seed = connection * 0x9e3779b97f4a7c15ULL + round * 0x100000001b3ULL;
  for (std::size_t i = 0; i < payload; ++i)
    out[i] = static_cast<std::uint8_t>((seed >> ((i % 8) * 8)) + i);

  const auto start = std::chrono::steady_clock::now();
  timer.expires_after(timeout);
  auto sent =
      co_await (asio::async_write(socket, asio::buffer(out), token) || timer.async_wait(token));
  if (sent.index() == 1) co_return "ECHO_TIMEOUT";
  const auto [write_ec, written] = std::get<0>(sent);
  stats.bytes_sent += written;
  if (write_ec) co_return error_name(write_ec);

  auto got =
      co_await (asio::async_read(socket, asio::buffer(in), token) || timer.async_wait(token));
  if (got.index() == 1) co_return "ECHO_TIMEOUT";
  const auto [read_ec, read] = std::get<0>(got);
  stats.bytes_received += read;
  if (read_ec) co_return error_name(read_ec);

  stats.echo_latency.record(std::chrono::steady_clock::now() - start);
  ++stats.echoes;
  if (in != out) {
    ++stats.echo_mismatch;
    co_return "ECHO_MISMATCH";
  }
  co_return std::nullopt;
}

} // namespace portpool::load
