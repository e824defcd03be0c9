// connection_pool on real sockets: reuse, eviction of connections whose peer closed,
// idle timeout, lifetime, limits, and source slots freed when connections close.
#include "harness.hpp"

#include "portpool/connection_pool.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>

#include <doctest/doctest.h>

using namespace portpool;
using namespace portpool::testing;
using namespace std::chrono_literals;

namespace {

const tcp::endpoint backend(asio::ip::make_address("127.0.0.1"), 8080);
const tcp::endpoint other_backend(asio::ip::make_address("127.0.0.1"), 8081);

source_allocator make_allocator() {
  return source_allocator({.sources = address_pool::parse("127.0.0.2-127.0.0.3"),
                           .ports = port_set::parse("20000-20099")});
}

// One request/response: the echo backend must send back exactly what we sent.
asio::awaitable<bool> ping(pooled_connection& c) {
  const std::string request = "ping";
  std::string reply(request.size(), '\0');
  auto [wec, w] = co_await asio::async_write(c.socket(), asio::buffer(request),
                                             asio::as_tuple(asio::use_awaitable));
  if (wec) co_return false;
  auto [rec, r] = co_await asio::async_read(c.socket(), asio::buffer(reply),
                                            asio::as_tuple(asio::use_awaitable));
  co_return !rec && reply == request;
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

std::uint64_t leased(const source_allocator& a, const tcp::endpoint& to) {
  const auto u = a.usage(from_asio(to));
  return u ? u->usage.in_use : 0;
}

} // namespace

TEST_CASE("pool_reuse_hit") {
  asio::io_context io;
  echo_listener echo(io, backend);
  auto allocator = make_allocator();
  connection_pool pool(io.get_executor(), allocator);
  tcp::endpoint first_local, second_local;
  bool reused_first = true, reused_second = false;
  run(io, [&]() -> asio::awaitable<void> {
    std::error_code ec;
    auto a = co_await pool.checkout(backend, ec);
    REQUIRE_FALSE(ec);
    CHECK(co_await ping(a));
    first_local = a.socket().local_endpoint();
    reused_first = a.reused();
    a.recycle();
    CHECK_FALSE(a);
    auto b = co_await pool.checkout(backend, ec);
    REQUIRE_FALSE(ec);
    CHECK(co_await ping(b));
    second_local = b.socket().local_endpoint();
    reused_second = b.reused();
    b.recycle();
    echo.stop();
  });
  CHECK_FALSE(reused_first);
  CHECK(reused_second);
  CHECK(first_local == second_local);
  CHECK(echo.accepted() == 1);
  const auto s = pool.stats();
  CHECK(s.hits == 1);
  CHECK(s.misses == 1);
  CHECK(s.open == 1);
  CHECK(s.idle == 1);
  CHECK(leased(allocator, backend) == 1);
}

TEST_CASE("pool_peer_closed_is_evicted") {
  asio::io_context io;
  echo_listener echo(io, backend);
  auto allocator = make_allocator();
  connection_pool pool(io.get_executor(), allocator, {.sweep_interval = 1h});
  bool reused = true, ok = false;
  run(io, [&]() -> asio::awaitable<void> {
    std::error_code ec;
    auto a = co_await pool.checkout(backend, ec);
    CHECK(co_await ping(a));
    a.recycle();
    echo.close_accepted(); // the backend closes the idle connection
    co_await pause(50ms);
    auto b = co_await pool.checkout(backend, ec);
    REQUIRE_FALSE(ec);
    reused = b.reused();
    ok = co_await ping(b);
    echo.stop();
  });
  CHECK_FALSE(reused);
  CHECK(ok);
  CHECK(pool.stats().evicted_peer_closed == 1);
  CHECK(echo.accepted() == 2);
  CHECK(leased(allocator, backend) == 0); // b closed at the end of the body
}

TEST_CASE("pool_idle_timeout_and_lifetime") {
  asio::io_context io;
  echo_listener echo(io, backend);
  auto allocator = make_allocator();
  connection_pool pool(io.get_executor(), allocator,
                       {.idle_timeout = 100ms, .max_lifetime = 1h, .sweep_interval = 20ms});
  connection_pool short_lived(io.get_executor(), allocator,
                              {.idle_timeout = 1h, .max_lifetime = 100ms, .sweep_interval = 1h});
  std::size_t leased_while_idle = 0;
  bool reused_after_lifetime = true;
  run(io, [&]() -> asio::awaitable<void> {
    std::error_code ec;
    auto a = co_await pool.checkout(backend, ec);
    a.recycle();
    leased_while_idle = leased(allocator, backend);
    co_await pause(300ms); // the sweeper closes it: nobody calls into the pool meanwhile
    auto b = co_await short_lived.checkout(backend, ec);
    b.recycle();
    co_await pause(150ms);
    auto c = co_await short_lived.checkout(backend, ec); // too old to reuse
    REQUIRE_FALSE(ec);
    reused_after_lifetime = c.reused();
    echo.stop();
  });
  CHECK(leased_while_idle == 1);
  CHECK(pool.stats().evicted_idle_timeout == 1);
  CHECK(pool.stats().open == 0);
  CHECK_FALSE(reused_after_lifetime);
  CHECK(short_lived.stats().evicted_lifetime == 1);
  CHECK(leased(allocator, backend) == 0);
}

TEST_CASE("pool_limits") {
  asio::io_context io;
  echo_listener echo(io, backend), other(io, other_backend);
  auto allocator = make_allocator();
  connection_pool pool(io.get_executor(), allocator,
                       {.max_idle_per_destination = 2, .max_total = 4, .sweep_interval = 1h});
  std::error_code full_ec;
  run(io, [&]() -> asio::awaitable<void> {
    std::error_code ec;
    std::vector<pooled_connection> held;
    for (int i = 0; i < 4; ++i) {
      held.push_back(co_await pool.checkout(backend, ec));
      REQUIRE_FALSE(ec);
    }
    (void)co_await pool.checkout(backend, full_ec); // 4 open, none idle
    for (auto& c : held)
      c.recycle(); // 2 kept idle, 2 closed
    CHECK(pool.stats().idle == 2);
    CHECK(pool.stats().evicted_overflow == 2);
    std::vector<pooled_connection> others;
    for (int i = 0; i < 4; ++i) { // room is made by closing the idle ones
      others.push_back(co_await pool.checkout(other_backend, ec));
      REQUIRE_FALSE(ec);
    }
    CHECK(pool.stats().evicted_for_room == 2);
    CHECK(leased(allocator, backend) == 0);
    CHECK(leased(allocator, other_backend) == 4);
    echo.stop();
    other.stop();
  });
  CHECK(full_ec == errc::pool_full);
  CHECK(pool.stats().refused_full == 1);
  CHECK(pool.stats().open == 0);
  CHECK(leased(allocator, other_backend) == 0);
}

TEST_CASE("pool_destroyed_frees_leases") {
  asio::io_context io;
  echo_listener echo(io, backend);
  auto allocator = make_allocator();
  pooled_connection survivor;
  {
    connection_pool pool(io.get_executor(), allocator);
    run(io, [&]() -> asio::awaitable<void> {
      std::error_code ec;
      auto a = co_await pool.checkout(backend, ec);
      survivor = co_await pool.checkout(backend, ec);
      a.recycle();
      echo.stop();
    });
    CHECK(leased(allocator, backend) == 2);
  }
  CHECK(leased(allocator, backend) == 1); // the idle one closed with the pool
  CHECK(survivor.socket().is_open());     // a checked-out one stays usable
  survivor = pooled_connection{};
  CHECK(leased(allocator, backend) == 0);
}
