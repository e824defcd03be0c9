#pragma once
// The fault matrix's tools: portpool-proxy as a black-box child process, backends that
// misbehave on purpose (in this process, on their own thread), blocking clients with
// deadlines, and the after-every-fault check (leases back to 0, descriptors back to the
// baseline, a fresh client served).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace portpool::reliability {
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

/// Polls `condition` every 50 ms for up to `limit`; its last answer.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline std::size_t count_occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++n;
  return n;
}

// ---------------------------------------------------------------------------------------
// The proxy process.

/// portpool-proxy running as a child: stdout and stderr go to `log`, the admin endpoint
/// on 127.0.0.1:9900. Killed (SIGKILL) and reaped on destruction unless it exited.
class proxy_process {
public:
  static constexpr std::uint16_t admin_port = 9900;
  static constexpr std::uint16_t listen_port = 8000;

  /// Starts the proxy with `args` (plus --listen/--admin); `nofile` caps its open-file
  /// limit (setrlimit in the child before exec). Waits until /stats answers.
  proxy_process(std::vector<std::string> args, std::string log,
                std::optional<rlim_t> nofile = std::nullopt)
      : log_(std::move(log)) {
    std::vector<std::string> all{PORTPOOL_PROXY_BINARY, "--listen", "127.0.0.1:8000", "--admin",
                                 "127.0.0.1:9900"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    // Everything the child needs is prepared before fork: this process has threads, so
    // the child calls only async-signal-safe functions before exec.
    const rlimit limit{nofile.value_or(0), nofile.value_or(0)};
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      if (nofile && ::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(126);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    if (!eventually([&] { return admin_answers(); }, 10s))
      throw std::runtime_error("the proxy's admin endpoint never answered; log:\n" + log_text());
  }
  proxy_process(const proxy_process&) = delete;
  proxy_process& operator=(const proxy_process&) = delete;
  ~proxy_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  pid_t pid() const { return pid_; }
  std::string log_text() const { return read_text(log_); }
  void signal(int sig) const { ::kill(pid_, sig); }

  /// Waits up to `limit` for the exit; its status (128+signal when killed), or -1.
  int wait_exit(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

  /// One GET on the admin endpoint: {status, body}. Throws when it cannot connect.
  static std::pair<unsigned, std::string> http_get(const std::string& target) {
    namespace http = boost::beast::http;
    asio::io_context io;
    boost::beast::tcp_stream stream(io);
    stream.expires_after(5s);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), admin_port));
    // expires_after() bounds only asynchronous calls: bound the blocking ones too (a proxy
    // out of descriptors leaves this connection in its backlog, unanswered).
    const timeval limit{5, 0};
    ::setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    boost::system::error_code ignored; // the answer is in; how the close goes does not matter
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return {res.result_int(), res.body()};
  }
  static bool admin_answers() {
    try {
      return http_get("/stats").first == 200;
    } catch (const std::exception&) {
      return false;
    }
  }
  boost::json::object stats() const {
    return boost::json::parse(http_get("/stats").second).as_object();
  }
  std::string metrics() const { return http_get("/metrics").second; }

  /// Sum of `used` (leases in use) over every backend.
  std::uint64_t leases_in_use() const {
    std::uint64_t n = 0;
    const auto all = stats(); // kept alive: the loop below walks into it
    for (const auto& d : all.at("destinations").as_array())
      n += d.at("used").to_number<std::uint64_t>();
    return n;
  }
  std::uint64_t active_clients() const {
    return stats().at("connections").at("active").to_number<std::uint64_t>();
  }
  /// The proxy's open descriptors as /proc/PID/fd lists them.
  std::size_t open_fds() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid_) + "/fd"))
      ++n;
    return n;
  }
  /// The destination entry of /stats for `backend` ("127.0.0.1:9001").
  boost::json::object destination(const std::string& backend) const {
    const auto all = stats(); // kept alive: the loop below walks into it
    for (const auto& d : all.at("destinations").as_array())
      if (d.at("destination").as_string() == backend) return d.as_object();
    throw std::runtime_error("no destination " + backend + " in /stats");
  }
  /// The value of one Prometheus sample "name{labels} value"; throws if absent.
  double metric(const std::string& series) const {
    const auto text = metrics();
    const auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) throw std::runtime_error("no metric " + series);
    return std::stod(text.substr(at + series.size() + 2));
  }
  /// utime + stime in clock ticks, from /proc/PID/stat.
  unsigned long long cpu_ticks() const {
    const auto text = read_text("/proc/" + std::to_string(pid_) + "/stat");
    std::istringstream in(text.substr(text.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    return utime + stime;
  }

private:
  std::string log_;
  pid_t pid_ = -1;
};

// ---------------------------------------------------------------------------------------
// Clients: blocking sockets, every wait bounded by poll().

/// What a bounded read saw.
enum class read_outcome { complete, closed, timed_out };

/// One client connection to the proxy, from its own source address so that neither the
/// namespace's ephemeral range nor the proxy's pool ports are touched.
class test_client {
public:
  test_client() = default;
  test_client(test_client&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  test_client& operator=(test_client&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~test_client() { close(); }

  /// Connects to 127.0.0.1:`port` from the next client source; false (errno kept) when
  /// the connect fails or takes longer than `limit`.
  bool connect(std::uint16_t port = proxy_process::listen_port,
               std::chrono::milliseconds limit = 5s) {
    static std::atomic<unsigned> next{0};
    const unsigned i = next++;
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000100u + 1u + i / 1000);
    src.sin_port = htons(static_cast<std::uint16_t>(30000 + i % 1000));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return false;
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dst.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0) return true;
    if (errno != EINPROGRESS) return false;
    if (!wait_for(POLLOUT, limit)) return false;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    return err == 0;
  }

  /// Sends every byte of `data` within `limit`; false when the peer closed or time ran out.
  bool send_all(std::string_view data, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::size_t sent = 0;
    while (sent < data.size()) {
      const auto n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN) return false;
      if (!wait_for(POLLOUT, remaining(deadline))) return false;
    }
    return true;
  }

  /// Reads exactly `size` bytes into `out` within `limit`.
  read_outcome read_exact(std::string& out, std::size_t size,
                          std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    out.clear();
    char buffer[65536];
    while (out.size() < size) {
      const auto n = ::recv(fd_, buffer, std::min(sizeof buffer, size - out.size()), 0);
      if (n > 0) {
        out.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || errno != EAGAIN) return read_outcome::closed;
      if (!wait_for(POLLIN, remaining(deadline))) return read_outcome::timed_out;
    }
    return read_outcome::complete;
  }

  /// Reads until EOF (complete) or reset (closed) within `limit`, appending to `out`.
  read_outcome read_to_eof(std::string& out, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    char buffer[65536];
    for (;;) {
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) {
        out.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) return read_outcome::complete;
      if (errno != EAGAIN) return read_outcome::closed;
      if (!wait_for(POLLIN, remaining(deadline))) return read_outcome::timed_out;
    }
  }

  /// Sends `message` and expects it back intact.
  read_outcome echo(const std::string& message, std::chrono::milliseconds limit = 10s) {
    if (!send_all(message, limit)) return read_outcome::closed;
    std::string back;
    const auto r = read_exact(back, message.size(), limit);
    if (r == read_outcome::complete && back != message)
      throw std::runtime_error("echo differs from what was sent");
    return r;
  }

  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  /// Closes with RST (SO_LINGER 0), as a crashing or impatient client does.
  void reset() {
    if (fd_ < 0) return;
    const linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }
  void close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }
  int fd() const { return fd_; }

private:
  static std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point deadline) {
    return std::max(0ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                             deadline - std::chrono::steady_clock::now()));
  }
  bool wait_for(short events, std::chrono::milliseconds limit) {
    pollfd p{fd_, events, 0};
    return ::poll(&p, 1, static_cast<int>(limit.count())) > 0;
  }
  int fd_ = -1;
};

/// A message that names its client, `size` bytes long.
inline std::string message_for(std::size_t i, std::size_t size) {
  std::string m = "client " + std::to_string(i) + " ";
  while (m.size() < size)
    m += static_cast<char>('a' + (m.size() * 7 + i) % 26);
  m.resize(size);
  return m;
}

// ---------------------------------------------------------------------------------------
// Backends.

/// How a backend treats each connection.
enum class backend_behaviour {
  echo,             ///< echoes every byte; on EOF, shuts its side down too
  stream_after_eof, ///< reads until EOF, then sends `stream_bytes` and closes
  greet_and_shut,   ///< sends "hello", shuts its sending side, then counts bytes until EOF
};

/// A backend on 127.0.0.1:`port` served by its own thread. close_all() closes every
/// connection at once, as the kernel does when a backend process dies.
class test_backend {
public:
  test_backend(std::uint16_t port, backend_behaviour behaviour, std::size_t stream_bytes = 0)
      : behaviour_(behaviour), stream_bytes_(stream_bytes),
        acceptor_(io_, {asio::ip::make_address("127.0.0.1"), port}) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  test_backend(const test_backend&) = delete;
  test_backend& operator=(const test_backend&) = delete;
  ~test_backend() {
    close_all();
    io_.stop();
    thread_.join();
  }
  /// Closes the listener and every connection (the proxy sees FIN or RST, then refusals).
  void close_all() {
    std::promise<void> done;
    asio::post(io_, [&] {
      boost::system::error_code ignored; // closing what is closed is harmless
      acceptor_.close(ignored);
      for (auto& s : live_)
        s->close(ignored);
      live_.clear();
      done.set_value();
    });
    done.get_future().wait();
  }
  std::size_t accepted() const { return accepted_; }
  /// Bytes counted after EOF by greet_and_shut connections that finished.
  std::size_t counted_bytes() const { return counted_; }

private:
  static constexpr auto token = asio::as_tuple(asio::use_awaitable);

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(token);
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (ec) continue;
      ++accepted_;
      auto shared = std::make_shared<tcp::socket>(std::move(socket));
      live_.push_back(shared);
      asio::co_spawn(io_, serve(shared), asio::detached);
    }
  }
  asio::awaitable<void> serve(std::shared_ptr<tcp::socket> socket) {
    std::vector<char> buffer(65536);
    boost::system::error_code ignored; // shutting down a closed socket is harmless
    if (behaviour_ == backend_behaviour::greet_and_shut) {
      co_await asio::async_write(*socket, asio::buffer("hello", 5), token);
      socket->shutdown(tcp::socket::shutdown_send, ignored);
    }
    std::size_t total = 0;
    for (;;) {
      auto [ec, n] = co_await socket->async_read_some(asio::buffer(buffer), token);
      if (ec == asio::error::eof) break;
      if (ec) co_return;
      total += n;
      if (behaviour_ == backend_behaviour::echo) {
        auto [wec, w] = co_await asio::async_write(*socket, asio::buffer(buffer.data(), n), token);
        if (wec) co_return;
      }
    }
    if (behaviour_ == backend_behaviour::greet_and_shut) counted_ += total;
    if (behaviour_ == backend_behaviour::stream_after_eof) {
      std::string data(stream_bytes_, 'z');
      auto [wec, w] = co_await asio::async_write(*socket, asio::buffer(data), token);
      if (wec) co_return;
    }
    socket->shutdown(tcp::socket::shutdown_send, ignored);
  }

  backend_behaviour behaviour_;
  std::size_t stream_bytes_;
  asio::io_context io_;
  // Keeps run() going after close_all() leaves it with nothing to do.
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  tcp::acceptor acceptor_;
  std::list<std::shared_ptr<tcp::socket>> live_;
  std::atomic<std::size_t> accepted_{0};
  std::atomic<std::size_t> counted_{0};
  std::thread thread_;
};

/// A listener on 127.0.0.1:`port` that never accepts, its backlog filled so that the
/// kernel drops further SYNs: to a connecting proxy the backend is a black hole.
class blackhole_backend {
public:
  explicit blackhole_backend(std::uint16_t port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    at.sin_port = htons(port);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 ||
        ::listen(listener_, 0) != 0)
      throw std::runtime_error("blackhole: cannot listen on port " + std::to_string(port));
    // Connect until one stays unanswered: the accept queue is then full.
    for (int i = 0; i < 8; ++i) {
      test_client c;
      const bool connected = c.connect(port, 300ms);
      fillers_.push_back(std::move(c));
      if (!connected) return;
    }
    throw std::runtime_error("blackhole: the backlog never filled");
  }
  blackhole_backend(const blackhole_backend&) = delete;
  blackhole_backend& operator=(const blackhole_backend&) = delete;
  ~blackhole_backend() {
    fillers_.clear();
    ::close(listener_);
  }

private:
  int listener_ = -1;
  std::vector<test_client> fillers_;
};

// ---------------------------------------------------------------------------------------
// The check every fault ends with.

/// One fresh client through the proxy: a 1000-byte echo completes.
inline bool fresh_client_served(std::size_t id = 999999) {
  test_client c;
  if (!c.connect()) return false;
  return c.echo(message_for(id, 1000), 10s) == read_outcome::complete;
}

/// The proxy's idle descriptor counts once it has served one client: what every fault
/// must come back to. `from_stats` includes the admin connection that asks.
struct fd_baseline {
  std::size_t from_proc = 0;
  std::size_t from_stats = 0;
};

inline std::size_t stats_open_fds(const proxy_process& proxy) {
  return proxy.stats().at("open_fds").to_number<std::size_t>();
}

/// How a case shows the proxy still serves: by default a fresh echo client.
using serve_check = std::function<bool()>;

inline fd_baseline idle_fd_baseline(
    const proxy_process& proxy,
    const serve_check& serve_one = [] { return fresh_client_served(); }) {
  if (!serve_one()) throw std::runtime_error("the proxy did not serve a first client");
  eventually([&] { return proxy.active_clients() == 0; }, 5s);
  std::this_thread::sleep_for(200ms); // let closes settle before counting
  return {proxy.open_fds(), stats_open_fds(proxy)};
}

/// After a fault, once every client is gone: leases in use back to 0, no client open,
/// descriptors (/proc and /stats open_fds) back to `fds`, and a fresh client served.
inline void check_recovered(
    const proxy_process& proxy, fd_baseline fds,
    const serve_check& serve_one = [] { return fresh_client_served(); }) {
  CHECK(eventually([&] { return proxy.leases_in_use() == 0; }, 10s));
  CHECK(eventually([&] { return proxy.active_clients() == 0; }, 10s));
  CHECK(eventually([&] { return proxy.open_fds() == fds.from_proc; }, 10s));
  CHECK(proxy.open_fds() == fds.from_proc);
  CHECK(stats_open_fds(proxy) == fds.from_stats);
  CHECK(serve_one());
  CHECK(eventually([&] { return proxy.leases_in_use() == 0; }, 10s));
}

} // namespace portpool::reliability
