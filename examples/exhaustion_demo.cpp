// The incident in miniature, then the fix. Inside a private network namespace whose
// ephemeral range is narrowed to 1,000 ports, connect to one backend:
//   1. kernel mode (plain connect()): fails with EADDRNOTAVAIL at exactly 1,000, no warning;
//   2. pool mode (4 source addresses x 1,000 ports): 4,000 connections, a warning at 80%
//      and 95% of each group, then a clear "exhausted" error naming the fix.
#include "netns.hpp"

#include "portpool/connect.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <list>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace portpool;

namespace {

constexpr std::uint16_t range_low = 40000, range_high = 40999;
const tcp::endpoint backend(asio::ip::make_address("127.0.0.1"), 8080);

asio::awaitable<void> accept_all(tcp::acceptor& acceptor, std::list<tcp::socket>& held) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return; // the acceptor was closed: the demo is over
    held.push_back(std::move(socket));
  }
}

struct outcome {
  std::size_t ok = 0;
  std::error_code failure;
  double seconds = 0;
};

asio::awaitable<outcome> connect_until_failure(source_allocator& pool, connect_options options,
                                               std::list<connect_result>& held) {
  outcome o;
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    auto r = co_await async_connect(pool, backend, options);
    if (r.error) {
      o.failure = r.error;
      break;
    }
    held.push_back(std::move(r));
    ++o.ok;
  }
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  co_return o;
}

} // namespace

int main() {
  try {
    tools::enter_private_netns_with_range(range_low, range_high);
  } catch (const std::exception& e) {
    std::cerr << "portpool demo: " << e.what() << '\n';
    return 1;
  }
  std::cout << "portpool demo: private network namespace, ephemeral range " << range_low << "-"
            << range_high << " (1000 ports), one backend at " << backend << "\n\n";

  asio::io_context io;
  tcp::acceptor acceptor(io, backend);
  std::list<tcp::socket> accepted;
  asio::co_spawn(io, accept_all(acceptor, accepted), asio::detached);

  source_allocator pool({
      .sources = address_pool::parse("127.0.0.2-127.0.0.5"),
      .ports = port_set::parse("20000-20999"), // outside the ephemeral range on purpose
      .thresholds = {.warn_percent = 80, .crit_percent = 95},
      .on_alert =
          [](const usage_alert& a) {
            std::cout << "  " << (a.is_recovery() ? "recovered to " : "") << to_string(a.current)
                      << ": " << a.message() << '\n';
          },
  });

  int status = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::list<connect_result> held;
        std::cout << "1) kernel mode: plain connect(), the kernel picks the source port\n";
        const auto kernel =
            co_await connect_until_failure(pool, {.mode = source_mode::kernel}, held);
        std::printf("   %zu connections, then: %s (no warning before it)\n\n", kernel.ok,
                    kernel.failure.message().c_str());
        held.clear();

        std::cout << "2) pool mode: 4 source addresses x 1000 ports, explicit bind\n";
        const auto pooled = co_await connect_until_failure(pool, {}, held);
        std::printf("   %zu connections in %.2f s, then: %s\n   %s\n\n", pooled.ok, pooled.seconds,
                    pooled.failure.message().c_str(),
                    pool.describe(endpoint::parse("127.0.0.1:8080")).c_str());
        std::cout << "closing every connection:\n";
        held.clear();
        std::printf("\nkernel mode: %zu connections   pool mode: %zu connections   (%.1fx)\n",
                    kernel.ok, pooled.ok, kernel.ok ? double(pooled.ok) / double(kernel.ok) : 0.0);
        if (kernel.ok != 1000 || pooled.ok != 4000) status = 1;
        acceptor.close();
      },
      asio::detached);
  io.run();
  return status;
}
