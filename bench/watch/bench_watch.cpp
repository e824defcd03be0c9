// Scan-and-group speed of portpool-watch against `ss -tan | awk` (the seed's alarm done
// with standard tools), on a large TIME_WAIT table.
//
// In a private network namespace (tcp_tw_reuse=0, range 10000-60999) it makes N
// connections over 4 source addresses x 4 destinations, closing the client first so the
// client side keeps TIME_WAIT (no descriptor: the 20,000-fd limit is never near), then
// times, R times each and in alternation: the whole portpool-watch process (netlink, and
// --source proc), the whole `ss | awk | sort` pipeline, `ss -tan` alone (all writing to
// /dev/null), the watch's scan and group in this process, and the kernel's walk with
// nothing copied (the floor for any sock_diag tool). Wall and CPU time, medians. TIME_WAIT lasts 60
// s, so set-up and measurement must fit in that window; the program checks that the table still
// holds the sockets after the last run.
//
// Usage: portpool-bench-watch [--sockets N] [--runs R] [--watch PATH] [--shell CMD]
// --shell CMD runs `sh -c CMD` in the namespace after set-up, instead of the timings, to
// try other tools on the same table.
#include "netns.hpp"
#include "portpool/detail/text.hpp"
#include "socket_scan.hpp"
#include "watch_round.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace {

using clock_type = std::chrono::steady_clock;
using namespace portpool;

constexpr std::uint16_t range_low = 10000, range_high = 60999;
constexpr int sources = 4, destinations = 4;
constexpr std::uint16_t first_destination_port = 8080;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_in v4(const char* ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

int make_listener(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto at = v4("127.0.0.1", port);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0 ||
      ::listen(fd, 1024) != 0)
    fail("listener on 127.0.0.1:" + std::to_string(port));
  return fd;
}

// One connection from 127.0.0.(2+source) to listener `destination`, closed client first.
void one_time_wait(int listener, int source, int destination) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  const int one = 1;
  // The port is chosen at connect() for the whole 4-tuple, so the 4 sources share ports.
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  const std::string source_ip = "127.0.0." + std::to_string(2 + source);
  const auto from = v4(source_ip.c_str(), 0);
  const auto to = v4("127.0.0.1", static_cast<std::uint16_t>(first_destination_port + destination));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0) fail("bind");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) fail("connect");
  const int accepted = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (accepted < 0) fail("accept");
  ::close(fd);       // client FIN first: the client side ends in TIME_WAIT
  ::close(accepted); // server answers FIN, then leaves after the final ACK
}

// Wall time, and CPU time (user + system) including every descendant waited for, so a
// shell pipeline counts all its stages. CPU time is the steadier figure on a shared
// machine: it does not grow when another process holds the core.
struct timing {
  double wall_s = 0;
  double cpu_s = 0;
};

double cpu_seconds(int who) {
  rusage usage{};
  ::getrusage(who, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Runs argv with stdout to /dev/null and times it from spawn to exit.
timing time_process(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  const auto cpu_before = cpu_seconds(RUSAGE_CHILDREN);
  const auto start = clock_type::now();
  pid_t pid = 0;
  const int error = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    errno = error;
    fail("posix_spawn " + args[0]);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  const timing t{std::chrono::duration<double>(clock_type::now() - start).count(),
                 cpu_seconds(RUSAGE_CHILDREN) - cpu_before};
  // nagios exit codes 0-2 are verdicts; anything else is a failed run
  if (!WIFEXITED(status) || WEXITSTATUS(status) > 2)
    throw std::runtime_error(args[0] + " failed (status " + std::to_string(status) + ")");
  return t;
}

// The least any sock_diag tool pays: the same one-walk dump as portpool-watch, with a
// bytecode filter that rejects every socket (one jump past the end), so the kernel walks
// its hash and copies nothing. Returns this process's CPU time for it.
double kernel_walk_floor() {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) fail("socket(AF_NETLINK)");
  struct {
    nlmsghdr header;
    inet_diag_req request;
    nlattr filter;
    inet_diag_bc_op reject_all;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = TCPDIAG_GETSOCK;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.request.idiag_family = AF_INET;
  message.request.idiag_states = 0x1fff; // as portpool-watch: every state but BOUND_INACTIVE
  message.filter.nla_len = sizeof message.filter + sizeof message.reject_all;
  message.filter.nla_type = INET_DIAG_REQ_BYTECODE;
  message.reject_all = {.code = INET_DIAG_BC_JMP, .yes = 4, .no = 8};
  const auto before = cpu_seconds(RUSAGE_SELF);
  if (::send(fd, &message, sizeof message, 0) < 0) fail("send");
  std::vector<std::uint32_t> buffer(16 * 1024);
  for (bool done = false; !done;) {
    const auto got = ::recv(fd, buffer.data(), buffer.size() * sizeof buffer[0], 0);
    if (got <= 0) fail("recv");
    auto left = static_cast<unsigned>(got);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buffer.data()); NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left))
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) done = true;
  }
  ::close(fd);
  return cpu_seconds(RUSAGE_SELF) - before;
}

} // namespace

int main(int argc, char** argv) {
  std::size_t sockets = 100'000, runs = 7;
  std::string watch = PORTPOOL_WATCH_BINARY;
  std::string shell;
  const auto usage = [] {
    std::cerr << "usage: portpool-bench-watch [--sockets N] [--runs R] [--watch PATH] "
                 "[--shell CMD]\n";
    return 2;
  };
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "portpool-bench-watch: " << flag << " needs a value\n";
      return usage();
    }
    const std::string value = argv[i + 1];
    const auto number = portpool::detail::parse_unsigned(value);
    if ((flag == "--sockets" || flag == "--runs") &&
        (!number || *number == 0 || *number > 1'000'000)) {
      std::cerr << "portpool-bench-watch: bad " << flag << " \"" << value
                << "\": a whole number from 1 to 1000000\n";
      return 2;
    }
    if (flag == "--sockets")
      sockets = static_cast<std::size_t>(*number);
    else if (flag == "--runs")
      runs = static_cast<std::size_t>(*number);
    else if (flag == "--watch")
      watch = value;
    else if (flag == "--shell")
      shell = value;
    else {
      std::cerr << "portpool-bench-watch: unknown option " << flag << "\n";
      return usage();
    }
  }
  try {
    tools::enter_private_netns_with_range(range_low, range_high);
    tools::write_sysctl("net/ipv4/tcp_tw_reuse", "0");
    tools::write_sysctl("net/ipv4/tcp_max_tw_buckets", std::to_string(sockets + 10'000));

    std::vector<int> listeners;
    for (int d = 0; d < destinations; ++d)
      listeners.push_back(make_listener(static_cast<std::uint16_t>(first_destination_port + d)));
    const auto setup_start = clock_type::now();
    const auto setup_limit = std::chrono::seconds(40); // TIME_WAIT lasts 60 s
    std::size_t made = 0;
    for (; made < sockets && clock_type::now() - setup_start < setup_limit; ++made) {
      const int d = static_cast<int>((made / sources) % destinations);
      one_time_wait(listeners[static_cast<std::size_t>(d)], static_cast<int>(made % sources), d);
    }
    const double setup_s = std::chrono::duration<double>(clock_type::now() - setup_start).count();
    std::cout << "made " << made << " TIME_WAIT sockets in " << setup_s << " s"
              << (made < sockets ? " (set-up time limit reached)" : "") << "\n";

    // The watch's own view: all of them must be counted, or the timing compares nothing.
    const auto check = [&] {
      const auto round = watch::take_round({.source = watch::socket_source::netlink});
      return round.report.sockets_counted;
    };
    const auto counted_before = check();
    std::cout << "portpool-watch counts " << counted_before << " sockets in range\n";
    if (!shell.empty()) {
      std::cout.flush();
      return std::system(shell.c_str()) == 0 ? 0 : 1;
    }

    const std::string awk_program =
        "NR > 1 && $1 != \"LISTEN\" { n = split($4, a, \":\"); p = a[n];"
        " if (p >= lo && p <= hi) { g[substr($4, 1, length($4) - length(p) - 1) \" \" $5]++ } }"
        " END { for (k in g) print g[k], k }";
    const std::string pipeline = "ss -tan | awk -v lo=" + std::to_string(range_low) +
                                 " -v hi=" + std::to_string(range_high) + " '" + awk_program +
                                 "' | sort -rn | head -n 10";
    std::vector<timing> watch_netlink, watch_proc, ss_awk, ss_alone, in_process, floor;
    for (std::size_t r = 0; r < runs; ++r) { // alternate, so load changes hit all alike
      watch_netlink.push_back(time_process({watch, "--format", "nagios", "--source", "netlink"}));
      watch_proc.push_back(time_process({watch, "--format", "nagios", "--source", "proc"}));
      ss_awk.push_back(time_process({"/bin/sh", "-c", pipeline}));
      ss_alone.push_back(time_process({"/bin/sh", "-c", "ss -tan"}));
      floor.push_back({0, kernel_walk_floor()});
      const auto cpu_before = cpu_seconds(RUSAGE_SELF);
      const auto start = clock_type::now();
      (void)check();
      in_process.push_back({std::chrono::duration<double>(clock_type::now() - start).count(),
                            cpu_seconds(RUSAGE_SELF) - cpu_before});
    }
    const auto counted_after = check();
    std::cout << "portpool-watch counts " << counted_after << " sockets in range after the runs"
              << (counted_after + counted_after / 100 < made ? " (TIME_WAIT expired: rerun)" : "")
              << "\n";
    const auto median = [](const std::vector<timing>& v, double timing::*field) {
      std::vector<double> values;
      for (const auto& t : v)
        values.push_back(t.*field);
      std::sort(values.begin(), values.end());
      return values[values.size() / 2];
    };
    const auto line = [&](const char* name, const std::vector<timing>& v) {
      const auto wall = median(v, &timing::wall_s), cpu = median(v, &timing::cpu_s);
      const auto ref_wall = median(ss_awk, &timing::wall_s);
      const auto ref_cpu = median(ss_awk, &timing::cpu_s);
      std::cout << name << "_s=" << wall << " ss_awk_s=" << ref_wall
                << " speedup=" << ref_wall / wall << "   " << name << "_cpu_s=" << cpu
                << " ss_awk_cpu_s=" << ref_cpu << " cpu_speedup=" << ref_cpu / cpu << "\n";
    };
    std::cout << "sockets=" << counted_before << " runs=" << runs << " (medians)\n";
    line("watch", watch_netlink);
    line("watch_proc_source", watch_proc);
    line("watch_in_process", in_process);
    line("ss_alone", ss_alone);
    std::cout << "kernel_walk_floor_cpu_s=" << median(floor, &timing::cpu_s)
              << " (one-walk dump that copies nothing: no sock_diag tool can go below it)\n";
    for (int fd : listeners)
      ::close(fd);
  } catch (const std::exception& e) {
    std::cerr << "portpool-bench-watch: " << e.what() << "\n";
    return 1;
  }
}
