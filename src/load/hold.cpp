#include "hold.hpp"

#include "client_setup.hpp"
#include "echo_exchange.hpp"
#include "error_names.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/intrusive/list.hpp>

#include <algorithm>

namespace portpool::load {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);
using auto_unlink_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

// One established connection, kept in its coroutine's frame and linked into the worker's
// list so that stop can close every socket at once. The lease is declared first so the
// socket closes before the slot goes back to the pool.
struct held_connection : auto_unlink_hook {
  held_connection(lease l, tcp::socket s)
      : slot(std::move(l)), socket(std::move(s)), timer(socket.get_executor()) {}
  lease slot;
  tcp::socket socket;
  asio::steady_timer timer; // between pings, and the deadline of each echo
  bool echoing = false;     // a round trip is under way: stop lets it finish
};

class hold_worker {
public:
  explicit hold_worker(worker_context& ctx, asio::any_io_executor executor)
      : ctx_(ctx), pool_(make_worker_allocator(ctx.options, ctx.index, ctx.count)),
        connect_(make_connect_options(ctx.options)), targets_(asio_targets(ctx.options)),
        wake_(executor), executor_(std::move(executor)) {
    ctx_.info = describe_slice(ctx.options, pool_, ctx.index, ctx.count);
  }

  asio::awaitable<void> run() {
    co_await ramp();
    ctx_.tell_parent("ramped");
    co_await ctx_.stop.wait();
    ctx_.stats.rss_kb = current_rss_kb(); // before closing: the memory of the held state
    // Round trips under way finish first (bounded by --echo-timeout), so every byte sent
    // is accounted for on both sides; the rest close now.
    for (auto& c : live_) {
      if (c.echoing) continue;
      boost::system::error_code ignored; // closing is all we want; errors change nothing
      c.socket.close(ignored);
      c.timer.cancel();
    }
    while (!live_.empty() || in_flight_ != 0)
      co_await wake_.wait();
  }

private:
  asio::awaitable<void> ramp() {
    const auto& o = ctx_.options;
    const std::uint64_t share = share_of(o.connections, ctx_.index, ctx_.count);
    const double rate = o.rate / ctx_.count;
    const std::uint64_t limit =
        std::max<std::uint64_t>(1, share_of(o.concurrency, ctx_.index, ctx_.count));
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < share && !ctx_.stop.fired(); ++i) {
      if (rate > 0) {
        const auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(static_cast<double>(i) / rate));
        const bool stopped = co_await ctx_.stop.wait_until(due);
        if (stopped) break;
      }
      while (in_flight_ >= limit)
        co_await wake_.wait();
      // Ids are global across workers so that round-robin spreads evenly over targets.
      const std::uint64_t id = i * ctx_.count + ctx_.index;
      ++in_flight_;
      asio::co_spawn(executor_, connect_and_hold(targets_[id % targets_.size()], id),
                     [](std::exception_ptr e) {
                       if (e) std::rethrow_exception(e); // out of io.run(): the worker fails
                     });
    }
    while (in_flight_ != 0)
      co_await wake_.wait();
  }

  asio::awaitable<void> connect_and_hold(tcp::endpoint target, std::uint64_t id) {
    auto& s = ctx_.stats;
    ++s.attempted;
    ++s.open;
    const auto start = std::chrono::steady_clock::now();
    auto r = co_await async_connect(pool_, target, connect_);
    --in_flight_;
    wake_.notify();
    s.slot_conflicts += r.conflicts;
    if (r.error) {
      --s.open;
      ++s.failed;
      ++s.errors[error_name(r.error)];
      co_return;
    }
    s.connect_latency.record(std::chrono::steady_clock::now() - start);
    ++s.ok;
    s.connected();

    held_connection c(std::move(r.slot), std::move(r.socket));
    live_.push_back(c);
    // A connect that completes after stop has already missed the close-all sweep.
    std::optional<std::string> lost;
    if (!ctx_.stop.fired()) lost = co_await keep(c, id);
    if (lost) {
      ++s.dropped;
      ++s.drop_errors[*lost];
    } else {
      ++s.held;
    }
    --s.established;
    --s.open;
    c.unlink();
    wake_.notify();
  }

  // Keeps `c` until stop (nullopt) or until it fails (the reason).
  asio::awaitable<std::optional<std::string>> keep(held_connection& c, std::uint64_t id) {
    const auto& o = ctx_.options;
    if (o.ping_interval.count() == 0) {
      // Nothing to send: sleep until the peer closes, sends, or we stop.
      auto [ec] = co_await c.socket.async_wait(tcp::socket::wait_read, token);
      if (ctx_.stop.fired()) co_return std::nullopt;
      if (ec) co_return error_name(ec);
      char byte;
      c.socket.read_some(asio::buffer(&byte, 1), ec);
      co_return ec ? error_name(ec) : std::string("UNEXPECTED_DATA");
    }
    // Spread the first pings over one interval so they do not all fire together.
    auto delay = std::chrono::milliseconds(
        static_cast<std::int64_t>(id * 7919 % static_cast<std::uint64_t>(o.ping_interval.count())));
    for (std::uint64_t round = 0;; ++round) {
      c.timer.expires_after(delay);
      co_await c.timer.async_wait(token);
      if (ctx_.stop.fired()) co_return std::nullopt;
      c.echoing = true;
      auto failure =
          co_await echo_once(c.socket, c.timer, o.payload, id, round, o.echo_timeout, ctx_.stats);
      c.echoing = false;
      if (failure) co_return failure;
      if (ctx_.stop.fired()) co_return std::nullopt;
      delay = o.ping_interval;
    }
  }

  worker_context& ctx_;
  source_allocator pool_;
  connect_options connect_;
  std::vector<tcp::endpoint> targets_;
  boost::intrusive::list<held_connection, boost::intrusive::constant_time_size<false>> live_;
  std::uint64_t in_flight_ = 0;
  wakeup wake_; // the ramp waits for a free connect slot, stop for the last connection
  asio::any_io_executor executor_;
};

} // namespace

asio::awaitable<void> run_hold(worker_context& ctx) {
  hold_worker worker(ctx, co_await asio::this_coro::executor);
  co_await worker.run();
}

} // namespace portpool::load
