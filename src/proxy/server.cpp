#include "server.hpp"

#include "admin.hpp"
#include "alerts.hpp"
#include "health.hpp"
#include "listener.hpp"
#include "runtime.hpp"
#include "session.hpp"
#include "startup_report.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <thread>

namespace portpool::proxy {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::size_t open_file_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return 1u << 20;
  return static_cast<std::size_t>(r.rlim_cur);
}

std::unique_ptr<source_allocator> make_allocator(const proxy_config& c) {
  if (c.mode == source_mode::pool)
    return std::make_unique<source_allocator>(allocator_options{.sources = c.sources,
                                                                .ports = c.ports,
                                                                .slice = c.slice,
                                                                .thresholds = c.thresholds,
                                                                .on_alert = log_alert});
  // Kernel mode never leases, but async_connect takes a pool: a one-slot placeholder.
  return std::make_unique<source_allocator>(allocator_options{
      .sources = address_pool::parse("127.0.0.1"), .ports = port_set::range(65535, 65535)});
}

std::shared_ptr<spdlog::logger> make_access_log(const std::string& where) {
  if (where.empty()) return nullptr;
  std::shared_ptr<spdlog::logger> log;
  try {
    log = where == "-" ? spdlog::stdout_logger_mt("access")
                       : spdlog::basic_logger_mt("access", where);
  } catch (const spdlog::spdlog_ex& e) {
    throw std::runtime_error("cannot open --access-log \"" + where + "\": " + e.what());
  }
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %v");
  log->flush_on(spdlog::level::info);
  return log;
}

} // namespace

int run_proxy(proxy_config config) {
  auto shared = std::make_unique<shared_state>(std::move(config));
  const auto& c = shared->config;
  shared->allocator = make_allocator(c); // throws bad_input (e.g. a partition with no ports)
  shared->connect = {.mode = c.mode, .timeout = c.connect_timeout};
  shared->source_up = std::make_unique<std::atomic<bool>[]>(c.sources.size());
  for (std::size_t i = 0; i < c.sources.size(); ++i)
    shared->source_up[i] = true;
  try {
    shared->kernel_range = read_ephemeral_range();
  } catch (const std::exception& e) {
    spdlog::warn("cannot read the kernel's ephemeral range, assuming {}-{}: {}",
                 shared->kernel_range.low, shared->kernel_range.high, e.what());
  }
  shared->kernel_limits = usage_limits::for_capacity(shared->kernel_range.size(), c.thresholds);
  const auto fd_limit = open_file_limit();
  const auto fd_maxconn = fd_limit > 128 ? (fd_limit - 64) / 2 : 32;
  shared->maxconn = c.maxconn ? c.maxconn : fd_maxconn;
  shared->access_log = make_access_log(c.access_log);
  log_startup_report(*shared, fd_limit);

  // SIGTERM/SIGINT are caught from before the first port opens: a signal that comes as
  // soon as a port answers drains rather than kills (and the signal pipe Asio makes is
  // open before anyone can count the proxy's descriptors).
  asio::io_context control(1);
  asio::signal_set signals(control, SIGINT, SIGTERM);

  // Bind everything before serving anything, so a bad address starts nothing.
  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned i = 0; i < c.threads; ++i) {
    auto w = std::make_unique<worker>(*shared, i);
    for (const auto& at : c.listen)
      w->acceptors.push_back(open_acceptor(*w, at));
    workers.push_back(std::move(w));
  }
  std::unique_ptr<admin_server> admin;
  if (c.admin) admin = std::make_unique<admin_server>(control, *shared, *c.admin);
  health_checker health(control, *shared);
  if (c.health_interval.count() > 0) health.start();

  for (auto& w : workers)
    for (auto& a : w->acceptors)
      asio::co_spawn(w->io, accept_loop(*w, a), asio::detached);
  std::vector<std::thread> threads;
  for (auto& w : workers)
    threads.emplace_back([&io = w->io] { io.run(); });
  std::string listening;
  for (const auto& l : c.listen)
    listening += (listening.empty() ? "" : ", ") + l.to_string();
  spdlog::info("listening on {} ({} mode){}", listening, to_string(c.mode),
               c.admin ? ", admin on http://" + c.admin->to_string() + "/metrics" : std::string());

  // Drain: stop accepting, wait for clients to leave up to --drain-timeout, then close
  // the rest. A second signal closes them at once.
  asio::steady_timer drain_timer(control);
  std::chrono::steady_clock::time_point drain_deadline;
  auto close_sessions = [&] {
    for (auto& w : workers)
      asio::post(w->io, [&w = *w] {
        w.sessions.for_each([](session_list::hook& h) { static_cast<session&>(h).abort(); });
      });
  };
  // After the sessions are told to close, give connects in flight up to their deadline
  // to notice, then stop the workers whatever is left.
  std::chrono::steady_clock::time_point stop_deadline;
  bool closing = false;
  auto stop_workers = [&] {
    health.stop();
    if (admin) admin->stop();
    signals.cancel();
    for (auto& w : workers)
      w->io.stop();
  };
  std::function<void()> wait_for_drain = [&] {
    const auto left = load(shared->counters.clients_active);
    const auto now = std::chrono::steady_clock::now();
    if (left == 0) return stop_workers();
    if (!closing && now >= drain_deadline) {
      spdlog::warn("drain timeout: closing {} connections still open", left);
      close_sessions();
      closing = true;
      stop_deadline = now + c.connect_timeout + 1s;
    } else if (closing && now >= stop_deadline) {
      spdlog::warn("{} connections did not close in time; stopping anyway", left);
      return stop_workers();
    }
    drain_timer.expires_after(50ms);
    drain_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) wait_for_drain();
    });
  };
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec,
                                                                      int signal) {
    if (ec) return; // cancelled at the end of the drain
    if (shared->draining.exchange(true)) {
      spdlog::warn("signal {} again: closing every connection now", signal);
      drain_deadline = std::chrono::steady_clock::now();
    } else {
      drain_deadline = std::chrono::steady_clock::now() + c.drain_timeout;
      spdlog::info("signal {}: draining: stopped accepting, {} connections open, waiting "
                   "up to {}",
                   signal, load(shared->counters.clients_active), format_duration(c.drain_timeout));
      for (auto& w : workers)
        asio::post(w->io, [&w = *w] {
          for (auto& a : w.acceptors)
            accept_backlog_and_close(w, a);
        });
      wait_for_drain();
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  // The control thread serves admin and health until the workers are done.
  std::thread control_thread([&] { control.run(); });
  for (auto& t : threads)
    t.join();
  control.stop(); // admin keep-alive connections would otherwise hold it
  control_thread.join();
  spdlog::info("drained: {} connections served, {} clients refused for want of a backend; "
               "exiting",
               load(shared->counters.clients_total), load(shared->counters.clients_failed));
  return 0;
}

} // namespace portpool::proxy
