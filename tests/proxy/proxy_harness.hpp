#pragma once
// Helpers for the proxy's namespace tests: the proxy binary and echo backends as child
// processes (each with its own open-file budget), clients bound to their own source
// addresses, and a Beast client for the admin endpoint.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace portpool::proxy_testing {
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto token = asio::as_tuple(asio::use_awaitable);

/// A child process; killed (SIGKILL) and reaped on destruction unless waited for.
class child_process {
public:
  child_process() = default;
  explicit child_process(pid_t pid) : pid_(pid) {}
  child_process(child_process&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
  child_process& operator=(child_process&& o) noexcept {
    std::swap(pid_, o.pid_);
    return *this;
  }
  ~child_process() { kill(SIGKILL); }

  pid_t pid() const { return pid_; }
  /// Sends `signal` and, for SIGKILL, reaps the child.
  void kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    if (signal == SIGKILL) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  /// Waits up to `limit` for the child to exit; its exit status, or -1 on timeout
  /// (the child is then killed).
  int wait_exit(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      const auto r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    kill(SIGKILL);
    return -1;
  }

private:
  pid_t pid_ = -1;
};

/// Runs `binary` with `args`, standard output and error into `log_path`.
inline child_process spawn(const std::string& binary, const std::vector<std::string>& args,
                           const std::string& log_path) {
  std::vector<std::string> all{binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  return child_process(pid);
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline std::size_t count_lines_with(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

inline asio::awaitable<void> echo_connection(tcp::socket socket) {
  std::array<char, 16384> buffer;
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), token);
    if (ec == asio::error::eof) {
      // The client half-closed: say goodbye after its bytes, as a polite server does.
      boost::system::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (ec) co_return;
    auto [wec, w] = co_await asio::async_write(socket, asio::buffer(buffer.data(), n), token);
    if (wec) co_return;
  }
}

// Reads everything until the client's FIN, then answers "got N bytes: <upper-cased>" and
// closes: it answers only if the proxy passes the half-close on.
inline asio::awaitable<void> reply_after_eof_connection(tcp::socket socket) {
  std::string all;
  std::array<char, 4096> buffer;
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), token);
    if (ec == asio::error::eof) break;
    if (ec) co_return;
    all.append(buffer.data(), n);
  }
  for (auto& ch : all)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const auto reply = "got " + std::to_string(all.size()) + " bytes: " + all;
  co_await asio::async_write(socket, asio::buffer(reply), token);
}

enum class backend_kind { echo, reply_after_eof };

inline asio::awaitable<void> echo_accept(tcp::acceptor& acceptor, backend_kind kind) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(token);
    if (ec) co_return;
    if (kind == backend_kind::echo)
      asio::co_spawn(acceptor.get_executor(), echo_connection(std::move(socket)), asio::detached);
    else
      asio::co_spawn(acceptor.get_executor(), reply_after_eof_connection(std::move(socket)),
                     asio::detached);
  }
}

/// An echo server on 127.0.0.1:`port` in a child process (fork; call it before this
/// process starts threads). Killing it closes its connections as a crash does.
inline child_process spawn_echo_backend(std::uint16_t port,
                                        backend_kind kind = backend_kind::echo) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    try {
      asio::io_context io;
      tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
      asio::co_spawn(io, echo_accept(acceptor, kind), asio::detached);
      io.run();
    } catch (...) {
    }
    ::_exit(0);
  }
  return child_process(pid);
}

/// Waits until something accepts on 127.0.0.1:`port`; throws after `limit`.
inline void wait_for_port(std::uint16_t port, std::chrono::milliseconds limit = 10s) {
  asio::io_context io;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    tcp::socket s(io);
    boost::system::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (!ec) {
      // Close with RST: a TIME_WAIT here would hold one of the namespace's 300 ports
      // toward a backend and skew the counts the tests check.
      s.set_option(asio::socket_base::linger(true, 0), ec);
      s.close(ec);
      return;
    }
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error("nothing listens on port " + std::to_string(port));
}

/// One GET against the admin endpoint: {status, body}.
inline std::pair<unsigned, std::string> http_get(std::uint16_t port, const std::string& target) {
  namespace http = boost::beast::http;
  asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.expires_after(5s);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {res.result_int(), res.body()};
}

inline boost::json::value get_stats(std::uint16_t admin_port) {
  auto [status, body] = http_get(admin_port, "/stats");
  if (status != 200) throw std::runtime_error("/stats answered " + std::to_string(status));
  return boost::json::parse(body);
}

inline std::uint64_t json_u64(const boost::json::value& v) { return v.to_number<std::uint64_t>(); }

/// The value of one Prometheus sample line "name{labels} value"; throws if absent.
inline double metric(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) throw std::runtime_error("no metric " + series);
  return std::stod(text.substr(at + series.size() + 2));
}

/// A client's fate.
struct client {
  tcp::socket socket;
  bool echoed = false; ///< every byte came back intact
  bool closed = false; ///< the proxy closed it (EOF or reset) before the echo
  std::string failure; ///< anything else that went wrong
  std::chrono::milliseconds took{0};
};

/// Client `i`'s source: 127.0.1.(1 + i / 1000) port 30000 + i % 1000, outside both the
/// namespace's ephemeral range and the proxy's pool ports.
inline tcp::endpoint client_source(std::size_t i) {
  return {asio::ip::make_address_v4(0x7f000100u + 1u + static_cast<unsigned>(i / 1000)),
          static_cast<std::uint16_t>(30000 + i % 1000)};
}

inline std::string client_message(std::size_t i, std::size_t size) {
  std::string m = "client " + std::to_string(i) + " ";
  while (m.size() < size)
    m += static_cast<char>('a' + (m.size() * 7 + i) % 26);
  m.resize(size);
  return m;
}

/// Sends client_message(i, size) on a connected client and reads it back; sets echoed
/// or closed or failure.
inline asio::awaitable<void> exchange(client& c, std::size_t i, std::size_t size) {
  using namespace asio::experimental::awaitable_operators;
  c.echoed = c.closed = false;
  const auto message = client_message(i, size);
  auto [wec, w] = co_await asio::async_write(c.socket, asio::buffer(message), token);
  if (wec) {
    c.closed = true; // reset by the proxy before we wrote
    co_return;
  }
  std::string back(size, '\0');
  asio::steady_timer deadline(c.socket.get_executor(), 20s);
  auto outcome = co_await (asio::async_read(c.socket, asio::buffer(back), token) ||
                           deadline.async_wait(token));
  if (outcome.index() == 1) {
    c.failure = "no echo within 20s";
    co_return;
  }
  const auto [rec, n] = std::get<0>(outcome);
  if (rec == asio::error::eof || rec == asio::error::connection_reset ||
      rec == asio::error::broken_pipe) {
    c.closed = true;
    boost::system::error_code ignored; // a real client closes on EOF too
    c.socket.close(ignored);
    co_return;
  }
  if (rec)
    c.failure = "read: " + rec.message();
  else if (back != message)
    c.failure = "echo differs";
  else
    c.echoed = true;
}

/// Connects from client_source(i) to the proxy, sends `size` bytes and reads them back.
inline asio::awaitable<void> echo_once(client& c, std::size_t i, tcp::endpoint proxy,
                                       std::size_t size) {
  using namespace asio::experimental::awaitable_operators;
  const auto start = std::chrono::steady_clock::now();
  auto finish = [&] {
    c.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
  };
  boost::system::error_code ec;
  c.socket.open(tcp::v4(), ec);
  if (!ec) c.socket.set_option(tcp::socket::reuse_address(true), ec);
  if (!ec) c.socket.bind(client_source(i), ec);
  if (ec) {
    c.failure = "bind: " + ec.message();
    co_return;
  }
  auto [cec] = co_await c.socket.async_connect(proxy, token);
  if (cec) {
    c.failure = "connect: " + cec.message();
    co_return;
  }
  co_await exchange(c, i, size);
  finish();
}

/// Clients sharing one io_context (run on the calling thread only while run() runs).
struct client_fleet {
  asio::io_context io;
  std::list<client> clients;

  /// Starts `count` clients at once (ids first..first+count-1) and runs them to the end
  /// of their echo; the echoing ones stay connected.
  void run(std::size_t first, std::size_t count, tcp::endpoint proxy, std::size_t size,
           std::chrono::seconds limit = 60s) {
    io.restart(); // an earlier run() left it stopped when it ran out of work
    std::size_t done = 0;
    for (std::size_t i = first; i < first + count; ++i) {
      auto& c = clients.emplace_back(client{tcp::socket(io)});
      asio::co_spawn(io, echo_once(c, i, proxy, size), [&](std::exception_ptr) { ++done; });
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (done < count && std::chrono::steady_clock::now() < deadline)
      io.run_one_for(100ms);
    if (done < count) throw std::runtime_error("clients did not finish in time");
  }
  /// Runs another exchange on every client that echoed so far.
  void exchange_again(std::size_t size, std::chrono::seconds limit = 60s) {
    io.restart(); // run() left it stopped when it ran out of work
    std::size_t started = 0, done = 0, i = 0;
    for (auto& c : clients) {
      if (c.echoed) {
        ++started;
        asio::co_spawn(io, exchange(c, i, size), [&](std::exception_ptr) { ++done; });
      }
      ++i;
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (done < started && std::chrono::steady_clock::now() < deadline)
      io.run_one_for(100ms);
    if (done < started) throw std::runtime_error("clients did not finish in time");
  }
  std::size_t echoed() const {
    std::size_t n = 0;
    for (const auto& c : clients)
      n += c.echoed;
    return n;
  }
  std::size_t closed() const {
    std::size_t n = 0;
    for (const auto& c : clients)
      n += c.closed;
    return n;
  }
  std::string first_failure() const {
    for (const auto& c : clients)
      if (!c.failure.empty()) return c.failure;
    return {};
  }
  void close_all() {
    for (auto& c : clients) {
      boost::system::error_code ignored; // already closed by the proxy, some of them
      c.socket.close(ignored);
    }
  }
};

/// Polls `condition` every 50 ms for up to `limit`.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

} // namespace portpool::proxy_testing
