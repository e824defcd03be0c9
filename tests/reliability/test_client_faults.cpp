// Faults on the client side: a client that resets mid-stream, and half-closes in each
// direction while data keeps flowing the other way.
#include "fault_harness.hpp"

using namespace portpool::reliability;

namespace {

std::vector<std::string> one_backend() {
  return {"--backend", "127.0.0.1:9001", "--source",          "127.0.0.2",
          "--ports",   "20000-20099",    "--health-interval", "0"};
}

// One client of a stream_after_eof backend: request, half-close, the whole answer, EOF.
bool request_then_answer(std::size_t i, std::size_t answer) {
  test_client c;
  if (!c.connect() || !c.send_all(message_for(i, 5000))) return false;
  c.shutdown_write();
  std::string got;
  return c.read_to_eof(got, 10s) == read_outcome::complete && got.size() == answer;
}

// One client of a greet_and_shut backend: greeting and EOF, then an upload after it.
bool greeting_then_upload(std::size_t i, std::size_t upload) {
  test_client c;
  if (!c.connect()) return false;
  std::string greeting;
  if (c.read_to_eof(greeting, 5s) != read_outcome::complete || greeting != "hello") return false;
  if (!c.send_all(message_for(i, upload))) return false;
  c.shutdown_write();
  std::string rest; // nothing: the proxy closes once both sides are done
  return c.read_to_eof(rest, 10s) == read_outcome::complete && rest.empty();
}

} // namespace

TEST_CASE("client_resets_mid_stream") {
  test_backend echo(9001, backend_behaviour::echo);
  proxy_process proxy(one_backend(), "reliability_client_resets.log");
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  const auto fds = idle_fd_baseline(proxy);

  // Each client pushes 1 MiB without reading the echo, so the proxy is blocked writing
  // to it when the client resets.
  std::vector<test_client> clients(20);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    REQUIRE(clients[i].connect());
    REQUIRE(clients[i].echo(message_for(i, 100)) == read_outcome::complete);
    clients[i].send_all(message_for(i, 1 << 20), 300ms); // partial is the point
  }
  CHECK(proxy.active_clients() == clients.size());
  for (auto& c : clients)
    c.reset();
  check_recovered(proxy, fds);
}

TEST_CASE("half_close_by_client") {
  // The client sends its request and shuts its sending side; the backend answers after
  // EOF with 1 MiB. All of it must reach the client, then EOF.
  constexpr std::size_t answer = 1 << 20;
  test_backend server(9001, backend_behaviour::stream_after_eof, answer);
  proxy_process proxy(one_backend(), "reliability_half_close_client.log");
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  const auto serve_one = [&] { return request_then_answer(100, answer); };
  const auto fds = idle_fd_baseline(proxy, serve_one);

  std::size_t served = 0;
  for (std::size_t i = 0; i < 5; ++i)
    served += request_then_answer(i, answer);
  CHECK(served == 5);
  check_recovered(proxy, fds, serve_one);
}

TEST_CASE("half_close_by_backend") {
  // The backend greets and shuts its sending side at once; the client, having seen EOF,
  // still sends 1 MiB, which must all reach the backend.
  constexpr std::size_t upload = 1 << 20;
  test_backend server(9001, backend_behaviour::greet_and_shut);
  proxy_process proxy(one_backend(), "reliability_half_close_backend.log");
  INFO("proxy log:\n" << proxy.log_text().substr(0, 4000));
  const auto serve_one = [&] { return greeting_then_upload(100, upload); };
  const auto fds = idle_fd_baseline(proxy, serve_one);
  const auto before = server.counted_bytes();

  std::size_t served = 0;
  for (std::size_t i = 0; i < 5; ++i)
    served += greeting_then_upload(i, upload);
  CHECK(served == 5);
  CHECK(eventually([&] { return server.counted_bytes() - before == 5 * upload; }, 10s));
  check_recovered(proxy, fds, serve_one);
}
