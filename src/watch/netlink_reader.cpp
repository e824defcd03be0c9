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
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>

namespace portpool::watch {
namespace {

[[noreturn]] void fail(const std::string& step, int error) {
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
  netlink_socket(const netlink_socket&) = delete;
  netlink_socket& operator=(const netlink_socket&) = delete;
  ~netlink_socket() { ::close(fd_); }
  int fd() const noexcept { return fd_; }

private:
  int fd_;
};

// Every real state, LISTEN included (the explicit-bind report needs listeners); not
// TCP_BOUND_INACTIVE (see the header).
constexpr std::uint32_t all_states =
    ((1u << tcp_state_slots) - 1) & ~(1u << static_cast<unsigned>(tcp_state::bound_inactive));

// The kernel refused the request type itself (not a failure while dumping).
struct request_refused {
  int error;
};

tcp_socket to_socket(const inet_diag_msg& m, tcp_state state) {
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

// Sends one dump request and appends every socket of the answer.
void dump(const netlink_socket& nl, const void* request, std::size_t request_bytes,
          std::uint32_t sequence, socket_sink& sink) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    const auto sent = ::sendto(nl.fd(), request, request_bytes, 0,
                               reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel);
    if (sent >= 0) break;
    if (errno != EINTR) fail("send dump request", errno);
  }

  // The kernel fills at most ~32 KiB per read (netlink caps its dump skbs there); a
  // larger buffer would only waste memory.
  constexpr std::size_t buffer_bytes = 64 * 1024;
  const auto buffer = std::make_unique<std::uint32_t[]>(buffer_bytes / sizeof(std::uint32_t));
  bool first_message = true;
  for (;;) {
    const auto got = ::recv(nl.fd(), buffer.get(), buffer_bytes, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      fail(errno == EAGAIN ? "no answer from the kernel within 10 s" : "recv", errno);
    }
    if (got == 0) fail("recv", ECONNRESET);
    auto remaining = static_cast<unsigned>(got);
    for (auto* header = reinterpret_cast<const nlmsghdr*>(buffer.get());
         NLMSG_OK(header, remaining); header = NLMSG_NEXT(header, remaining)) {
      if (header->nlmsg_seq != sequence) continue; // not our dump (cannot happen; be safe)
      if (header->nlmsg_type == NLMSG_DONE) return;
      if (header->nlmsg_type == NLMSG_ERROR) {
        const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
        const int code = error->error < 0 ? -error->error : EPROTO;
        if (first_message) throw request_refused{code};
        fail("dump", code);
      }
      first_message = false;
      if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY && header->nlmsg_type != TCPDIAG_GETSOCK)
        continue; // a record we do not understand; skipping it loses nothing we count
      if (header->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
      const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(header));
      if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6) continue;
      if (const auto state = tcp_state_from_number(m->idiag_state)) sink.add(to_socket(*m, *state));
    }
  }
}

// "local port >= low and local port <= high" in inet_diag bytecode. Each comparison is
// two ops (the second carries the port); on a match the program steps to the next op, on
// a mismatch it jumps past its end, which the kernel reads as "reject".
struct port_filter {
  nlattr attribute{.nla_len = sizeof(port_filter), .nla_type = INET_DIAG_REQ_BYTECODE};
  inet_diag_bc_op at_least{.code = INET_DIAG_BC_S_GE, .yes = 8, .no = 20};
  inet_diag_bc_op low{};
  inet_diag_bc_op at_most{.code = INET_DIAG_BC_S_LE, .yes = 8, .no = 12};
  inet_diag_bc_op high{};
};
static_assert(sizeof(port_filter) == sizeof(nlattr) + 4 * sizeof(inet_diag_bc_op));

// A dump request: header, request body, and the port filter when there is one.
template <class Request> struct request_message {
  nlmsghdr header{};
  Request request{};
  port_filter filter{};
};

template <class Request>
void send_and_read(const netlink_socket& nl, request_message<Request>& message, std::uint16_t type,
                   std::uint32_t sequence, const std::optional<local_port_span>& only,
                   socket_sink& sink) {
  static_assert(offsetof(request_message<Request>, filter) == sizeof(nlmsghdr) + sizeof(Request),
                "the filter attribute must follow the request without padding");
  message.header.nlmsg_len = sizeof(nlmsghdr) + sizeof(Request);
  if (only) {
    message.filter.low.no = only->low;
    message.filter.high.no = only->high;
    message.header.nlmsg_len += sizeof(port_filter);
  }
  message.header.nlmsg_type = type;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.header.nlmsg_seq = sequence;
  dump(nl, &message, message.header.nlmsg_len, sequence, sink);
}

void dump_single_walk(const netlink_socket& nl, const std::optional<local_port_span>& only,
                      socket_sink& sink) {
  request_message<inet_diag_req> message;
  message.request.idiag_family = AF_INET; // ignored by the kernel for dumps
  message.request.idiag_states = all_states;
  // The kernel reads TCPDIAG_GETSOCK as family AF_UNSPEC, protocol TCP.
  send_and_read(nl, message, TCPDIAG_GETSOCK, 1, only, sink);
}

void dump_per_family(const netlink_socket& nl, const std::optional<local_port_span>& only,
                     socket_sink& sink) {
  std::uint32_t sequence = 10;
  for (const std::uint8_t family : {std::uint8_t{AF_INET}, std::uint8_t{AF_INET6}}) {
    request_message<inet_diag_req_v2> message;
    message.request.sdiag_family = family;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = all_states;
    try {
      send_and_read(nl, message, SOCK_DIAG_BY_FAMILY, ++sequence, only, sink);
    } catch (const request_refused& refused) {
      fail(family == AF_INET ? "SOCK_DIAG_BY_FAMILY AF_INET" : "SOCK_DIAG_BY_FAMILY AF_INET6",
           refused.error);
    }
  }
}

} // namespace

std::string_view to_string(netlink_dump how) noexcept {
  switch (how) {
  case netlink_dump::single_walk: return "single_walk";
  case netlink_dump::per_family: return "per_family";
  case netlink_dump::automatic: return "auto";
  }
  return "unknown";
}

netlink_dump read_tcp_sockets_netlink(socket_sink& sink, netlink_dump how,
                                      std::optional<local_port_span> only) {
  const netlink_socket nl;
  if (how != netlink_dump::per_family) {
    try {
      dump_single_walk(nl, only, sink);
      return netlink_dump::single_walk;
    } catch (const request_refused& refused) {
      if (how == netlink_dump::single_walk) fail("TCPDIAG_GETSOCK", refused.error);
      // Refused before any record arrived, so `sink` holds nothing of this attempt.
    }
  }
  dump_per_family(nl, only, sink);
  return netlink_dump::per_family;
}

} // namespace portpool::watch
