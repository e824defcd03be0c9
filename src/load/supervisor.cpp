#include "supervisor.hpp"

#include "worker_process.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <stdexcept>

namespace portpool::load {
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

namespace {

volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_interrupt(int) { interrupted = 1; }

struct worker_slot {
  pid_t pid = -1;
  int from_worker = -1; ///< read end of the worker's report pipe
  int to_worker = -1;   ///< write end of its control pipe
  std::string pending;  ///< bytes after the last newline
  run_stats latest;
  worker_result result;
  bool ramped = false, ready = false, eof = false, reaped = false;
  std::string error;
};

double in_seconds(clock_type::duration d) { return std::chrono::duration<double>(d).count(); }

// The longest the plan may take; past it the parent stops, then kills, the workers.
clock_type::duration plan_bound(const load_options& o) {
  using namespace std::chrono;
  const auto grace = seconds(30);
  const auto io_bound = o.connect_timeout + o.echo_timeout;
  switch (o.mode) {
  case run_mode::hold: {
    const auto share = share_of(o.connections, 0, o.workers);
    const auto in_flight = std::max<std::uint64_t>(1, o.concurrency / o.workers);
    auto ramp = duration_cast<clock_type::duration>(o.connect_timeout) *
                static_cast<std::int64_t>((share + in_flight - 1) / in_flight);
    if (o.rate > 0)
      ramp += duration_cast<clock_type::duration>(
          duration<double>(static_cast<double>(o.connections) / o.rate));
    return ramp + o.duration + io_bound + grace;
  }
  case run_mode::churn: return o.duration + io_bound + grace;
  case run_mode::serve: return o.duration + grace;
  }
  return o.duration + grace;
}

void send_stop(std::vector<worker_slot>& slots) {
  for (auto& s : slots) {
    if (s.to_worker < 0) continue;
    // A worker that already exited leaves EPIPE here, which is fine: it is stopped.
    [[maybe_unused]] const auto n = ::write(s.to_worker, "stop\n", 5);
    ::close(s.to_worker);
    s.to_worker = -1;
  }
}

void handle_line(worker_slot& s, const std::string& line) {
  const auto value = json::parse(line);
  const auto& o = value.as_object();
  const std::string type(o.at("type").as_string());
  if (type == "error") {
    s.error = std::string(o.at("message").as_string());
    return;
  }
  s.latest = run_stats::from_json(o.at("stats").as_object());
  if (type == "ramped") s.ramped = true;
  if (type == "ready") s.ready = true;
  if (type == "final") {
    s.result.stats = s.latest;
    s.result.info = o.at("info").as_object();
    s.result.finished = true;
  }
}

void drain(worker_slot& s) {
  char buf[65536];
  for (;;) {
    const auto n = ::read(s.from_worker, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return; // EAGAIN: nothing more for now
    if (n == 0) {
      s.eof = true;
      ::close(s.from_worker);
      s.from_worker = -1;
      return;
    }
    s.pending.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0, nl;
    while ((nl = s.pending.find('\n', start)) != std::string::npos) {
      try {
        handle_line(s, s.pending.substr(start, nl - start));
      } catch (const std::exception& e) {
        s.error = std::string("unreadable report from worker: ") + e.what();
      }
      start = nl + 1;
    }
    s.pending.erase(0, start);
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::vector<worker_slot> fork_workers(const load_options& o) {
  std::vector<worker_slot> slots(o.workers);
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr); // or buffered output would be printed once per child
  for (unsigned k = 0; k < o.workers; ++k) {
    int up[2], down[2];
    if (::pipe2(up, O_CLOEXEC) != 0 || ::pipe2(down, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string("cannot make worker pipes: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("cannot fork: ") + std::strerror(errno));
    if (pid == 0) {
      // The child keeps only its own pipe ends, so each worker sees EOF when the parent goes.
      for (unsigned j = 0; j < k; ++j) {
        ::close(slots[j].from_worker);
        ::close(slots[j].to_worker);
      }
      ::close(up[0]);
      ::close(down[1]);
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
      const int code = run_worker(o, k, o.workers, up[1], down[0]);
      ::close(up[1]);
      std::exit(code); // runs the sanitizers' leak check in the child as well
    }
    ::close(up[1]);
    ::close(down[0]);
    ::fcntl(up[0], F_SETFL, ::fcntl(up[0], F_GETFL) | O_NONBLOCK);
    slots[k].pid = pid;
    slots[k].from_worker = up[0];
    slots[k].to_worker = down[1];
    slots[k].result.index = k;
  }
  return slots;
}

run_stats sum_latest(const std::vector<worker_slot>& slots) {
  run_stats sum;
  for (const auto& s : slots)
    sum.merge(s.latest);
  return sum;
}

} // namespace

run_report supervise(const load_options& o, std::ostream& out) {
  struct sigaction action {};
  action.sa_handler = on_interrupt; // no SA_RESTART: poll() returns EINTR at once
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  const auto start = clock_type::now();
  auto slots = fork_workers(o);
  run_report report{.mode = o.mode, .workers = o.workers};

  const auto watchdog = start + plan_bound(o);
  bool stop_sent = false, killed = false, announced = false;
  std::optional<clock_type::time_point> all_ramped;
  auto next_progress = start + o.progress;
  auto last_progress = start;
  std::uint64_t last_ok = 0;

  const auto all = [&](auto pred) { return std::all_of(slots.begin(), slots.end(), pred); };
  while (!all([](const worker_slot& s) { return s.eof; })) {
    auto now = clock_type::now();
    auto wake = watchdog + (stop_sent ? std::chrono::seconds(10) : clock_type::duration::zero());
    if (o.progress.count() > 0) wake = std::min(wake, next_progress);
    if (all_ramped && !stop_sent) wake = std::min(wake, *all_ramped + o.duration);
    std::vector<pollfd> fds;
    std::vector<worker_slot*> polled;
    for (auto& s : slots)
      if (!s.eof) {
        fds.push_back({s.from_worker, POLLIN, 0});
        polled.push_back(&s);
      }
    const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
    const int r = ::poll(fds.data(), fds.size(),
                         static_cast<int>(std::clamp<std::int64_t>(wait_ms, 0, 1000)));
    if (r > 0)
      for (std::size_t i = 0; i < fds.size(); ++i)
        if (fds[i].revents != 0) drain(*polled[i]);
    now = clock_type::now();

    if (interrupted && !stop_sent) {
      out << "interrupted: stopping the workers" << std::endl;
      // Serve is meant to end this way; a load run cut short did not do what was asked.
      if (o.mode != run_mode::serve) report.problems.push_back("interrupted by a signal");
      send_stop(slots);
      stop_sent = true;
    }
    const bool failed_worker = std::any_of(slots.begin(), slots.end(), [](const worker_slot& s) {
      return !s.error.empty() || (s.eof && !s.result.finished);
    });
    if (failed_worker && !stop_sent) {
      send_stop(slots); // one worker cannot do its share: end the run for all
      stop_sent = true;
    }
    if (o.mode == run_mode::serve && !announced && !failed_worker &&
        all([](const worker_slot& s) { return s.ready || s.eof; })) {
      announced = true;
      out << "serving";
      for (const auto& l : o.listen)
        out << ' ' << l.to_string();
      out << " with " << o.workers << " worker(s) for " << in_seconds(o.duration) << "s"
          << std::endl;
    }
    if (o.mode == run_mode::hold && !all_ramped && !failed_worker &&
        all([](const worker_slot& s) { return s.ramped || s.eof; })) {
      all_ramped = now;
      report.ramp_seconds = in_seconds(now - start);
      const auto sum = sum_latest(slots);
      report.peak_established = std::max(report.peak_established, sum.established);
      out << "ramp done in " << report.ramp_seconds << "s: " << sum.established << " established, "
          << sum.failed << " failed; holding for " << in_seconds(o.duration) << "s" << std::endl;
    }
    if (all_ramped && !stop_sent && now >= *all_ramped + o.duration) {
      report.hold_seconds = in_seconds(now - *all_ramped);
      send_stop(slots);
      stop_sent = true;
    }
    if (o.progress.count() > 0 && now >= next_progress) {
      const auto sum = sum_latest(slots);
      report.peak_established = std::max(report.peak_established, sum.established);
      out << progress_line(o.mode, in_seconds(now - start), sum, sum.ok - std::min(sum.ok, last_ok),
                           in_seconds(now - last_progress))
          << std::endl;
      last_ok = sum.ok;
      last_progress = now;
      while (next_progress <= now)
        next_progress += o.progress;
    }
    if (now >= watchdog && !stop_sent) {
      report.problems.push_back("the run outlived its plan (" +
                                std::to_string(in_seconds(plan_bound(o))) +
                                "s): workers told to stop");
      send_stop(slots);
      stop_sent = true;
    }
    if (now >= watchdog + std::chrono::seconds(10) && !killed) {
      report.problems.push_back("workers did not stop in time: killed");
      for (auto& s : slots)
        if (!s.eof) ::kill(s.pid, SIGKILL);
      killed = true;
    }
  }
  send_stop(slots); // closes the control pipes that are still open
  report.elapsed_seconds = in_seconds(clock_type::now() - start);

  for (auto& s : slots) {
    int status = 0;
    while (::waitpid(s.pid, &status, 0) < 0 && errno == EINTR) {
    }
    s.result.exit_status = status;
    const std::string who = "worker " + std::to_string(s.result.index) + ": ";
    if (!s.error.empty())
      report.problems.push_back(who + s.error);
    else if (!s.result.finished)
      report.problems.push_back(who + "ended without a result (" + describe_status(status) + ")");
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      report.problems.push_back(who + "reported, then ended with " + describe_status(status));
    // The final figures when there are some, else the last progress seen.
    report.total.merge(s.result.finished ? s.result.stats : s.latest);
    if (!s.result.finished) s.result.stats = s.latest;
    report.per_worker.push_back(std::move(s.result));
  }
  // Hold: every held connection was open at once (all ramped before the stop). Otherwise,
  // without progress samples, the sum of the workers' peaks is the best bound there is.
  if (o.mode == run_mode::hold)
    report.peak_established = std::max(report.peak_established, report.total.held);
  else if (report.peak_established == 0)
    report.peak_established = report.total.peak_established;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return report;
}

} // namespace portpool::load
