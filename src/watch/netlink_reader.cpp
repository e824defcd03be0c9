#include "netlink_reader.hpp"

#include "socket_table_error.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace portpool::watch {
namespace {

[[noreturn]] void fail(const std::string &step, int error) {
  throw socket_table_error("netlink sock_diag: " + step + ": " + std::strerror(error));
}

// Closes the netlink socket on every path out, including throws.
class netlink_socket {
public:
  netlink_socket() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) {
    if (fd_ < 0) fail("socket(AF_NETLINK, NETLINK_SOCK_DIAG)", errno);
    // The kernel always answers a dump; the timeout only guards against a wedged kernel
    // module turning a monitoring probe into a hang.
    const timeval timeout{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  netlink_socket(const netlink_socket &) = delete;
  netlink_socket &operator=(const netlink_socket &) = delete;
  ~netlink_socket() { ::close(fd_); }
  int fd() const noexcept { return fd_; }

private:
  int fd_;
};

// Every state bit, LISTEN included (the explicit-bind report needs listeners). Bit 13 is
// TCP_BOUND_INACTIVE: Linux 6.8+ then also dumps sockets that only called bind(); older
// kernels ignore the bit.
constexpr std::uint32_t all_states = (1u << tcp_state_slots) - 1;

tcp_socket to_socket(const inet_diag_msg &m, tcp_state state) {
  tcp_socket s;
  s.state = state;
  s.local_port = ntohs(m.id.idiag_sport);
  s.peer_port = ntohs(m.id.idiag_dport);
  if (m.idiag_family == AF_INET) {
    s.local = ip_address::v4(ntohl(m.id.idiag_src[0]));
    s.peer = ip_address::v4(ntohl(m.id.idiag_dst[0]));
  } else {
    std::array<std::uint8_t, 16> bytes;
    std::memcpy(bytes.data(), m.id.idiag_src, bytes.size());
    s.local = address_from_v6_bytes(bytes);
    std::memcpy(bytes.data(), m.id.idiag_dst, bytes.size());
    s.peer = address_from_v6_bytes(bytes);
  }
  return s;
}

void dump_family(const netlink_socket &nl, std::uint8_t family, std::uint32_t sequence,
                 std::vector<tcp_socket> &out) {
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.header.nlmsg_seq = sequence;
  message.request.sdiag_family = family;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = all_states;

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    const auto sent = ::sendto(nl.fd(), &message, sizeof message, 0,
                               reinterpret_cast<const sockaddr *>(&kernel), sizeof kernel);
    if (sent >= 0) break;
    if (errno != EINTR) fail("send SOCK_DIAG_BY_FAMILY request", errno);
  }

  // The kernel fills at most ~32 KiB per read (netlink caps its dump skbs there); a
  // larger buffer would only waste memory.
  constexpr std::size_t buffer_bytes = 64 * 1024;
  const auto buffer = std::make_unique<std::uint32_t[]>(buffer_bytes / sizeof(std::uint32_t));
  for (;;) {
    const auto got = ::recv(nl.fd(), buffer.get(), buffer_bytes, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      fail(errno == EAGAIN ? "no answer from the kernel within 10 s" : "recv", errno);
    }
    if (got == 0) fail("recv", ECONNRESET);
    auto remaining = static_cast<unsigned>(got);
    for (auto *header = reinterpret_cast<const nlmsghdr *>(buffer.get());
         NLMSG_OK(header, remaining); header = NLMSG_NEXT(header, remaining)) {
      if (header->nlmsg_seq != sequence) continue; // not our dump (cannot happen; be safe)
      if (header->nlmsg_type == NLMSG_DONE) return;
      if (header->nlmsg_type == NLMSG_ERROR) {
        const auto *error = static_cast<const nlmsgerr *>(NLMSG_DATA(header));
        fail(family == AF_INET ? "dump AF_INET" : "dump AF_INET6",
             error->error < 0 ? -error->error : EPROTO);
      }
      if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
          header->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg)))
        continue; // a record we do not understand; skipping it loses nothing we count
      const auto *m = static_cast<const inet_diag_msg *>(NLMSG_DATA(header));
      if (const auto state = tcp_state_from_number(m->idiag_state))
        out.push_back(to_socket(*m, *state));
    }
  }
}

} // namespace

void read_tcp_sockets_netlink(std::vector<tcp_socket> &out) {
  const netlink_socket nl;
  dump_family(nl, AF_INET, 1, out);
  dump_family(nl, AF_INET6, 2, out);
}

} // namespace portpool::watch
