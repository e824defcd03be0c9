#pragma once
// Runs the portpool-watch binary as a child (it inherits the test's private namespace)
// and captures its exit code, stdout and stderr.

#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace portpool::watch::testing {

struct run_result {
  int exit_code = -1;
  std::string out;
  std::string err;
  /// stdout split into lines, without the newlines.
  std::vector<std::string> out_lines() const {
    std::vector<std::string> lines;
    std::string::size_type start = 0;
    while (start < out.size()) {
      const auto end = out.find('\n', start);
      lines.push_back(out.substr(start, end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return lines;
  }
};

namespace detail {

// pread, not read: the child shares the file offset of this descriptor (dup2), so
// moving it would make the child write over its own output.
inline std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    const auto got = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(text.size()));
    if (got <= 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  return text;
}

} // namespace detail

/// Runs PORTPOOL_WATCH_BINARY with `args`; kills it and throws after `limit`. With
/// `interrupt_after_lines`, sends it SIGINT once its stdout holds that many lines.
inline run_result run_watch(const std::vector<std::string>& args,
                            std::chrono::seconds limit = std::chrono::seconds(30),
                            std::optional<std::size_t> interrupt_after_lines = std::nullopt) {
  std::vector<std::string> all{PORTPOOL_WATCH_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  // Anonymous files, so concurrent test processes never share a path.
  const int out_fd = ::memfd_create("watch-stdout", MFD_CLOEXEC);
  const int err_fd = ::memfd_create("watch-stderr", MFD_CLOEXEC);
  if (out_fd < 0 || err_fd < 0) throw std::runtime_error("memfd_create failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  pid_t pid = 0;
  const int error = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    ::close(out_fd);
    ::close(err_fd);
    throw std::runtime_error(std::string("cannot run ") + argv[0]);
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (interrupt_after_lines) {
      const auto text = detail::read_all(out_fd);
      if (static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) >=
          *interrupt_after_lines) {
        ::kill(pid, SIGINT);
        interrupt_after_lines.reset();
      }
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ::close(out_fd);
      ::close(err_fd);
      throw std::runtime_error("portpool-watch did not finish in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  run_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = detail::read_all(out_fd);
  r.err = detail::read_all(err_fd);
  ::close(out_fd);
  ::close(err_fd);
  return r;
}

} // namespace portpool::watch::testing
