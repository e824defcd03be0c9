#include "health.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <netinet/in.h>

namespace portpool::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto token = asio::as_tuple(asio::use_awaitable);
constexpr unsigned fall = 3, rise = 2;
} // namespace

health_checker::health_checker(asio::io_context& io, shared_state& shared)
    : io_(io), shared_(shared), source_counts_(shared.config.sources.size()) {}

void health_checker::start() {
  std::size_t i = 0;
  for (const auto& b : shared_.backends.backends())
    asio::co_spawn(io_, check_loop(*b, i++), asio::detached);
}

void health_checker::stop() {
  stopped_ = true;
  for (auto& t : timers_)
    t.cancel();
}

asio::awaitable<health_checker::probe_result> health_checker::probe(backend& b,
                                                                    const ip_address* source) {
  tcp::socket socket(io_);
  boost::system::error_code ec;
  socket.open(b.address.protocol(), ec);
  if (!ec && source) {
    // Let connect() pick the port per 4-tuple, so probes do not compete with the
    // proxy's pooled ports nor use up a port per address at bind time.
    using bind_no_port = asio::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>;
    socket.set_option(bind_no_port(true), ec);
    if (!ec) socket.bind(tcp::endpoint(to_asio(*source), 0), ec);
  }
  if (ec) co_return probe_result{"cannot bind: " + ec.message(), source != nullptr};
  const auto timeout =
      std::min(shared_.config.connect_timeout,
               std::max(shared_.config.health_interval, std::chrono::milliseconds(100)));
  asio::steady_timer deadline(io_, timeout);
  auto outcome = co_await (socket.async_connect(b.address, token) || deadline.async_wait(token));
  std::string why;
  if (outcome.index() == 1)
    why = "no answer within " + format_duration(timeout);
  else if (const auto cec = std::get<0>(std::get<0>(outcome)))
    why = cec.message();
  socket.set_option(asio::socket_base::linger(true, 0), ec); // RST: no TIME_WAIT per probe
  socket.close(ec);
  co_return probe_result{why};
}

asio::awaitable<void> health_checker::check_loop(backend& b, std::size_t first_source) {
  auto& timer = timers_.emplace_back(io_);
  const auto& sources = shared_.config.sources;
  const bool pool = shared_.config.mode == source_mode::pool && !sources.empty();
  std::size_t next = first_source;
  counts backend_counts;
  while (!stopped_) {
    timer.expires_after(shared_.config.health_interval);
    co_await timer.async_wait(token);
    if (stopped_) co_return;
    const std::size_t first = pool ? next++ % sources.size() : 0;
    const auto result = co_await probe(b, pool ? &sources[first] : nullptr);
    if (stopped_) co_return;
    if (result.cannot_bind) { // the address, not the backend: no need to ask twice
      record_source(first, false, b, result.why, true);
      continue;
    }
    if (!result.ok() && pool && sources.size() > 1) {
      // Dead backend or broken source? Ask again from the next source address.
      const std::size_t second = next++ % sources.size();
      const auto again = co_await probe(b, &sources[second]);
      if (stopped_) co_return;
      if (again.ok()) {
        record_source(first, false, b, result.why);
        record_source(second, true, b, {});
        record_backend(b, backend_counts, true, {});
        continue;
      }
    }
    if (pool && result.ok()) record_source(first, true, b, {});
    record_backend(b, backend_counts, result.ok(), result.why);
  }
}

void health_checker::record_backend(backend& b, counts& c, bool ok, const std::string& why) {
  if (ok) {
    c.failures = 0;
    if (++c.successes == rise && !b.up.load()) {
      b.up.store(true);
      spdlog::info("backend {} is UP again: health checks succeed", b.name);
    }
    return;
  }
  c.successes = 0;
  if (++c.failures == fall && b.up.load()) {
    b.up.store(false);
    spdlog::error("backend {} is DOWN: {} health checks in a row failed ({}); new clients go to "
                  "the other backends",
                  b.name, fall, why);
  }
}

void health_checker::record_source(std::size_t index, bool ok, const backend& b,
                                   const std::string& why, bool at_once) {
  auto& c = source_counts_[index];
  auto& up = shared_.source_up[index];
  const auto& source = shared_.config.sources[index];
  if (ok) {
    c.failures = 0;
    if (++c.successes == rise && !up.load()) {
      up.store(true);
      shared_.allocator->set_source_enabled(source, true);
      spdlog::info("source {} is UP again: health checks from it succeed; back in rotation",
                   source.to_string());
    }
    return;
  }
  c.successes = 0;
  ++c.failures;
  if ((c.failures >= fall || at_once) && up.load()) {
    up.store(false);
    shared_.allocator->set_source_enabled(source, false);
    if (at_once)
      spdlog::error("source {} is DOWN: {}; taken out of rotation (is the address configured "
                    "on this host?)",
                    source.to_string(), why);
    else
      spdlog::error("source {} is DOWN: cannot reach {} ({}) while other sources can; taken out "
                    "of rotation: check the address is configured on this host and routed",
                    source.to_string(), b.name, why);
  }
}

} // namespace portpool::proxy
