// The netlink readers (one walk, and one request per family) and the /proc reader see
// the same socket table: every state, both families, listeners and TIME_WAIT.
#include "json_report.hpp"
#include "netlink_reader.hpp"
#include "proc_reader.hpp"
#include "run_watch.hpp"
#include "test_sockets.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <iterator>

using namespace portpool;
using namespace portpool::watch;
using namespace portpool::watch::testing;

namespace {

std::vector<tcp_socket> sorted(std::vector<tcp_socket> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::size_t count_state(const std::vector<tcp_socket>& v, tcp_state state) {
  return static_cast<std::size_t>(
      std::count_if(v.begin(), v.end(), [&](const tcp_socket& s) { return s.state == state; }));
}

} // namespace

TEST_CASE("netlink_and_proc_agree") {
  const address v4("127.0.0.1", 8080), v6("::1", 8081);
  const auto l4 = listen_on(v4);
  const auto l6 = listen_on(v6);
  const auto in_range_listener = listen_on(address("127.0.0.5", 40150));
  make_time_wait(l4, v4, 25);
  make_time_wait(l6, v6, 15);
  const auto held4 = connect_many(v4, 40);
  const auto held6 = connect_many(v6, 20);
  // IPv6 sockets talking IPv4 (v4-mapped addresses)
  const auto mapped = connect_many(address("::ffff:127.0.0.1", 8080), 5);

  // Wait until every closing handshake is over (clients in TIME_WAIT, server sides gone),
  // so the three reads see one table.
  socket_list single_list;
  const bool settled = wait_until([&] {
    single_list.discard();
    read_tcp_sockets_netlink(single_list, netlink_dump::single_walk);
    const auto& t = single_list.sockets;
    return count_state(t, tcp_state::time_wait) == 40 &&
           count_state(t, tcp_state::listen) + count_state(t, tcp_state::established) +
                   count_state(t, tcp_state::time_wait) ==
               t.size();
  });
  REQUIRE(settled);
  socket_list per_family_list, proc_list;
  CHECK(read_tcp_sockets_netlink(per_family_list, netlink_dump::per_family) ==
        netlink_dump::per_family);
  read_tcp_sockets_proc(proc_list);
  const auto& single = single_list.sockets;
  const auto& per_family = per_family_list.sockets;
  const auto& proc = proc_list.sockets;

  // 3 listeners + 40 TIME_WAIT + 65 held clients + their 65 server sides (established
  // sockets waiting in the listeners' accept queues).
  CHECK(single.size() == 3 + 40 + 65 * 2);
  CHECK(count_state(single, tcp_state::listen) == 3);
  CHECK(count_state(single, tcp_state::time_wait) == 40);
  CHECK(count_state(single, tcp_state::established) == 130);
  CHECK(sorted(single) == sorted(per_family));
  CHECK(sorted(single) == sorted(proc));

  // A port span filter in the kernel returns exactly the sockets inside it, with either
  // request: here the TIME_WAIT and held clients (ports 40000-40199) and the listener on
  // 40150, not the listeners and server sides on 8080/8081.
  std::vector<tcp_socket> in_span;
  std::copy_if(single.begin(), single.end(), std::back_inserter(in_span),
               [](const tcp_socket& s) { return s.local_port >= 40000 && s.local_port <= 40199; });
  CHECK(in_span.size() == 1 + 40 + 65);
  for (const auto how : {netlink_dump::single_walk, netlink_dump::per_family}) {
    CAPTURE(to_string(how));
    socket_list filtered;
    read_tcp_sockets_netlink(filtered, how, local_port_span{40000, 40199});
    CHECK(sorted(filtered.sockets) == sorted(in_span));
    socket_list one_port;
    read_tcp_sockets_netlink(one_port, how, local_port_span{40150, 40150});
    REQUIRE(one_port.sockets.size() == 1);
    CHECK(one_port.sockets[0].state == tcp_state::listen);
  }

  // The binary says which source it used and reports the same groups from both.
  const auto from_netlink = run_watch({"--format", "json", "--source", "netlink", "--verbose"});
  const auto from_proc = run_watch({"--format", "json", "--source", "proc", "--verbose"});
  REQUIRE(from_netlink.exit_code == 0);
  REQUIRE(from_proc.exit_code == 0);
  CHECK(from_netlink.err.find("source netlink") != std::string::npos);
  CHECK(from_proc.err.find("source proc") != std::string::npos);
  auto a = parse_report(from_netlink.out), b = parse_report(from_proc.out);
  CHECK(a.at("source").as_string() == "netlink");
  CHECK(b.at("source").as_string() == "proc");
  CHECK(a.at("groups") == b.at("groups"));
  CHECK(a.at("binds") == b.at("binds"));
  CHECK(a.at("groups").as_array().size() == 2); // IPv4 (plain and v4-mapped) and IPv6
}
