#pragma once
// Plain POSIX sockets for the watch tests: listeners, held connections and TIME_WAIT
// sockets, all CLOEXEC so the portpool-watch child sees them only in the socket table.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace portpool::watch::testing {

/// Owns one descriptor.
class socket_fd {
public:
  explicit socket_fd(int fd) : fd_(fd) {}
  socket_fd(socket_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  socket_fd& operator=(socket_fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~socket_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

private:
  int fd_;
};

[[noreturn]] inline void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

/// An IPv4 or IPv6 socket address from text ("127.0.0.1", "::1", "::ffff:127.0.0.1").
struct address {
  sockaddr_storage storage{};
  socklen_t length = 0;

  address(const char* ip, std::uint16_t port) {
    if (std::strchr(ip, ':')) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(port);
      if (::inet_pton(AF_INET6, ip, &a->sin6_addr) != 1)
        throw std::invalid_argument(std::string("bad test address ") + ip);
      length = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&storage);
      a->sin_family = AF_INET;
      a->sin_port = htons(port);
      if (::inet_pton(AF_INET, ip, &a->sin_addr) != 1)
        throw std::invalid_argument(std::string("bad test address ") + ip);
      length = sizeof *a;
    }
  }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
};

/// A listening socket; its backlog holds every connection the tests make unaccepted.
inline socket_fd listen_on(const address& at) {
  socket_fd fd(::socket(at.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) fail("socket");
  if (::bind(fd.get(), at.get(), at.length) != 0) fail("bind listener");
  if (::listen(fd.get(), 1024) != 0) fail("listen");
  return fd;
}

/// `n` connections to `to` with kernel-chosen source ports, held open. A `to` written
/// ::ffff:a.b.c.d makes IPv6 sockets that talk IPv4 (v4-mapped addresses).
inline std::vector<socket_fd> connect_many(const address& to, std::size_t n) {
  std::vector<socket_fd> held;
  for (std::size_t i = 0; i < n; ++i) {
    socket_fd fd(::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) fail("socket");
    if (::connect(fd.get(), to.get(), to.length) != 0) fail("connect #" + std::to_string(i + 1));
    held.push_back(std::move(fd));
  }
  return held;
}

/// `n` connections to `to` (served by `listener`), each closed by the client first and
/// then by the server, so each leaves one client-side TIME_WAIT socket.
inline void make_time_wait(const socket_fd& listener, const address& to, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    auto client = connect_many(to, 1);
    socket_fd served(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (served.get() < 0) fail("accept");
    client.front().close(); // FIN from the client first: the client side keeps TIME_WAIT
    served.close();
  }
}

/// Polls `settled` every 10 ms for up to 10 s and returns its last answer. Closing
/// handshakes on loopback finish in softirq, which a loaded machine can defer to
/// ksoftirqd for a long while; the bound keeps a broken case from hanging.
template <class Predicate> bool wait_until(Predicate settled) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    if (settled()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

} // namespace portpool::watch::testing
