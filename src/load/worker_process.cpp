#include "worker_process.hpp"

#include "churn.hpp"
#include "hold.hpp"
#include "serve.hpp"
#include "worker_context.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>

namespace portpool::load {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Writes all of `line`; the parent reads continuously, so this blocks only briefly. A
// vanished parent (EPIPE) is ignored: there is nobody left to tell.
void write_line(int fd, std::string line) {
  line += '\n';
  std::size_t done = 0;
  while (done < line.size()) {
    const auto n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

asio::awaitable<void> run_chosen_mode(worker_context& ctx) {
  switch (ctx.options.mode) {
  case run_mode::hold: co_await run_hold(ctx); break;
  case run_mode::churn: co_await run_churn(ctx); break;
  case run_mode::serve: co_await run_serve(ctx); break;
  }
}

asio::awaitable<void> progress_loop(worker_context& ctx, stop_event& finished) {
  // co_await kept out of conditions: g++ 12 miscompiles some of those.
  for (;;) {
    const bool done = co_await finished.wait_for(ctx.options.progress);
    if (done) break;
    ctx.tell_parent("progress");
  }
}

} // namespace

int run_worker(const load_options& options, unsigned index, unsigned count, int to_parent,
               int from_parent) {
  const auto tell = [&](std::string_view type, json::object body) {
    body["type"] = type;
    body["worker"] = index;
    write_line(to_parent, json::serialize(body));
  };
  try {
    asio::io_context io(1);
    stop_event stop(io.get_executor());
    stop_event finished(io.get_executor());
    worker_context ctx{.options = options, .index = index, .count = count, .stop = stop};
    ctx.tell_parent = [&](std::string_view type) {
      if (type != "final") ctx.stats.rss_kb = current_rss_kb();
      tell(type, {{"stats", ctx.stats.to_json()}});
    };

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int) {
      if (!ec) stop.fire();
    });
    asio::posix::stream_descriptor control(io, from_parent);
    char byte = 0;
    control.async_read_some(asio::buffer(&byte, 1),
                            [&](boost::system::error_code, std::size_t) { stop.fire(); });

    std::exception_ptr failure;
    asio::co_spawn(io, run_chosen_mode(ctx), [&](std::exception_ptr e) {
      failure = e;
      finished.fire();
      stop.fire();
      signals.cancel();
      boost::system::error_code ignored; // only its pending read matters, and that ends
      control.close(ignored);
    });
    if (options.progress.count() > 0)
      asio::co_spawn(io, progress_loop(ctx, finished), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
    try {
      io.run();
    } catch (const std::exception& e) {
      // A coroutine spawned by a mode threw (a bug, or out of memory): suspended
      // coroutines still hold references to the objects above, so unwinding through them
      // is not safe. Report and leave at once.
      tell("error", {{"message", e.what()}});
      std::_Exit(1);
    }
    if (failure) std::rethrow_exception(failure);
    tell("final", {{"stats", ctx.stats.to_json()}, {"info", ctx.info}});
    return 0;
  } catch (const std::exception& e) {
    tell("error", {{"message", e.what()}});
    return 1;
  }
}

} // namespace portpool::load
