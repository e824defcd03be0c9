// Faults of the proxy process itself: running out of descriptors, and SIGTERM under load.
#include "fault_harness.hpp"

using namespace portpool::reliability;

namespace {

std::chrono::milliseconds until(std::chrono::steady_clock::time_point deadline) {
  return std::max(0ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                           deadline - std::chrono::steady_clock::now()));
}

} // namespace

TEST_CASE("descriptor_exhaustion") {
  // Open-file limit 64 but --maxconn 1000: the proxy runs out of descriptors with about
  // 24 clients open. A client beyond that is either closed at once (counted and logged)
  // or left in the kernel's backlog while accept() fails with EMFILE and the proxy backs
  // off; the proxy must not spin, and the waiting clients must be served once load drops.
  test_backend echo(9001, backend_behaviour::echo);
  proxy_process proxy({"--backend", "127.0.0.1:9001", "--source", "127.0.0.2", "--ports",
                       "20000-20099", "--health-interval", "0", "--maxconn", "1000"},
                      "reliability_descriptor_exhaustion.log", 64);
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  const auto fds = idle_fd_baseline(proxy);

  // 60 clients at once, kept open: two descriptors each would be 120.
  std::vector<test_client> clients(60);
  for (auto& c : clients)
    REQUIRE(c.connect()); // the kernel's backlog takes them all
  for (std::size_t i = 0; i < clients.size(); ++i)
    clients[i].send_all(message_for(i, 1000), 1s);
  enum class fate { served, closed, waiting };
  std::vector<fate> fates(clients.size());
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    std::string back;
    const auto r = clients[i].read_exact(back, 1000, until(deadline));
    fates[i] = r == read_outcome::complete ? fate::served
               : r == read_outcome::closed ? fate::closed
                                           : fate::waiting;
  }
  const auto count = [&](fate f) {
    return static_cast<std::size_t>(std::count(fates.begin(), fates.end(), f));
  };
  const auto served = count(fate::served), closed = count(fate::closed),
             waiting = count(fate::waiting);
  CHECK(served > 0);
  CHECK(served < clients.size());
  // (The admin endpoint shares the descriptor budget: it is asked only after load drops.)
  CHECK(proxy.log_text().find("Too many open files") != std::string::npos);
  // While descriptors are short the proxy does not spin.
  const auto ticks_before = proxy.cpu_ticks();
  std::this_thread::sleep_for(2s);
  const auto ticks = proxy.cpu_ticks() - ticks_before;
  CHECK(ticks < static_cast<unsigned long long>(::sysconf(_SC_CLK_TCK)) / 2); // < 25% of a core

  // Load drops: the served clients leave; every waiting one is then served, in turn.
  for (std::size_t i = 0; i < clients.size(); ++i)
    if (fates[i] != fate::waiting) clients[i].close();
  std::size_t late_served = 0;
  const auto late_deadline = std::chrono::steady_clock::now() + 30s;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (fates[i] != fate::waiting) continue;
    std::string back;
    late_served +=
        clients[i].read_exact(back, 1000, until(late_deadline)) == read_outcome::complete;
    clients[i].close(); // frees its descriptors for the next one
  }
  CHECK(late_served == waiting);
  clients.clear();
  CHECK(eventually([&] { return proxy.active_clients() == 0; }, 10s));
  const auto accept_errors = proxy.metric("portpool_proxy_accept_errors_total");
  MESSAGE("served at first ", served, ", closed ", closed, ", waiting then served ", waiting,
          ", accept errors ", accept_errors);
  // Every closed client is counted as a failure; a client is left waiting only because
  // accept() failed and the proxy paused.
  CHECK(proxy.stats().at("connections").at("failed").to_number<std::size_t>() == closed);
  if (waiting > 0) CHECK(accept_errors >= 1);

  // As many clients at once as fitted the first time are all served.
  std::vector<test_client> second(served);
  std::size_t served_again = 0;
  for (std::size_t i = 0; i < second.size(); ++i) {
    REQUIRE(second[i].connect());
    served_again += second[i].echo(message_for(100 + i, 1000), 5s) == read_outcome::complete;
  }
  CHECK(served_again == served);
  second.clear();
  check_recovered(proxy, fds);
}

TEST_CASE("sigterm_under_load") {
  // 20 clients mid-conversation when SIGTERM comes: no new client is accepted, every
  // open one keeps being served until it leaves, then the proxy exits 0.
  test_backend echo(9001, backend_behaviour::echo);
  proxy_process proxy({"--backend", "127.0.0.1:9001", "--source", "127.0.0.2", "--ports",
                       "20000-20099", "--health-interval", "0", "--drain-timeout", "20s"},
                      "reliability_sigterm_under_load.log");
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  std::vector<test_client> clients(20);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    REQUIRE(clients[i].connect());
    REQUIRE(clients[i].send_all(message_for(i, 65536)));
  }
  proxy.signal(SIGTERM);
  std::size_t completed = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    std::string back;
    completed += clients[i].read_exact(back, 65536, 10s) == read_outcome::complete &&
                 back == message_for(i, 65536);
  }
  CHECK(completed == clients.size());
  // Still draining: a further round trip works, a new client does not get in.
  CHECK(eventually(
      [] {
        test_client late;
        return !late.connect(proxy_process::listen_port, 1s);
      },
      5s));
  for (std::size_t i = 0; i < clients.size(); ++i)
    CHECK(clients[i].echo(message_for(i, 1000), 5s) == read_outcome::complete);
  CHECK(proxy.wait_exit(500ms) == -1); // clients still open: it waits for them
  const auto last_left = std::chrono::steady_clock::now();
  clients.clear();
  CHECK(proxy.wait_exit(5s) == 0);
  CHECK(std::chrono::steady_clock::now() - last_left < 5s);
}
