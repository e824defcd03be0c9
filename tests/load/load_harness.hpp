#pragma once
// Helpers for portpool-load's tests: run the real binary as a child process (it inherits
// the test's private network namespace) while this process serves sockets, and read the
// JSON report it writes.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace portpool::load_testing {
namespace asio = boost::asio;
using asio::ip::tcp;

/// The portpool-load binary under test (set by CMake from $<TARGET_FILE:portpool-load>).
inline const char* load_binary() { return PORTPOOL_LOAD_BINARY; }

/// A fresh directory for one test's output files, removed at the end.
class scratch_dir {
public:
  scratch_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "portpool-load-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~scratch_dir() {
    std::error_code ignored; // leftovers in /tmp are harmless
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A running portpool-load process with stdout and stderr in files.
class load_process {
public:
  load_process(const scratch_dir& dir, const std::string& name, std::vector<std::string> args)
      : out_(dir.file(name + ".out")), err_(dir.file(name + ".err")) {
    args.insert(args.begin(), load_binary());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&pid_, load_binary(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error(std::string("cannot start ") + load_binary());
  }
  load_process(const load_process&) = delete;
  load_process& operator=(const load_process&) = delete;
  ~load_process() {
    if (!exited_) {
      ::kill(pid_, SIGKILL); // a failed test must not leave it behind
      ::waitpid(pid_, nullptr, 0);
    }
  }

  /// Runs `io` (this process's sockets) until the child exits or `limit` passes (then
  /// kills it and throws). Returns the exit code (128+signal when killed by a signal).
  int wait(asio::io_context& io, std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!exited_) {
      io.run_for(std::chrono::milliseconds(20));
      io.restart();
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("portpool-load did not finish in time; stderr: " + err());
      }
    }
    return code_;
  }
  int wait() {
    asio::io_context idle;
    return wait(idle);
  }
  /// Asks it to stop (SIGTERM), as a user's Ctrl-C would.
  void terminate() { ::kill(pid_, SIGTERM); }

  std::string out() const { return slurp(out_); }
  std::string err() const { return slurp(err_); }

private:
  std::string out_, err_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int code_ = -1;
};

/// The JSON object a --json FILE holds.
inline boost::json::object read_json(const std::string& path) {
  return boost::json::parse(slurp(path)).as_object();
}

inline std::uint64_t number(const boost::json::object& o, const char* key) {
  return o.at(key).to_number<std::uint64_t>();
}

/// Accepts and holds every connection, remembering each peer (source ip, port).
class recording_listener {
public:
  recording_listener(asio::io_context& io, const tcp::endpoint& at) : acceptor_(io, at) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  const std::vector<tcp::endpoint>& peers() const { return peers_; }
  std::set<std::pair<std::string, std::uint16_t>> distinct_peers() const {
    std::set<std::pair<std::string, std::uint16_t>> out;
    for (const auto& p : peers_)
      out.insert({p.address().to_string(), p.port()});
    return out;
  }

private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return; // the io_context is going away
      boost::system::error_code pec;
      const auto peer = socket.remote_endpoint(pec);
      if (!pec) peers_.push_back(peer);
      held_.push_back(std::move(socket));
    }
  }

  tcp::acceptor acceptor_;
  std::vector<tcp::endpoint> peers_;
  std::vector<tcp::socket> held_;
};

/// Echoes every byte with its lowest bit flipped: a broken backend whose echoes a load
/// generator must catch.
class corrupting_echo {
public:
  corrupting_echo(asio::io_context& io, const tcp::endpoint& at) : acceptor_(io, at) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }

private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), echo(std::move(socket)), asio::detached);
    }
  }
  static asio::awaitable<void> echo(tcp::socket s) {
    std::array<char, 4096> buffer;
    for (;;) {
      auto [rec, n] =
          co_await s.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
      if (rec) co_return; // the client closed
      for (std::size_t i = 0; i < n; ++i)
        buffer[i] ^= 1;
      auto [wec, m] = co_await asio::async_write(s, asio::buffer(buffer, n),
                                                 asio::as_tuple(asio::use_awaitable));
      if (wec) co_return;
    }
  }

  tcp::acceptor acceptor_;
};

/// Waits (bounded) until `p` has printed `text` on stdout, e.g. serve's "serving" line.
/// Polling its output file rather than probing the port keeps the probe out of its figures.
inline void wait_for_output(const load_process& p, const std::string& text,
                            std::chrono::seconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (p.out().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("portpool-load never printed \"" + text + "\"; stderr: " + p.err());
    ::usleep(20000);
  }
}

} // namespace portpool::load_testing
