// Grouping a synthetic socket table: what counts, against what capacity, at what level.
#include "port_groups.hpp"

#include <doctest/doctest.h>

using namespace portpool;
using namespace portpool::watch;

namespace {

ip_address ip(const char* text) { return *ip_address::parse(text); }

tcp_socket sock(const char* local, std::uint16_t local_port, const char* peer,
                std::uint16_t peer_port, tcp_state state = tcp_state::established) {
  return {ip(local), ip(peer), local_port, peer_port, state};
}

watch_settings range_100() { // ports 1000-1099, 10 of them reserved
  return {.watched = port_set::range(1000, 1099), .capacity = 90};
}

} // namespace

TEST_SUITE("grouping") {
  TEST_CASE("groups by local ip, peer ip and peer port") {
    std::vector<tcp_socket> table;
    for (std::uint16_t p = 1000; p < 1050; ++p) {
      table.push_back(sock("10.0.0.1", p, "10.0.0.9", 80));
      table.push_back(sock("10.0.0.1", p, "10.0.0.9", 443)); // same local port, other group
      table.push_back(sock("10.0.0.2", p, "10.0.0.9", 80, tcp_state::time_wait));
    }
    const auto report = group_sockets(table, range_100());
    REQUIRE(report.groups.size() == 3);
    for (const auto& g : report.groups) {
      CHECK(g.used == 50);
      CHECK(g.capacity == 90);
    }
    CHECK(report.sockets_counted == 150);
    CHECK(report.groups[0].key < report.groups[1].key); // equal use: ordered by key
    CHECK(report.groups[2].states[static_cast<std::size_t>(tcp_state::time_wait)] == 50);
  }

  TEST_CASE("only watched ports count; LISTEN is a bind, not usage") {
    std::vector<tcp_socket> table{
        sock("10.0.0.1", 999, "10.0.0.9", 80),  // below the range
        sock("10.0.0.1", 1100, "10.0.0.9", 80), // above
        sock("10.0.0.1", 1000, "10.0.0.9", 80),
        sock("0.0.0.0", 1050, "0.0.0.0", 0, tcp_state::listen),
        sock("0.0.0.0", 1050, "0.0.0.0", 0, tcp_state::listen), // SO_REUSEPORT twin
        sock("0.0.0.0", 1040, "0.0.0.0", 0, tcp_state::listen),
        sock("0.0.0.0", 80, "0.0.0.0", 0, tcp_state::listen), // outside: not reported
    };
    const auto report = group_sockets(table, range_100());
    CHECK(report.sockets_seen == 7);
    CHECK(report.sockets_counted == 1);
    REQUIRE(report.groups.size() == 1);
    REQUIRE(report.binds.size() == 1);
    CHECK(report.binds[0].local_ip == ip("0.0.0.0"));
    CHECK(report.binds[0].listening == std::vector<std::uint16_t>{1040, 1050});
  }

  TEST_CASE("levels, fullest first, and the seed's wording") {
    std::vector<tcp_socket> table;
    for (std::uint16_t p = 1000; p < 1086; ++p) // 86 of 90: 95.6%, critical
      table.push_back(sock("10.0.0.1", p, "::1", 8080));
    for (std::uint16_t p = 1000; p < 1072; ++p) // 72 of 90: 80%, warning
      table.push_back(sock("10.0.0.1", p, "10.0.0.9", 80));
    for (std::uint16_t p = 1000; p < 1071; ++p) // 71 of 90: 78.9%, ok
      table.push_back(sock("10.0.0.2", p, "10.0.0.9", 80));
    const auto report = group_sockets(table, range_100());
    REQUIRE(report.groups.size() == 3);
    CHECK(report.groups[0].level == usage_level::critical);
    CHECK(report.groups[1].level == usage_level::warning);
    CHECK(report.groups[2].level == usage_level::ok);
    CHECK(report.worst == usage_level::critical);
    CHECK(warning_message(report.groups[0]) ==
          "connections from 10.0.0.1 to [::1]:8080 have used 86 of 90 ephemeral ports (95%)");
    CHECK(warning_message(report.groups[1]) ==
          "connections from 10.0.0.1 to 10.0.0.9:80 have used 72 of 90 ephemeral ports (80%)");
  }

  TEST_CASE("hysteresis across rounds with level memory") {
    const auto table_of = [](std::uint16_t n) {
      std::vector<tcp_socket> table;
      for (std::uint16_t p = 1000; p < 1000 + n; ++p)
        table.push_back(sock("10.0.0.1", p, "10.0.0.9", 80));
      return table;
    };
    level_memory memory;
    CHECK(group_sockets(table_of(72), range_100(), &memory).worst == usage_level::warning);
    // 70 of 90 (77.8%) is below 80% but above 75%: still a warning, no flapping.
    CHECK(group_sockets(table_of(70), range_100(), &memory).worst == usage_level::warning);
    CHECK(group_sockets(table_of(70), range_100()).worst == usage_level::ok); // no memory
    CHECK(group_sockets(table_of(67), range_100(), &memory).worst == usage_level::ok);
    CHECK(memory.size() == 1);
  }

  TEST_CASE("zero capacity: anything used is critical") {
    watch_settings s{.watched = port_set::range(1000, 1009), .capacity = 0};
    const auto report = group_sockets({sock("10.0.0.1", 1000, "10.0.0.9", 80)}, s);
    REQUIRE(report.groups.size() == 1);
    CHECK(report.groups[0].percent() == 100.0);
    CHECK(report.groups[0].level == usage_level::critical);
  }
}
