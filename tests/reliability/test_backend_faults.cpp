// Faults on the backend side: nothing listening, a backend killed mid-stream, a backend
// that drops SYNs, and every source slot toward a backend taken.
#include "fault_harness.hpp"

using namespace portpool::reliability;

namespace {

std::vector<std::string> two_backends(std::vector<std::string> extra) {
  std::vector<std::string> args = {
      "--backend",           "127.0.0.1:9001", "--backend",   "127.0.0.1:9002",    "--source",
      "127.0.0.2-127.0.0.3", "--ports",        "20000-20099", "--health-interval", "0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::string failures(const std::string& backend, const std::string& reason) {
  return "portpool_proxy_backend_failures_total{backend=\"" + backend + "\",reason=\"" + reason +
         "\"}";
}

} // namespace

TEST_CASE("backend_refuses") {
  // 9001 has nothing listening: every client sent there must be retried on 9002.
  test_backend live(9002, backend_behaviour::echo);
  proxy_process proxy(two_backends({"--retries", "3"}), "reliability_backend_refuses.log");
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  const auto fds = idle_fd_baseline(proxy);

  std::size_t echoed = 0;
  for (std::size_t i = 0; i < 20; ++i) {
    test_client c;
    REQUIRE(c.connect());
    echoed += c.echo(message_for(i, 2000), 5s) == read_outcome::complete;
  }
  CHECK(echoed == 20);
  CHECK(proxy.metric(failures("127.0.0.1:9001", "refused")) >= 10);
  CHECK(proxy.destination("127.0.0.1:9001").at("used").to_number<std::uint64_t>() == 0);
  check_recovered(proxy, fds);
}

TEST_CASE("backend_killed_mid_stream") {
  auto doomed = std::make_unique<test_backend>(9001, backend_behaviour::echo);
  test_backend live(9002, backend_behaviour::echo);
  proxy_process proxy(two_backends({}), "reliability_backend_killed.log");
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  const auto fds = idle_fd_baseline(proxy);

  std::vector<test_client> clients(20);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    REQUIRE(clients[i].connect());
    REQUIRE(clients[i].echo(message_for(i, 1000)) == read_outcome::complete);
  }
  const auto on_doomed = proxy.destination("127.0.0.1:9001").at("active").to_number<std::size_t>();
  REQUIRE(on_doomed > 0);
  // Mid-stream: every client is in the middle of its conversation when the backend
  // dies; then each sends 64 KiB more.
  doomed->close_all();
  for (std::size_t i = 0; i < clients.size(); ++i)
    clients[i].send_all(message_for(i, 65536), 2s); // a closed one may refuse: fine

  std::size_t completed = 0, closed = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < clients.size(); ++i) {
    std::string back;
    const auto r = clients[i].read_exact(back, 65536, 5s);
    completed += r == read_outcome::complete;
    if (r != read_outcome::complete) {
      // A closed client sees EOF or a reset, never a stall.
      std::string rest;
      closed += clients[i].read_to_eof(rest, 5s) != read_outcome::timed_out;
    }
  }
  CHECK(std::chrono::steady_clock::now() - start < 10s);
  CHECK(completed == clients.size() - on_doomed);
  CHECK(closed == on_doomed);
  clients.clear();
  doomed.reset();
  check_recovered(proxy, fds);
}

TEST_CASE("backend_blackholed") {
  // 9001 drops every SYN: each connect there must give up at the connect deadline and the
  // client be retried on 9002.
  blackhole_backend hole(9001);
  test_backend live(9002, backend_behaviour::echo);
  proxy_process proxy(two_backends({"--connect-timeout", "300ms", "--retries", "3"}),
                      "reliability_backend_blackholed.log");
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  const auto fds = idle_fd_baseline(proxy);

  std::size_t echoed = 0;
  std::chrono::milliseconds slowest{0};
  for (std::size_t i = 0; i < 10; ++i) {
    const auto start = std::chrono::steady_clock::now();
    test_client c;
    REQUIRE(c.connect());
    echoed += c.echo(message_for(i, 1000), 5s) == read_outcome::complete;
    slowest = std::max(slowest, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - start));
  }
  CHECK(echoed == 10);
  // One deadline (300 ms) at most per client, plus scheduling slack.
  CHECK(slowest < 2000ms);
  CHECK(proxy.metric(failures("127.0.0.1:9001", "timeout")) >= 4);
  check_recovered(proxy, fds);
}

TEST_CASE("all_sources_exhausted") {
  // One source, 5 ports: 5 slots per backend. Weights 3:1 send 6 of 8 clients to 9001;
  // the 6th finds its sources exhausted and must be served by 9002.
  test_backend a(9001, backend_behaviour::echo);
  test_backend b(9002, backend_behaviour::echo);
  proxy_process proxy({"--backend", "127.0.0.1:9001,weight=3", "--backend",
                       "127.0.0.1:9002,weight=1", "--source", "127.0.0.2", "--ports", "20000-20004",
                       "--health-interval", "0"},
                      "reliability_all_sources_exhausted.log");
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  const auto fds = idle_fd_baseline(proxy);

  std::vector<test_client> clients(8);
  std::size_t echoed = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    REQUIRE(clients[i].connect());
    echoed += clients[i].echo(message_for(i, 1000)) == read_outcome::complete;
  }
  CHECK(echoed == 8);
  CHECK(proxy.destination("127.0.0.1:9001").at("used").to_number<std::uint64_t>() == 5);
  CHECK(proxy.destination("127.0.0.1:9002").at("used").to_number<std::uint64_t>() == 3);
  CHECK(proxy.metric(failures("127.0.0.1:9001", "exhausted")) >= 1);

  // Fill 9002 too: then a client has nowhere to go and is closed promptly.
  for (std::size_t i = 8; i < 10; ++i) {
    REQUIRE(clients.emplace_back().connect());
    CHECK(clients.back().echo(message_for(i, 1000)) == read_outcome::complete);
  }
  test_client unlucky;
  REQUIRE(unlucky.connect());
  const auto start = std::chrono::steady_clock::now();
  CHECK(unlucky.echo(message_for(10, 1000), 5s) == read_outcome::closed);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(proxy.metric(failures("127.0.0.1:9002", "exhausted")) >= 1);
  CHECK(proxy.stats().at("connections").at("failed").to_number<std::uint64_t>() >= 1);
  // The error says which backend ran out and why.
  const auto log = proxy.log_text();
  CHECK(log.find("no free source port") != std::string::npos);
  CHECK(log.find("127.0.0.1:9002") != std::string::npos);
  unlucky.close();
  clients.clear();
  check_recovered(proxy, fds);
}
