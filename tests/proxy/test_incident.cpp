// The incident, reproduced through the proxy binary: ephemeral range 40000-40299 (300
// ports), two echo backends. Kernel mode serves exactly 600 clients and closes the rest
// promptly with a logged error; pool mode (4 sources x 300 ports) serves 2,400 with zero
// failures. The proxy runs as a child process, the backends in two more, the clients
// here, each with its own open-file budget.
#include "proxy_harness.hpp"

#include <doctest/doctest.h>

using namespace portpool::proxy_testing;

namespace {

const tcp::endpoint proxy_address(asio::ip::make_address("127.0.0.1"), 8000);
constexpr std::uint16_t admin_port = 9900;
constexpr std::size_t message_size = 256;

std::vector<std::string> proxy_args(std::vector<std::string> extra) {
  std::vector<std::string> args = {"--listen",  "127.0.0.1:8000", "--backend", "127.0.0.1:9001",
                                   "--backend", "127.0.0.1:9002", "--threads", "2",
                                   "--admin",   "127.0.0.1:9900", "--retries", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

const boost::json::object& destination(const boost::json::value& stats, const char* name) {
  for (const auto& d : stats.at("destinations").as_array())
    if (d.at("destination").as_string() == name) return d.as_object();
  throw std::runtime_error(std::string("no destination ") + name + " in /stats");
}

} // namespace

TEST_CASE("incident_kernel_mode") {
  auto b1 = spawn_echo_backend(9001);
  auto b2 = spawn_echo_backend(9002);
  wait_for_port(9001);
  wait_for_port(9002);
  const std::string log = "proxy_incident_kernel.log";
  // No health checks: each probe would take a port from the very range being counted.
  auto proxy = spawn(PORTPOOL_PROXY_BINARY,
                     proxy_args({"--source-mode", "kernel", "--health-interval", "0"}), log);
  wait_for_port(admin_port); // bound after the listeners

  client_fleet fleet;
  fleet.run(0, 800, proxy_address, message_size);
  INFO("proxy log:\n" << read_file(log).substr(0, 4000));
  CHECK(fleet.first_failure() == "");
  CHECK(fleet.echoed() == 600); // 300 ports x 2 backends, exactly
  CHECK(fleet.closed() == 200);
  for (const auto& c : fleet.clients)
    if (c.closed) CHECK(c.took < std::chrono::milliseconds(3000)); // promptly, no hang

  // The refused clients' sessions end just after their sockets close.
  CHECK(eventually(
      [] { return json_u64(get_stats(admin_port).at("connections").at("active")) == 600; }));
  const auto stats = get_stats(admin_port);
  CHECK(json_u64(stats.at("connections").at("active")) == 600);
  CHECK(json_u64(stats.at("connections").at("failed")) == 200);
  for (const char* name : {"127.0.0.1:9001", "127.0.0.1:9002"}) {
    const auto& d = destination(stats, name);
    CHECK(json_u64(d.at("used")) == 300);
    CHECK(json_u64(d.at("capacity")) == 300);
    CHECK(json_u64(d.at("exhausted")) > 0);
  }
  const auto text = read_file(log);
  CHECK(text.find("capacity 300 connections = the kernel's ephemeral range 40000-40299") !=
        std::string::npos);
  CHECK(text.find("no backend reachable") != std::string::npos);
  CHECK(text.find("ephemeral range 40000-40299 (300 ports) is used up") != std::string::npos);
  CHECK(text.find("--source-mode pool") != std::string::npos);
  // The warning the incident never had: open connections against the kernel's range.
  CHECK(text.find("WARNING: connections from all sources to 127.0.0.1:9001 have used 240 of "
                  "300 ports (80%)") != std::string::npos);
  CHECK(text.find("CRITICAL: connections from all sources to 127.0.0.1:9002") != std::string::npos);

  fleet.close_all();
  proxy.kill(SIGTERM);
  CHECK(proxy.wait_exit(std::chrono::seconds(10)) == 0);
}

TEST_CASE("incident_pool_mode") {
  auto b1 = spawn_echo_backend(9001);
  auto b2 = spawn_echo_backend(9002);
  wait_for_port(9001);
  wait_for_port(9002);
  const std::string log = "proxy_incident_pool.log";
  auto proxy = spawn(PORTPOOL_PROXY_BINARY,
                     proxy_args({"--source", "127.0.0.2-127.0.0.5", "--ports", "20000-20299",
                                 "--health-interval", "1s"}),
                     log);
  wait_for_port(admin_port);

  client_fleet fleet;
  fleet.run(0, 2400, proxy_address, message_size);
  INFO("proxy log:\n" << read_file(log).substr(0, 4000));
  CHECK(fleet.first_failure() == "");
  CHECK(fleet.echoed() == 2400); // 4 sources x 300 ports x 2 backends, zero failures
  CHECK(fleet.closed() == 0);

  // The admin endpoint during load, all 2,400 connections open.
  const auto stats = get_stats(admin_port);
  CHECK(json_u64(stats.at("connections").at("active")) == 2400);
  CHECK(json_u64(stats.at("connections").at("total")) == 2400);
  CHECK(json_u64(stats.at("connections").at("failed")) == 0);
  for (const char* name : {"127.0.0.1:9001", "127.0.0.1:9002"}) {
    const auto& d = destination(stats, name);
    CHECK(json_u64(d.at("used")) == 1200);
    CHECK(json_u64(d.at("capacity")) == 1200);
    CHECK(json_u64(d.at("high_water")) == 1200);
    CHECK(json_u64(d.at("exhausted")) == 0);
    const auto& sources = d.at("sources").as_array();
    REQUIRE(sources.size() == 4);
    for (const auto& s : sources) {
      CHECK(json_u64(s.at("used")) == 300);
      CHECK(json_u64(s.at("capacity")) == 300);
    }
  }
  const auto [metrics_status, metrics] = http_get(admin_port, "/metrics");
  CHECK(metrics_status == 200);
  for (const char* b : {"127.0.0.1:9001", "127.0.0.1:9002"}) {
    const std::string label = std::string("{backend=\"") + b + "\"";
    CHECK(metric(metrics, "portpool_proxy_backend_used" + label + "}") == 1200);
    CHECK(metric(metrics, "portpool_proxy_backend_capacity" + label + "}") == 1200);
    CHECK(metric(metrics, "portpool_proxy_backend_connections_total" + label + "}") == 1200);
    CHECK(metric(metrics, "portpool_proxy_backend_bytes_total" + label +
                              ",direction=\"to_backend\"}") == 1200 * message_size);
    CHECK(metric(metrics, "portpool_proxy_backend_bytes_total" + label +
                              ",direction=\"to_client\"}") == 1200 * message_size);
    CHECK(metric(metrics, "portpool_proxy_source_used" + label + ",source=\"127.0.0.3\"}") == 300);
  }
  CHECK(metric(metrics, "portpool_proxy_client_connections") == 2400);
  // 2 sockets per client, plus listeners, admin, epoll, log: at least 4,800.
  CHECK(metric(metrics, "portpool_proxy_process_open_fds") >= 4800);
  CHECK(http_get(admin_port, "/healthz").first == 200);

  // One more: the pool is full, so the client is closed at once with a line naming
  // the group and the fix.
  client_fleet extra;
  extra.run(2400, 1, proxy_address, message_size);
  CHECK(extra.closed() == 1);
  CHECK(extra.clients.front().took < std::chrono::milliseconds(3000));

  const auto text = read_file(log);
  CHECK(text.find("capacity 1200 connections = 4 sources x 300 ports") != std::string::npos);
  CHECK(text.find("WARNING: connections from 127.0.0.2 to 127.0.0.1:9001 have used 240 of 300 "
                  "ports (80%)") != std::string::npos);
  CHECK(text.find("CRITICAL: connections from all sources to 127.0.0.1:9002 have used") !=
        std::string::npos);
  CHECK(text.find("no free source port from all sources") != std::string::npos);
  CHECK(text.find("overlap the kernel's ephemeral range") == std::string::npos);

  // Everyone leaves: every lease returns, and the groups log their recovery.
  fleet.close_all();
  extra.close_all();
  CHECK(eventually([&] {
    const auto s = get_stats(admin_port);
    return json_u64(destination(s, "127.0.0.1:9001").at("used")) == 0 &&
           json_u64(destination(s, "127.0.0.1:9002").at("used")) == 0 &&
           json_u64(s.at("connections").at("active")) == 0;
  }));
  CHECK(read_file(log).find("OK: connections from 127.0.0.2 to 127.0.0.1:9001 are back to") !=
        std::string::npos);
  proxy.kill(SIGTERM);
  CHECK(proxy.wait_exit(std::chrono::seconds(10)) == 0);
}
