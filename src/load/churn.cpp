#include "churn.hpp"

#include "client_setup.hpp"
#include "echo_exchange.hpp"
#include "error_names.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>

namespace portpool::load {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

class churn_worker {
public:
  churn_worker(worker_context& ctx, asio::any_io_executor executor)
      : ctx_(ctx), pool_(make_worker_allocator(ctx.options, ctx.index, ctx.count)),
        connect_(make_connect_options(ctx.options)), targets_(asio_targets(ctx.options)),
        wake_(executor), executor_(std::move(executor)) {
    ctx_.info = describe_slice(ctx.options, pool_, ctx.index, ctx.count);
  }

  asio::awaitable<void> run() {
    const auto& o = ctx_.options;
    start_ = std::chrono::steady_clock::now();
    deadline_ = start_ + o.duration;
    rate_ = o.rate / ctx_.count;
    const std::uint64_t loops =
        std::max<std::uint64_t>(1, share_of(o.concurrency, ctx_.index, ctx_.count));
    for (std::uint64_t i = 0; i < loops; ++i) {
      ++running_;
      asio::co_spawn(executor_, cycle_loop(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e); // out of io.run(): the worker fails
      });
    }
    while (running_ != 0)
      co_await wake_.wait();
    ctx_.stats.rss_kb = current_rss_kb();
  }

private:
  asio::awaitable<void> cycle_loop() {
    while (!ctx_.stop.fired()) {
      if (rate_ > 0) {
        const auto due =
            start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(static_cast<double>(tickets_++) / rate_));
        if (due >= deadline_) break;
        const bool stopped = co_await ctx_.stop.wait_until(due);
        if (stopped) break;
      }
      if (std::chrono::steady_clock::now() >= deadline_) break;
      const bool ok = co_await cycle(next_id_++ * ctx_.count + ctx_.index);
      // Failures such as POOL_EXHAUSTED or EADDRNOTAVAIL come back at once: pause instead
      // of spinning on them, as a failed accept backs off.
      if (!ok) co_await ctx_.stop.wait_for(failure_pause);
    }
    --running_;
    wake_.notify();
  }

  static constexpr std::chrono::milliseconds failure_pause{10};

  // One connect-echo-close cycle; true when it succeeded.
  asio::awaitable<bool> cycle(std::uint64_t id) {
    auto& s = ctx_.stats;
    const auto& o = ctx_.options;
    ++s.attempted;
    ++s.open;
    const auto start = std::chrono::steady_clock::now();
    auto r = co_await async_connect(pool_, targets_[id % targets_.size()], connect_);
    s.slot_conflicts += r.conflicts;
    if (r.error) {
      --s.open;
      ++s.failed;
      ++s.errors[error_name(r.error)];
      co_return false;
    }
    s.connect_latency.record(std::chrono::steady_clock::now() - start);
    s.connected();
    std::optional<std::string> failure;
    if (o.payload > 0) {
      asio::steady_timer timer(executor_);
      failure = co_await echo_once(r.socket, timer, o.payload, id, 0, o.echo_timeout, s);
    }
    boost::system::error_code ignored; // the cycle's outcome is already decided
    r.socket.close(ignored);
    r.slot.release();
    --s.established;
    --s.open;
    if (failure) {
      ++s.failed;
      ++s.errors[*failure];
      co_return false;
    }
    ++s.ok;
    co_return true;
  }

  worker_context& ctx_;
  source_allocator pool_;
  connect_options connect_;
  std::vector<tcp::endpoint> targets_;
  wakeup wake_; // run() waits for the last cycle loop
  asio::any_io_executor executor_;
  std::chrono::steady_clock::time_point start_, deadline_;
  double rate_ = 0;
  std::uint64_t tickets_ = 0, next_id_ = 0, running_ = 0;
};

} // namespace

asio::awaitable<void> run_churn(worker_context& ctx) {
  churn_worker worker(ctx, co_await asio::this_coro::executor);
  co_await worker.run();
}

} // namespace portpool::load
