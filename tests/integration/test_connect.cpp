// The connect path on real sockets, inside a private namespace whose ephemeral range is
// 40000-40199 (200 ports). Pool ports (20000-...) stay outside it on purpose.
#include "harness.hpp"
#include "netns.hpp"

#include "portpool/connect.hpp"

#include <boost/asio/as_tuple.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

using namespace portpool;
using namespace portpool::testing;
using namespace std::chrono_literals;

namespace {

const tcp::endpoint backend(asio::ip::make_address("127.0.0.1"), 8080);

allocator_options pool_options(std::string_view sources, std::string_view ports,
                               std::chrono::milliseconds quarantine = 60s) {
  return {.sources = address_pool::parse(sources),
          .ports = port_set::parse(ports),
          .quarantine = quarantine};
}

// A socket bound without SO_REUSEADDR: nobody else may bind this (ip, port).
tcp::socket squat(asio::io_context& io, const char* ip, std::uint16_t port) {
  tcp::socket s(io, tcp::v4());
  s.bind({asio::ip::make_address(ip), port});
  return s;
}

struct tally {
  std::vector<connect_result> ok;
  std::error_code first_failure;
  unsigned conflicts = 0;
};

// Connects one at a time until the first failure or `limit` connections.
asio::awaitable<void> connect_until_failure(source_allocator& pool, tcp::endpoint to,
                                            connect_options o, std::size_t limit, tally& t) {
  while (t.ok.size() < limit) {
    auto r = co_await async_connect(pool, to, o);
    t.conflicts += r.conflicts;
    if (r.error) {
      t.first_failure = r.error;
      co_return;
    }
    t.ok.push_back(std::move(r));
  }
}

// Sockets in TIME_WAIT (state 06) with this local port, from /proc/net/tcp.
int time_wait_count(std::uint16_t local_port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line); // header
  int count = 0;
  char wanted[8];
  std::snprintf(wanted, sizeof wanted, ":%04X", local_port);
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == "06" && local.ends_with(wanted)) ++count;
  }
  return count;
}

} // namespace

TEST_CASE("kernel_exhaustion") {
  // The incident: plain connect() toward one destination stops at the range size.
  asio::io_context io;
  holding_listener listener(io, backend);
  source_allocator unused(pool_options("127.0.0.2", "20000"));
  tally t;
  run(io, [&]() -> asio::awaitable<void> {
    co_await connect_until_failure(unused, backend, {.mode = source_mode::kernel}, 1000, t);
    listener.stop();
  });
  CHECK(t.ok.size() == 200);
  CHECK(t.first_failure == std::errc::address_not_available);
  for (const auto& r : t.ok) {
    const auto port = r.socket.local_endpoint().port();
    CHECK(port >= 40000);
    CHECK(port <= 40199);
    CHECK_FALSE(r.slot);
  }
}

TEST_CASE("pool_capacity") {
  // 4 sources x 200 ports: exactly 800 connections, zero failures, then `exhausted`.
  asio::io_context io;
  holding_listener listener(io, backend);
  source_allocator pool(pool_options("127.0.0.2-127.0.0.5", "20000-20199"));
  tally t;
  run(io, [&]() -> asio::awaitable<void> {
    co_await connect_until_failure(pool, backend, {}, 1000, t);
    listener.stop();
  });
  CHECK(t.ok.size() == 800);
  CHECK(t.conflicts == 0);
  CHECK(t.first_failure == errc::exhausted);
  std::set<std::pair<std::string, std::uint16_t>> locals;
  for (const auto& r : t.ok) {
    const auto local = r.socket.local_endpoint();
    REQUIRE(r.slot);
    CHECK(local.address().to_string() == r.slot.source().to_string());
    CHECK(local.port() == r.slot.port());
    CHECK(r.socket.remote_endpoint() == backend);
    locals.insert({local.address().to_string(), local.port()});
  }
  CHECK(locals.size() == 800);
  CHECK(pool.usage(from_asio(backend))->usage.in_use == 800);
  t.ok.clear(); // closes the sockets and releases their leases
  CHECK(pool.usage(from_asio(backend))->usage.in_use == 0);
}

TEST_CASE("same_port_two_destinations") {
  // One (source ip, port) serves two destinations at once through SO_REUSEADDR.
  asio::io_context io;
  const tcp::endpoint other(backend.address(), 8081);
  holding_listener a(io, backend), b(io, other);
  source_allocator pool(pool_options("127.0.0.2", "20000"));
  tally ta, tb;
  run(io, [&]() -> asio::awaitable<void> {
    co_await connect_until_failure(pool, backend, {}, 5, ta);
    co_await connect_until_failure(pool, other, {}, 5, tb);
    a.stop();
    b.stop();
  });
  REQUIRE(ta.ok.size() == 1);
  REQUIRE(tb.ok.size() == 1);
  CHECK(ta.ok[0].socket.local_endpoint() == tb.ok[0].socket.local_endpoint());
  CHECK(ta.first_failure == errc::exhausted);
  CHECK(tb.first_failure == errc::exhausted);
}

TEST_CASE("squatters_and_listener") {
  // Outside sockets hold 7 of the 800 slots: 5 bound without SO_REUSEADDR, one
  // listener, and one connected to the same backend from a pool slot. Every acquire
  // succeeds until the 793 free slots are used; each squatted slot costs one conflict.
  asio::io_context io;
  holding_listener listener(io, backend);
  std::vector<tcp::socket> squatters;
  for (std::uint16_t p = 20010; p < 20015; ++p)
    squatters.push_back(squat(io, "127.0.0.3", p));
  tcp::acceptor listener_on_pool_port(io, {asio::ip::make_address("127.0.0.4"), 20020});
  tcp::socket same_tuple(io, tcp::v4());
  same_tuple.set_option(tcp::socket::reuse_address(true));
  same_tuple.bind({asio::ip::make_address("127.0.0.5"), 20030});
  same_tuple.connect(backend);

  source_allocator pool(pool_options("127.0.0.2-127.0.0.5", "20000-20199"));
  tally t;
  run(io, [&]() -> asio::awaitable<void> {
    co_await connect_until_failure(pool, backend, {}, 1000, t);
    listener.stop();
  });
  CHECK(t.ok.size() == 793);
  CHECK(t.conflicts == 7);
  CHECK(t.first_failure == errc::exhausted);
  const auto u = pool.usage(from_asio(backend));
  CHECK(u->usage.conflicts == 7);
  CHECK(u->usage.quarantined == 7);
  CHECK(u->usage.exhaustions == 1);
}

TEST_CASE("quarantine_expires") {
  asio::io_context io;
  holding_listener listener(io, backend);
  auto squatter = squat(io, "127.0.0.2", 20000);
  source_allocator pool(pool_options("127.0.0.2", "20000-20001", 200ms));
  tally first, second, third;
  run(io, [&]() -> asio::awaitable<void> {
    co_await connect_until_failure(pool, backend, {}, 1, first);
    co_await connect_until_failure(pool, backend, {}, 1, second);
    squatter.close();
    asio::steady_timer wait(io, 300ms);
    co_await wait.async_wait(asio::use_awaitable);
    co_await connect_until_failure(pool, backend, {}, 1, third);
    listener.stop();
  });
  REQUIRE(first.ok.size() == 1);
  CHECK(first.conflicts == 1);
  CHECK(first.ok[0].slot.port() == 20001);
  CHECK(second.first_failure == errc::exhausted); // 20000 quarantined, 20001 leased
  REQUIRE(third.ok.size() == 1);
  CHECK(third.ok[0].slot.port() == 20000);
  CHECK(third.conflicts == 0);
}

TEST_CASE("ipv6_pool") {
  asio::io_context io;
  const tcp::endpoint v6_backend(asio::ip::make_address("::1"), 8080);
  holding_listener listener(io, v6_backend);
  source_allocator pool(pool_options("::1,127.0.0.2", "20000-20049"));
  tally t;
  run(io, [&]() -> asio::awaitable<void> {
    co_await connect_until_failure(pool, v6_backend, {}, 100, t);
    listener.stop();
  });
  CHECK(t.ok.size() == 50);
  CHECK(t.first_failure == errc::exhausted);
  for (const auto& r : t.ok)
    CHECK(r.socket.local_endpoint().address().is_v6());
}

TEST_CASE("refused_is_not_a_conflict") {
  // Nothing listens on 8090: the error is the destination's, the slot is not quarantined.
  asio::io_context io;
  source_allocator pool(pool_options("127.0.0.2", "20000-20001"));
  tally t;
  run(io, [&]() -> asio::awaitable<void> {
    co_await connect_until_failure(pool, {backend.address(), 8090}, {}, 1, t);
  });
  CHECK(t.ok.empty());
  CHECK(t.first_failure == std::errc::connection_refused);
  CHECK(t.conflicts == 0);
  const auto u = pool.usage(endpoint::parse("127.0.0.1:8090"));
  CHECK(u->usage.in_use == 0);
  CHECK(u->usage.quarantined == 0);
}

TEST_CASE("time_wait_takeover") {
  // With tcp_tw_reuse=0, a slot whose previous connection sits in TIME_WAIT (we closed
  // first) is bound and connected again at once: explicit bind takes the TIME_WAIT
  // 4-tuple over (timestamps on), so the allocator need not track TIME_WAIT.
  tools::write_sysctl("net/ipv4/tcp_tw_reuse", "0");
  asio::io_context io;
  holding_listener listener(io, backend);
  source_allocator pool(pool_options("127.0.0.2", "20000"));
  tally first, second;
  run(io, [&]() -> asio::awaitable<void> {
    co_await connect_until_failure(pool, backend, {}, 1, first);
    first.ok.clear(); // our side closes first, then the backend: we hold the TIME_WAIT
    asio::steady_timer wait(io, 50ms);
    co_await wait.async_wait(asio::use_awaitable);
    listener.close_accepted();
    wait.expires_after(100ms);
    co_await wait.async_wait(asio::use_awaitable);
    CHECK(time_wait_count(20000) == 1);
    co_await connect_until_failure(pool, backend, {}, 1, second);
    listener.stop();
  });
  CHECK(first.conflicts == 0);
  CAPTURE(second.first_failure.message());
  REQUIRE(second.ok.size() == 1);
  CHECK(second.conflicts == 0);
  CHECK(second.ok[0].socket.local_endpoint().port() == 20000);
}

TEST_CASE("explicit_binds_shrink_the_kernel_range") {
  // Why the pool's ports belong outside ip_local_port_range: the kernel's own connect()
  // skips every port held by an explicit bind, on any address. Bind 150 of the 200
  // ephemeral ports on 127.0.0.2; plain connects to 127.0.0.1 then get only 50.
  asio::io_context io;
  holding_listener listener(io, backend);
  std::vector<tcp::socket> binds;
  for (std::uint16_t p = 40000; p < 40150; ++p) {
    binds.emplace_back(io, tcp::v4());
    binds.back().set_option(tcp::socket::reuse_address(true));
    binds.back().bind({asio::ip::make_address("127.0.0.2"), p});
  }
  source_allocator unused(pool_options("127.0.0.2", "20000"));
  tally t;
  run(io, [&]() -> asio::awaitable<void> {
    co_await connect_until_failure(unused, backend, {.mode = source_mode::kernel}, 1000, t);
    listener.stop();
  });
  CHECK(t.ok.size() == 50);
  CHECK(t.first_failure == std::errc::address_not_available);
}
