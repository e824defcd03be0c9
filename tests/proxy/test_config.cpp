// Option parsing without sockets: every option, the INI file, and the one-line errors.
#include "config.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

using namespace portpool;
using namespace portpool::proxy;
using namespace std::chrono_literals;

namespace {

config_outcome parse(std::vector<std::string> args) { return parse_config(args); }

proxy_config parse_ok(std::vector<std::string> args) {
  auto outcome = parse(std::move(args));
  if (auto* e = std::get_if<config_error>(&outcome)) FAIL("unexpected error: " << e->message);
  REQUIRE(std::holds_alternative<proxy_config>(outcome));
  return std::get<proxy_config>(outcome);
}

std::string parse_error(std::vector<std::string> args) {
  auto outcome = parse(std::move(args));
  REQUIRE(std::holds_alternative<config_error>(outcome));
  return std::get<config_error>(outcome).message;
}

const std::vector<std::string> minimal = {
    "--listen", "127.0.0.1:8000", "--backend", "127.0.0.1:8080", "--source", "127.0.0.2-127.0.0.5"};

std::vector<std::string> with(std::vector<std::string> extra) {
  auto args = minimal;
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

} // namespace

TEST_SUITE("proxy_config") {
  TEST_CASE("defaults") {
    const auto c = parse_ok(minimal);
    REQUIRE(c.listen.size() == 1);
    CHECK(c.listen[0].to_string() == "127.0.0.1:8000");
    REQUIRE(c.backends.size() == 1);
    CHECK(c.backends[0].weight == 1);
    CHECK(c.sources.size() == 4);
    CHECK(c.ports.size() == 10000);
    CHECK(c.mode == source_mode::pool);
    CHECK(c.threads == 1);
    CHECK(c.balance == balance_mode::roundrobin);
    CHECK(c.connect_timeout == 5s);
    CHECK(c.idle_timeout == 5min);
    CHECK(c.retries == 3);
    REQUIRE(c.admin);
    CHECK(c.admin->to_string() == "127.0.0.1:9900"); // loopback only unless asked
    CHECK(c.send_proxy == proxy_header::none);
    CHECK(c.access_log.empty());
    CHECK(c.splice);
  }

  TEST_CASE("every_option") {
    const auto c = parse_ok({"--listen",
                             "127.0.0.1:8000",
                             "--listen",
                             "[::1]:8001",
                             "--backend",
                             "127.0.0.1:8080,weight=3",
                             "--backend",
                             "127.0.0.1:8081",
                             "--source",
                             "127.0.0.2",
                             "--ports",
                             "20000-20099,!20050",
                             "--source-mode",
                             "kernel",
                             "--threads",
                             "4",
                             "--balance",
                             "leastconn",
                             "--maxconn",
                             "5000",
                             "--connect-timeout",
                             "500ms",
                             "--idle-timeout",
                             "2m",
                             "--retries",
                             "0",
                             "--health-interval",
                             "0",
                             "--admin",
                             "off",
                             "--warn",
                             "70%",
                             "--crit",
                             "90",
                             "--log-level",
                             "warn",
                             "--access-log",
                             "-",
                             "--send-proxy",
                             "v2",
                             "--drain-timeout",
                             "1h",
                             "--partition",
                             "1/4",
                             "--buffer-size",
                             "4096",
                             "--splice",
                             "off"});
    CHECK(c.listen.size() == 2);
    CHECK(c.listen[1].to_string() == "[::1]:8001");
    CHECK(c.backends[0].weight == 3);
    CHECK(c.backends[1].address.port == 8081);
    CHECK(c.ports.size() == 99);
    CHECK(c.mode == source_mode::kernel);
    CHECK(c.threads == 4);
    CHECK(c.balance == balance_mode::leastconn);
    CHECK(c.maxconn == 5000);
    CHECK(c.connect_timeout == 500ms);
    CHECK(c.idle_timeout == 2min);
    CHECK(c.retries == 0);
    CHECK(c.health_interval == 0ms);
    CHECK(!c.admin);
    CHECK(c.thresholds.warn_percent == 70);
    CHECK(c.thresholds.crit_percent == 90);
    CHECK(c.log_level == "warning");
    CHECK(c.access_log == "-");
    CHECK(c.send_proxy == proxy_header::v2);
    CHECK(c.drain_timeout == 1h);
    CHECK(c.slice.index == 1);
    CHECK(c.slice.count == 4);
    CHECK(c.buffer_size == 4096);
    CHECK_FALSE(c.splice);
  }

  TEST_CASE("durations") {
    CHECK(parse_duration("x", "500ms") == 500ms);
    CHECK(parse_duration("x", "5s") == 5s);
    CHECK(parse_duration("x", "2m") == 2min);
    CHECK(parse_duration("x", "0") == 0ms);
    for (const char* bad : {"", "5", "5x", "ms", "-1s", "1.5s", "5 s", "99999999h"})
      CHECK_THROWS_AS(parse_duration("idle-timeout", bad), bad_input);
    try {
      (void)parse_duration("idle-timeout", "5x");
      FAIL("no throw");
    } catch (const bad_input& e) {
      CHECK(std::string(e.what()) ==
            "bad --idle-timeout \"5x\": expected a whole number and a unit: 500ms, 5s, 2m or 1h");
    }
    CHECK(format_duration(1500ms) == "1500ms");
    CHECK(format_duration(5s) == "5s");
    CHECK(format_duration(2min) == "2m");
  }

  TEST_CASE("bad_values_name_option_and_value") {
    struct bad_case {
      std::vector<std::string> extra;
      std::string expect;
    };
    const bad_case cases[] = {
        {{"--threads", "0"}, "bad --threads \"0\""},
        {{"--threads", "abc"}, "bad --threads \"abc\""},
        {{"--retries", "-1"}, "bad --retries \"-1\""},
        {{"--maxconn", "lots"}, "bad --maxconn \"lots\""},
        {{"--connect-timeout", "5"}, "bad --connect-timeout \"5\""},
        {{"--connect-timeout", "0"}, "bad --connect-timeout \"0\""},
        {{"--drain-timeout", "soon"}, "bad --drain-timeout \"soon\""},
        {{"--balance", "random"}, "bad --balance \"random\""},
        {{"--source-mode", "magic"}, "bad --source-mode \"magic\""},
        {{"--send-proxy", "v3"}, "bad --send-proxy \"v3\""},
        {{"--splice", "always"}, "bad --splice \"always\""},
        {{"--log-level", "loud"}, "bad --log-level \"loud\""},
        {{"--warn", "101"}, "bad --warn \"101\""},
        {{"--warn", "96"}, "bad --warn \"96\": above --crit \"95\""},
        {{"--ports", "70000-80000"}, "bad --ports: bad port range \"70000-80000\""},
        {{"--partition", "4/4"}, "bad --partition"},
        {{"--admin", "localhost:99"}, "bad --admin"},
        {{"--backend", "127.0.0.1:8080,weight=999"}, "weight must be 0 to 256"},
        {{"--backend", "127.0.0.1:8080,speed=2"}, "expected HOST:PORT[,weight=N]"},
        {{"--listen", "127.0.0.1"}, "bad --listen"},
        {{"--frobnicate", "1"}, "frobnicate"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.expect);
      const auto message = parse_error(with(c.extra));
      CHECK(message.find(c.expect) != std::string::npos);
      CHECK(message.find('\n') == std::string::npos); // one line
    }
  }

  TEST_CASE("missing_required") {
    CHECK(parse_error({"--backend", "127.0.0.1:8080", "--source", "127.0.0.2"})
              .find("missing --listen") != std::string::npos);
    CHECK(parse_error({"--listen", "127.0.0.1:8000", "--source", "127.0.0.2"})
              .find("missing --backend") != std::string::npos);
    CHECK(parse_error({"--listen", "127.0.0.1:8000", "--backend", "127.0.0.1:8080"})
              .find("missing --source") != std::string::npos);
    // Kernel mode needs no source pool.
    const auto c = parse_ok(
        {"--listen", "127.0.0.1:8000", "--backend", "127.0.0.1:8080", "--source-mode", "kernel"});
    CHECK(c.sources.empty());
  }

  TEST_CASE("help_has_every_option_and_an_example") {
    auto outcome = parse({"--help"});
    REQUIRE(std::holds_alternative<help_request>(outcome));
    const auto& text = std::get<help_request>(outcome).text;
    for (const char* option :
         {"--listen",          "--backend",      "--source",        "--ports",
          "--source-mode",     "--threads",      "--balance",       "--maxconn",
          "--connect-timeout", "--idle-timeout", "--retries",       "--health-interval",
          "--admin",           "--warn",         "--crit",          "--log-level",
          "--access-log",      "--send-proxy",   "--drain-timeout", "--partition",
          "--config",          "Example:"})
      CHECK_MESSAGE(text.find(option) != std::string::npos, option);
  }

  TEST_CASE("ini_file") {
    const std::string path = "portpool_proxy_test_config.ini";
    {
      std::ofstream f(path);
      f << "# comment\nlisten = 127.0.0.1:8000\nbackend = 127.0.0.1:8080\n"
           "backend = 127.0.0.1:8081,weight=2\nsource = 127.0.0.2-127.0.0.3\n"
           "threads = 3\nidle-timeout = 30s\nsend-proxy = v1\n";
    }
    auto c = parse_ok({"--config", path});
    CHECK(c.backends.size() == 2);
    CHECK(c.backends[1].weight == 2);
    CHECK(c.threads == 3);
    CHECK(c.idle_timeout == 30s);
    CHECK(c.send_proxy == proxy_header::v1);
    // The command line wins over the file.
    c = parse_ok({"--config", path, "--threads", "2", "--backend", "127.0.0.1:9000"});
    CHECK(c.threads == 2);
    REQUIRE(c.backends.size() == 1);
    CHECK(c.backends[0].address.port == 9000);
    {
      std::ofstream f(path);
      f << "listen = 127.0.0.1:8000\nbackend = 127.0.0.1:8080\nsource = 127.0.0.2\n"
           "threads = many\n";
    }
    CHECK(parse_error({"--config", path}).find("bad --threads \"many\"") != std::string::npos);
    {
      std::ofstream f(path);
      f << "listen = 127.0.0.1:8000\nbogus = 1\n";
    }
    const auto unknown = parse_error({"--config", path});
    CHECK(unknown.find(path) != std::string::npos);
    CHECK(unknown.find("bogus") != std::string::npos);
    std::remove(path.c_str());
    CHECK(parse_error({"--config", "/nonexistent/proxy.ini"}).find("cannot read --config") !=
          std::string::npos);
  }
}
