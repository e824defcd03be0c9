// Faults in the source pool: ports held by another process, TIME_WAIT on reuse, and a
// source address that is not local.
#include "fault_harness.hpp"

#include "netns.hpp"

using namespace portpool::reliability;

namespace {

// A socket bound (without SO_REUSEADDR) to 127.0.0.2:`port`, listening when asked.
int squat(std::uint16_t port, bool listen) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(0x7f000002u);
  at.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 || (listen && ::listen(fd, 8)))
    throw std::runtime_error("cannot squat port " + std::to_string(port));
  return fd;
}

// TIME_WAIT sockets in this namespace whose local port is in low..high (/proc/net/tcp:
// state 06, local address field "0200007F:4E20").
std::size_t time_wait_on_ports(std::uint16_t low, std::uint16_t high) {
  std::istringstream in(read_text("/proc/net/tcp"));
  std::string line;
  std::getline(in, line); // header
  std::size_t n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const auto port = std::stoul(local.substr(local.find(':') + 1), nullptr, 16);
    n += state == "06" && port >= low && port <= high;
  }
  return n;
}

} // namespace

TEST_CASE("squatted_pool_ports") {
  // Pool 127.0.0.2:20000-20009 toward one backend. Another process (this one) holds
  // 20001 and 20003 bound and listens on 20005: 7 slots remain, and 7 clients at once
  // must all be served.
  test_backend echo(9001, backend_behaviour::echo);
  const int squatters[] = {squat(20001, false), squat(20003, false), squat(20005, true)};
  proxy_process proxy({"--backend", "127.0.0.1:9001", "--source", "127.0.0.2", "--ports",
                       "20000-20009", "--health-interval", "0"},
                      "reliability_squatted_pool_ports.log");
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  const auto fds = idle_fd_baseline(proxy);

  std::vector<test_client> clients(7);
  std::size_t echoed = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    REQUIRE(clients[i].connect());
    echoed += clients[i].echo(message_for(i, 1000)) == read_outcome::complete;
  }
  CHECK(echoed == 7);
  CHECK(proxy.destination("127.0.0.1:9001").at("conflicts").to_number<std::uint64_t>() >= 1);
  CHECK(proxy.leases_in_use() == 7);
  // Nothing of ours reached the squatters' listener.
  pollfd p{squatters[2], POLLIN, 0};
  CHECK(::poll(&p, 1, 0) == 0);
  clients.clear();
  check_recovered(proxy, fds);
  for (const int fd : squatters)
    ::close(fd);
}

TEST_CASE("time_wait_on_reuse") {
  // tcp_tw_reuse=0 (this namespace only). 10 slots; each client closes first, so the
  // proxy closes its upstream first and each slot's 4-tuple sits in TIME_WAIT when the
  // pool comes round to it again. 40 clients in a row: all served.
  portpool::tools::write_sysctl("net/ipv4/tcp_tw_reuse", "0");
  test_backend echo(9001, backend_behaviour::echo);
  proxy_process proxy({"--backend", "127.0.0.1:9001", "--source", "127.0.0.2", "--ports",
                       "20000-20009", "--health-interval", "0"},
                      "reliability_time_wait_on_reuse.log");
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  const auto fds = idle_fd_baseline(proxy);

  std::size_t echoed = 0, most_time_wait = 0;
  for (std::size_t i = 0; i < 40; ++i) {
    test_client c;
    REQUIRE(c.connect());
    echoed += c.echo(message_for(i, 1000)) == read_outcome::complete;
    c.close();
    CHECK(eventually([&] { return proxy.active_clients() == 0; }, 5s));
    most_time_wait = std::max(most_time_wait, time_wait_on_ports(20000, 20009));
  }
  CHECK(echoed == 40);
  // The collisions happened: every slot had a TIME_WAIT 4-tuple while being reused.
  CHECK(most_time_wait == 10);
  check_recovered(proxy, fds);
}

TEST_CASE("unbindable_source") {
  // 192.0.2.1 is not an address of this namespace: binding to it fails (EADDRNOTAVAIL)
  // before any packet leaves. With health checks on (as by default) it must be found,
  // logged, and taken out of rotation: clients are then served from 127.0.0.2 without
  // trying it again.
  test_backend echo(9001, backend_behaviour::echo);
  proxy_process proxy({"--backend", "127.0.0.1:9001", "--source", "127.0.0.2,192.0.2.1", "--ports",
                       "20000-20099", "--health-interval", "200ms"},
                      "reliability_unbindable_source.log");
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  const auto fds = idle_fd_baseline(proxy);

  const auto source = [&](const std::string& name) {
    const auto destination = proxy.destination("127.0.0.1:9001");
    for (const auto& s : destination.at("sources").as_array())
      if (s.at("source").as_string() == name) return s.as_object();
    throw std::runtime_error("no source " + name + " in /stats");
  };
  CHECK(eventually([&] { return !source("192.0.2.1").at("up").as_bool(); }, 10s));
  CHECK(proxy.log_text().find("source 192.0.2.1 is DOWN") != std::string::npos);
  CHECK_FALSE(source("192.0.2.1").at("in_rotation").as_bool());
  CHECK(source("127.0.0.2").at("in_rotation").as_bool());

  const auto tried_before = source("192.0.2.1").at("conflicts").to_number<std::uint64_t>();
  std::vector<test_client> clients(20);
  std::size_t echoed = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    REQUIRE(clients[i].connect());
    echoed += clients[i].echo(message_for(i, 1000)) == read_outcome::complete;
  }
  CHECK(echoed == 20);
  CHECK(source("192.0.2.1").at("used").to_number<std::uint64_t>() == 0);
  CHECK(source("127.0.0.2").at("used").to_number<std::uint64_t>() == 20);
  // Out of rotation: no client's connect tried to bind it again.
  CHECK(source("192.0.2.1").at("conflicts").to_number<std::uint64_t>() == tried_before);
  clients.clear();
  check_recovered(proxy, fds);
}
