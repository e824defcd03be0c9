// Grouping on real sockets in a private namespace with the range at 40000-40199: what
// forms a group, which states count, what shrinks capacity.
#include "json_report.hpp"
#include "netns.hpp"
#include "run_watch.hpp"
#include "test_sockets.hpp"
#include "watch_round.hpp"

#include <doctest/doctest.h>

using namespace portpool;
using namespace portpool::watch;
using namespace portpool::watch::testing;

namespace {

boost::json::object json_report(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"--format", "json", "--top", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_watch(args);
  REQUIRE(r.exit_code == 0);
  return parse_report(r.out);
}

} // namespace

TEST_CASE("two_destinations_are_two_groups") {
  // 120 + 110 connections share the 200-port range: the kernel may reuse a local port
  // toward another destination, so neither group is full and they must not be summed.
  const address first("127.0.0.1", 8080), second("127.0.0.1", 8081);
  const auto l1 = listen_on(first);
  const auto l2 = listen_on(second);
  const auto a = connect_many(first, 120);
  const auto b = connect_many(second, 110);

  const auto report = json_report();
  REQUIRE(report.at("groups").as_array().size() == 2);
  const auto g1 = find_group(report, "127.0.0.1", "127.0.0.1", 8080);
  const auto g2 = find_group(report, "127.0.0.1", "127.0.0.1", 8081);
  REQUIRE(g1);
  REQUIRE(g2);
  CHECK(number(g1->at("used")) == 120);
  CHECK(number(g2->at("used")) == 110);
  CHECK(report.at("level").as_string() == "OK"); // 60% and 55%, not 115%
  CHECK(report.at("groups").as_array()[0].as_object().at("peer_port").to_number<int>() ==
        8080); // fullest first

  const auto nagios = run_watch({"--format", "nagios"});
  CHECK(nagios.exit_code == 0);
}

TEST_CASE("time_wait_is_counted") {
  const address to("127.0.0.1", 8080);
  const auto listener = listen_on(to);
  make_time_wait(listener, to, 60);
  const auto held = connect_many(to, 40);

  const auto time_wait_count = [] {
    const auto round = take_round({});
    return round.report.groups.empty()
               ? 0u
               : round.report.groups[0].states[static_cast<std::size_t>(tcp_state::time_wait)];
  };
  CHECK(wait_until([&] { return time_wait_count() == 60; }));

  const auto report = json_report();
  const auto group = find_group(report, "127.0.0.1", "127.0.0.1", 8080);
  REQUIRE(group);
  CHECK(number(group->at("used")) == 100);
  CHECK(state_count(*group, "TIME_WAIT") == 60);
  CHECK(state_count(*group, "ESTAB") == 40);

  // 100 + 70 more = 170 of 200: the TIME_WAIT sockets push the group into WARNING.
  const auto more = connect_many(to, 70);
  CHECK(run_watch({"--format", "nagios"}).exit_code == 1);
}

TEST_CASE("reserved_ports_shrink_capacity") {
  tools::write_sysctl("net/ipv4/ip_local_reserved_ports", "40000-40049");
  const address to("127.0.0.1", 8080);
  const auto listener = listen_on(to);
  const auto held = connect_many(to, 130);

  const auto report = json_report();
  CHECK(number(report.at("range").at("capacity")) == 150);
  CHECK(number(report.at("range").at("reserved")) == 50);
  const auto group = find_group(report, "127.0.0.1", "127.0.0.1", 8080);
  REQUIRE(group);
  CHECK(number(group->at("capacity")) == 150);
  CHECK(number(group->at("used")) == 130);

  // 130 of 200 would be OK; 130 of 150 (86%) is a WARNING.
  const auto nagios = run_watch({"--format", "nagios"});
  CHECK(nagios.exit_code == 1);
  CHECK(nagios.out.find("have used 130 of 150 ephemeral ports (86%)") != std::string::npos);
}

TEST_CASE("ipv6_loopback_groups") {
  const address v6("::1", 8080), v4("127.0.0.1", 8080);
  const auto listener6 = listen_on(v6);
  const auto listener4 = listen_on(v4);
  const auto held = connect_many(v6, 30);
  // IPv6 sockets talking IPv4 (::ffff:127.0.0.1) share the IPv4 4-tuple space, so they
  // must land in the IPv4 group, with the plain IPv4 ones.
  const auto mapped = connect_many(address("::ffff:127.0.0.1", 8080), 5);
  const auto plain = connect_many(v4, 10);

  const auto report = json_report();
  const auto g6 = find_group(report, "::1", "::1", 8080);
  REQUIRE(g6);
  CHECK(number(g6->at("used")) == 30);
  CHECK(number(g6->at("capacity")) == 200);
  const auto g4 = find_group(report, "127.0.0.1", "127.0.0.1", 8080);
  REQUIRE(g4);
  CHECK(number(g4->at("used")) == 15);
  CHECK(report.at("groups").as_array().size() == 2);

  const auto table = run_watch({});
  CHECK(table.out.find("[::1]:8080") != std::string::npos);
}

TEST_CASE("listeners_in_range_are_binds") {
  // A listener on an ephemeral port is an explicit bind: reported per local ip, not a
  // group (it has no peer), and the kernel's connect() will not pick its port.
  const auto listener = listen_on(address("0.0.0.0", 40100));
  const auto other = listen_on(address("127.0.0.3", 40101));
  const auto outside = listen_on(address("127.0.0.1", 8080));
  const auto held = connect_many(address("127.0.0.1", 8080), 10);

  const auto report = json_report();
  const auto& binds = report.at("binds").as_array();
  REQUIRE(binds.size() == 2);
  CHECK(binds[0].at("local_ip").as_string() == "0.0.0.0");
  CHECK(binds[0].at("listening").as_array() == boost::json::array{40100});
  CHECK(binds[1].at("local_ip").as_string() == "127.0.0.3");
  CHECK(binds[1].at("listening").as_array() == boost::json::array{40101});
  REQUIRE(report.at("groups").as_array().size() == 1);
  CHECK(number(report.at("groups").as_array()[0].at("used")) == 10);

  const auto table = run_watch({});
  CHECK(table.out.find("0.0.0.0 listens on 1 port (40100)") != std::string::npos);
}

TEST_CASE("ports_option_replaces_the_range") {
  // Connections bound explicitly to 127.0.0.2:20000-20009, outside the ephemeral range:
  // invisible by default, counted against a capacity of 10 with --ports.
  const address to("127.0.0.1", 8080);
  const auto listener = listen_on(to);
  std::vector<socket_fd> held;
  for (std::uint16_t port = 20000; port < 20009; ++port) {
    socket_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const address from("127.0.0.2", port);
    REQUIRE(::bind(fd.get(), from.get(), from.length) == 0);
    REQUIRE(::connect(fd.get(), to.get(), to.length) == 0);
    held.push_back(std::move(fd));
  }
  CHECK(json_report().at("groups").as_array().empty());

  const auto report = json_report({"--ports", "20000-20009"});
  CHECK(number(report.at("range").at("capacity")) == 10);
  CHECK(report.at("range").at("ports").as_string() == "20000-20009");
  const auto group = find_group(report, "127.0.0.2", "127.0.0.1", 8080);
  REQUIRE(group);
  CHECK(number(group->at("used")) == 9);
  CHECK(run_watch({"--format", "nagios", "--ports", "20000-20009"}).exit_code == 1); // 90%
  CHECK(run_watch({"--format", "nagios", "--ports", "20000-20009", "--warn", "95%"}).exit_code ==
        0);
}
