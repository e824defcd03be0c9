#include "portpool/connect.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace portpool {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

asio::awaitable<std::error_code> connect_with_deadline(tcp::socket& socket, tcp::endpoint to,
                                                       std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  constexpr auto token = asio::as_tuple(asio::use_awaitable);
  asio::steady_timer deadline(co_await asio::this_coro::executor, timeout);
  auto outcome = co_await (socket.async_connect(to, token) || deadline.async_wait(token));
  if (outcome.index() == 0) co_return std::get<0>(std::get<0>(outcome));
  co_return make_error_code(errc::connect_timeout);
}

} // namespace

std::string_view to_string(source_mode mode) noexcept {
  return mode == source_mode::pool ? "pool" : "kernel";
}

std::optional<source_mode> parse_source_mode(std::string_view text) noexcept {
  if (text == "pool") return source_mode::pool;
  if (text == "kernel") return source_mode::kernel;
  return std::nullopt;
}

asio::ip::address to_asio(const ip_address& a) {
  if (a.is_v4()) return asio::ip::address_v4(a.v4_host_order());
  return asio::ip::address_v6(a.bytes());
}

tcp::endpoint to_asio(const endpoint& e) { return {to_asio(e.address), e.port}; }

endpoint from_asio(const tcp::endpoint& e) {
  const auto a = e.address();
  if (a.is_v4()) return {ip_address::v4(a.to_v4().to_uint()), e.port()};
  return {ip_address::v6(a.to_v6().to_bytes()), e.port()};
}

bool is_slot_conflict(const std::error_code& ec) noexcept {
  return ec == std::errc::address_in_use || ec == std::errc::address_not_available;
}

asio::awaitable<connect_result> async_connect(source_allocator& pool, tcp::endpoint destination,
                                              connect_options options) {
  const auto executor = co_await asio::this_coro::executor;
  connect_result result{{}, tcp::socket(executor), {}, 0};

  if (options.mode == source_mode::kernel) {
    result.error = co_await connect_with_deadline(result.socket, destination, options.timeout);
    if (result.error) {
      boost::system::error_code ignored; // the socket is useless either way
      result.socket.close(ignored);
    }
    co_return result;
  }

  std::error_code ec;
  const auto handle = pool.destination(from_asio(destination), ec);
  for (;;) {
    lease slot = pool.acquire(handle, ec);
    if (ec) {
      result.error = ec;
      co_return result;
    }
    tcp::socket socket(executor);
    boost::system::error_code sync_ec;
    socket.open(destination.protocol(), sync_ec);
    if (!sync_ec) socket.set_option(tcp::socket::reuse_address(true), sync_ec);
    if (!sync_ec) socket.bind(tcp::endpoint(to_asio(slot.source()), slot.port()), sync_ec);
    ec = sync_ec;
    if (!ec) ec = co_await connect_with_deadline(socket, destination, options.timeout);
    if (!ec) {
      result.socket = std::move(socket);
      result.slot = std::move(slot);
      co_return result;
    }
    if (!is_slot_conflict(ec)) {
      result.error = ec; // the destination's problem (refused, timeout) or ours (EMFILE)
      co_return result;
    }
    // The slot is taken elsewhere (a squatter, a listener, a 4-tuple held by another
    // socket): skip it for a while and try the next one on a fresh socket.
    slot.quarantine();
    if (++result.conflicts >= options.max_conflicts) {
      result.error = make_error_code(errc::retries_exhausted);
      co_return result;
    }
  }
}

} // namespace portpool
