// The command line of the binary: bad flags give one line naming the value and exit 3
// (UNKNOWN) in nagios mode, 2 otherwise; --interval with --count repeats and stops.
#include "json_report.hpp"
#include "run_watch.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

using namespace portpool::watch::testing;

namespace {

// Runs with `args`; checks the exit code and that stderr is one line naming `value`.
void check_rejected(const std::vector<std::string>& args, int exit_code, const std::string& value) {
  const auto r = run_watch(args);
  CAPTURE(r.err);
  CHECK(r.exit_code == exit_code);
  CHECK(r.out.empty());
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find(value) != std::string::npos);
}

} // namespace

TEST_CASE("bad_flags_exit_3_in_nagios_mode") {
  check_rejected({"--format", "nagios", "--warn", "abc"}, 3, "\"abc\"");
  check_rejected({"--format=nagios", "--crit", "250"}, 3, "\"250\"");
  check_rejected({"--format", "nagios", "--warn", "90", "--crit", "80"}, 3, "\"80\"");
  check_rejected({"--format", "nagios", "--bogus"}, 3, "--bogus");
  check_rejected({"--format", "nagios", "--interval", "5x"}, 3, "\"5x\"");
  check_rejected({"--format", "nagios", "--ports", "70000-80000"}, 3, "70000-80000");
  check_rejected({"--format", "nagios", "--top"}, 3, "--top");
  check_rejected({"--format", "nagios", "stray"}, 3, "stray");
}

TEST_CASE("bad_flags_exit_2_elsewhere") {
  check_rejected({"--format", "xml"}, 2, "\"xml\"");
  check_rejected({"--warn", "abc"}, 2, "\"abc\"");
  check_rejected({"--warn", "%"}, 2, "\"%\"");
  check_rejected({"--warn", "80%%"}, 2, "\"80%%\"");
  check_rejected({"--format", "json", "--warn", "0"}, 2, "\"0\"");
  check_rejected({"--top", "-1"}, 2, "\"-1\"");
  check_rejected({"--interval", "0s"}, 2, "\"0s\"");
  check_rejected({"--interval", "5"}, 2, "\"5\"");
  check_rejected({"--count", "3"}, 2, "--interval");
  check_rejected({"--interval", "1s", "--count", "0"}, 2, "\"0\"");
  check_rejected({"--source", "kernel"}, 2, "\"kernel\"");
  check_rejected({"--format", "prometheus", "--ports", "9000-8000"}, 2, "9000-8000");
}

TEST_CASE("help_shows_an_example") {
  const auto r = run_watch({"--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("portpool-watch --format nagios") != std::string::npos);
  CHECK(r.out.find("--interval") != std::string::npos);
}

TEST_CASE("interval_repeats_count_rounds") {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_watch({"--format", "json", "--interval", "100ms", "--count", "3"});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.exit_code == 0);
  const auto lines = r.out_lines();
  REQUIRE(lines.size() == 3); // json appends one document per round
  for (const auto& line : lines)
    CHECK(number(parse_report(line).at("range").at("capacity")) == 200);
  CHECK(elapsed >= std::chrono::milliseconds(200)); // two sleeps between three rounds

  const auto nagios = run_watch({"--format", "nagios", "--interval", "10ms", "--count", "2"});
  CHECK(nagios.exit_code == 0);
  CHECK(nagios.out_lines().size() == 2);
}

TEST_CASE("interval_stops_on_sigint") {
  // Without --count the loop runs until interrupted; SIGINT (sent once 2 rounds are out)
  // ends it after a whole round, with exit 0 and no half-written document.
  const auto r = run_watch({"--format", "json", "--interval", "50ms"}, std::chrono::seconds(30),
                           std::size_t{2});
  CHECK(r.exit_code == 0);
  const auto lines = r.out_lines();
  CHECK(lines.size() >= 2);
  for (const auto& line : lines)
    CHECK(number(parse_report(line).at("range").at("capacity")) == 200);
  CHECK(r.out.back() == '\n');
}
