// portpool-watch: the host-wide ephemeral port alarm. Reads the TCP socket table of the
// namespace it runs in, groups it by (local ip, peer ip, peer port) and warns before a
// group runs out of ephemeral ports. See docs/watch.md.
#include "options.hpp"
#include "output_format.hpp"
#include "watch_round.hpp"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <iostream>

namespace {

using namespace portpool::watch;

volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_interrupt(int) { interrupted = 1; }

// With --interval, SIGINT/SIGTERM end the loop after the current round's output instead
// of killing the process half-way through a line.
void catch_interrupts() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0; // no SA_RESTART: the sleep must wake up
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

void sleep_unless_interrupted(std::chrono::milliseconds duration) {
  timespec left{.tv_sec = static_cast<time_t>(duration.count() / 1000),
                .tv_nsec = static_cast<long>(duration.count() % 1000) * 1'000'000};
  while (!interrupted && ::nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

void print_round(const watch_options& o, const watch_round& round, std::size_t number) {
  auto& out = std::cout;
  switch (o.format) {
  case output_format::table:
    if (number > 0) out << (::isatty(STDOUT_FILENO) ? "\033[H\033[2J" : "\n");
    write_table(out, round, o.top);
    break;
  case output_format::nagios: write_nagios(out, round); break;
  case output_format::prometheus: write_prometheus(out, round, o.top); break;
  case output_format::json: write_json(out, round, o.top); break;
  }
  out.flush();
  if (o.verbose) {
    std::cerr << "portpool-watch: source " << to_string(round.source_used);
    if (round.source_used == socket_source::netlink)
      std::cerr << " (" << to_string(round.dump) << " dump)";
    if (!round.fallback_reason.empty())
      std::cerr << " (netlink failed: " << round.fallback_reason << ")";
    std::cerr << ", " << round.report.sockets_seen << " sockets read and "
              << round.report.sockets_counted << " counted in "
              << static_cast<double>(round.scan_time.count()) / 1000.0 << " ms\n";
  }
}

// The exit code when a round could not be taken: UNKNOWN for a check, 1 otherwise.
int failure_exit(const watch_options& o) { return o.format == output_format::nagios ? 3 : 1; }

} // namespace

int main(int argc, char** argv) {
  const auto command = parse_command_line(argc, argv);
  if (!command.options) {
    (command.exit_code == 0 ? std::cout : std::cerr) << command.text << "\n";
    return command.exit_code;
  }
  const auto& o = *command.options;
  if (o.interval) catch_interrupts();

  level_memory memory; // hysteresis across rounds
  int exit_code = 0;
  for (std::size_t round_number = 0;; ++round_number) {
    try {
      const auto round = take_round(o.round, &memory);
      print_round(o, round, round_number);
      exit_code = o.format == output_format::nagios ? nagios_exit_code(round) : 0;
    } catch (const std::exception& e) {
      if (o.format == output_format::nagios)
        std::cout << "PORTPOOL-WATCH UNKNOWN - " << e.what() << std::endl;
      else
        std::cerr << "portpool-watch: " << e.what() << std::endl;
      exit_code = failure_exit(o);
    }
    if (!o.interval || interrupted) break;
    if (o.count && round_number + 1 >= *o.count) break;
    sleep_unless_interrupted(*o.interval);
    if (interrupted) break;
  }
  return exit_code;
}
