// Levels and exit codes on real sockets: the namespace's ephemeral range is 200 ports
// (40000-40199), default thresholds 80% and 95%, one listener at 127.0.0.1:8080.
#include "json_report.hpp"
#include "run_watch.hpp"
#include "test_sockets.hpp"
#include "watch_round.hpp"

#include <doctest/doctest.h>

using namespace portpool;
using namespace portpool::watch;
using namespace portpool::watch::testing;

namespace {

const address backend("127.0.0.1", 8080);

// Holds `n` connections to the backend, then checks the binary's nagios verdict and
// JSON figures, and the library's own figures, against what was opened.
void check_level(std::size_t n, int exit_code, usage_level level, const std::string& wording) {
  const auto listener = listen_on(backend);
  const auto held = connect_many(backend, n);

  const auto nagios = run_watch({"--format", "nagios"});
  CHECK(nagios.exit_code == exit_code);
  CHECK(nagios.out.rfind("PORTPOOL-WATCH " + std::string(to_string(level)) + " - ", 0) == 0);
  if (!wording.empty()) CHECK(nagios.out.find(wording) != std::string::npos);
  CHECK(nagios.out.find("worst_used=" + std::to_string(n) + ";160;190;0;200") != std::string::npos);

  const auto json = run_watch({"--format", "json"});
  REQUIRE(json.exit_code == 0);
  const auto report = parse_report(json.out);
  CHECK(number(report.at("range").at("low")) == 40000);
  CHECK(number(report.at("range").at("high")) == 40199);
  CHECK(number(report.at("range").at("capacity")) == 200);
  CHECK(report.at("level").as_string() == to_string(level));
  const auto group = find_group(report, "127.0.0.1", "127.0.0.1", 8080);
  REQUIRE(group);
  CHECK(number(group->at("used")) == n);
  CHECK(number(group->at("capacity")) == 200);
  CHECK(state_count(*group, "ESTAB") == n);
  CHECK(report.at("groups").as_array().size() == 1); // accepted sides hold port 8080

  const auto round = take_round({});
  REQUIRE(round.report.groups.size() == 1);
  CHECK(round.report.groups[0].used == n);
  CHECK(round.report.groups[0].level == level);
  CHECK(round.report.worst == level);
}

} // namespace

TEST_CASE("level_ok_150") { check_level(150, 0, usage_level::ok, ""); }

TEST_CASE("level_warning_170") {
  check_level(170, 1, usage_level::warning,
              "connections from 127.0.0.1 to 127.0.0.1:8080 have used 170 of 200 ephemeral "
              "ports (85%)");
}

TEST_CASE("level_critical_195") {
  check_level(195, 2, usage_level::critical,
              "connections from 127.0.0.1 to 127.0.0.1:8080 have used 195 of 200 ephemeral "
              "ports (97%)");
}

TEST_CASE("warning_in_every_format") {
  const auto listener = listen_on(backend);
  const auto held = connect_many(backend, 170);
  const std::string wording = "connections from 127.0.0.1 to 127.0.0.1:8080 have used 170 of "
                              "200 ephemeral ports (85%)";
  for (const char* format : {"table", "nagios", "prometheus", "json"}) {
    CAPTURE(format);
    const auto r = run_watch({"--format", format});
    CHECK(r.out.find(wording) != std::string::npos);
  }
  const auto prometheus = run_watch({"--format", "prometheus"});
  CHECK(prometheus.out.find("portpool_watch_group_used_ports{local_ip=\"127.0.0.1\",peer_ip="
                            "\"127.0.0.1\",peer_port=\"8080\"} 170\n") != std::string::npos);
  CHECK(prometheus.out.find("portpool_watch_capacity_ports 200\n") != std::string::npos);
  CHECK(prometheus.out.find("portpool_watch_groups_by_level{level=\"WARNING\"} 1\n") !=
        std::string::npos);
  const auto table = run_watch({});
  CHECK(table.exit_code == 0); // only nagios output turns the level into an exit code
  CHECK(table.out.find("capacity 200 per group; 1 group") != std::string::npos);
  CHECK(table.out.find("[#################---]") != std::string::npos); // 85%: 17 of 20
}
