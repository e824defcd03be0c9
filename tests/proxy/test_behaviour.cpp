// The proxy binary's behaviour on real sockets in a private namespace: a backend killed
// mid-stream, half-close, PROXY headers, the drain on SIGTERM, health checks, and bad
// options.
#include "proxy_harness.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using namespace portpool::proxy_testing;

namespace {

const tcp::endpoint proxy_address(asio::ip::make_address("127.0.0.1"), 8000);
constexpr std::uint16_t admin_port = 9900;

std::vector<std::string> pool_args(std::vector<std::string> extra,
                                   std::string sources = "127.0.0.2-127.0.0.5",
                                   std::string ports = "20000-20299") {
  std::vector<std::string> args = {
      "--listen",       "127.0.0.1:8000", "--backend", "127.0.0.1:9001", "--backend",
      "127.0.0.1:9002", "--source",       sources,     "--ports",        ports,
      "--admin",        "127.0.0.1:9900"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

const boost::json::object& destination(const boost::json::value& stats, const char* name) {
  for (const auto& d : stats.at("destinations").as_array())
    if (d.at("destination").as_string() == name) return d.as_object();
  throw std::runtime_error(std::string("no destination ") + name + " in /stats");
}

std::uint64_t used(const char* name) {
  return json_u64(destination(get_stats(admin_port), name).at("used"));
}

bool port_is_free(std::uint16_t port) {
  asio::io_context io;
  tcp::acceptor a(io);
  boost::system::error_code ec;
  a.open(tcp::v4(), ec);
  // SO_REUSEADDR: connections still open on the port do not count, only a listener.
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind({asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

// A blocking client bound to 127.0.1.9:`port`.
tcp::socket connect_client(asio::io_context& io, std::uint16_t port) {
  tcp::socket s(io, tcp::v4());
  s.set_option(tcp::socket::reuse_address(true));
  s.bind({asio::ip::make_address("127.0.1.9"), port});
  s.connect(proxy_address);
  return s;
}

} // namespace

TEST_CASE("backend_killed_mid_stream") {
  auto b1 = spawn_echo_backend(9001);
  auto b2 = spawn_echo_backend(9002);
  wait_for_port(9001);
  wait_for_port(9002);
  const std::string log = "proxy_backend_killed.log";
  auto proxy = spawn(PORTPOOL_PROXY_BINARY, pool_args({"--health-interval", "200ms"}), log);
  wait_for_port(admin_port);
  INFO("proxy log:\n" << read_file(log).substr(0, 4000));

  client_fleet fleet;
  fleet.run(0, 100, proxy_address, 1000);
  REQUIRE(fleet.echoed() == 100);
  const auto on_dead = used("127.0.0.1:9001");
  CHECK(on_dead == 50); // round robin
  CHECK(used("127.0.0.1:9002") == 50);

  b1.kill(SIGKILL);
  // Its clients are closed; the others keep echoing.
  fleet.exchange_again(1000);
  CHECK(fleet.first_failure() == "");
  CHECK(fleet.closed() == on_dead);
  CHECK(fleet.echoed() == 100 - on_dead);
  // Its leases return.
  CHECK(eventually([] { return used("127.0.0.1:9001") == 0; }));
  CHECK(eventually(
      [] { return !destination(get_stats(admin_port), "127.0.0.1:9001").at("up").as_bool(); }));

  // New clients all reach the other backend.
  client_fleet more;
  more.run(1000, 50, proxy_address, 1000);
  CHECK(more.first_failure() == "");
  CHECK(more.echoed() == 50);
  CHECK(used("127.0.0.1:9002") == 100);
  CHECK(read_file(log).find("backend 127.0.0.1:9001 is DOWN") != std::string::npos);

  // Everyone leaves: leases in use return to 0.
  fleet.close_all();
  more.close_all();
  CHECK(eventually([] {
    const auto s = get_stats(admin_port);
    return json_u64(destination(s, "127.0.0.1:9001").at("used")) == 0 &&
           json_u64(destination(s, "127.0.0.1:9002").at("used")) == 0 &&
           json_u64(s.at("connections").at("active")) == 0;
  }));

  // The backend comes back: health checks put it back in rotation.
  b1 = spawn_echo_backend(9001);
  CHECK(eventually(
      [] { return destination(get_stats(admin_port), "127.0.0.1:9001").at("up").as_bool(); }));
  CHECK(read_file(log).find("backend 127.0.0.1:9001 is UP again") != std::string::npos);
  proxy.kill(SIGTERM);
  CHECK(proxy.wait_exit(std::chrono::seconds(10)) == 0);
}

TEST_CASE("half_close") {
  // The backend answers only after the client's FIN: the proxy must pass the FIN on and
  // keep the other direction open.
  auto b1 = spawn_echo_backend(9001, backend_kind::reply_after_eof);
  wait_for_port(9001);
  const std::string log = "proxy_half_close.log";
  auto proxy = spawn(PORTPOOL_PROXY_BINARY,
                     {"--listen", "127.0.0.1:8000", "--backend", "127.0.0.1:9001", "--source",
                      "127.0.0.2", "--ports", "20000-20099", "--admin", "127.0.0.1:9900"},
                     log);
  wait_for_port(admin_port);
  asio::io_context io;
  for (std::uint16_t i = 0; i < 3; ++i) {
    auto s = connect_client(io, static_cast<std::uint16_t>(31000 + i));
    const std::string request(5000 + i, 'x');
    asio::write(s, asio::buffer(request));
    s.shutdown(tcp::socket::shutdown_send);
    std::string reply;
    boost::system::error_code ec;
    asio::read(s, asio::dynamic_buffer(reply), ec);
    CHECK(ec == asio::error::eof);
    CHECK(reply ==
          "got " + std::to_string(request.size()) + " bytes: " + std::string(request.size(), 'X'));
  }
  CHECK(eventually([] { return used("127.0.0.1:9001") == 0; }));
  proxy.kill(SIGTERM);
  CHECK(proxy.wait_exit(std::chrono::seconds(10)) == 0);
}

TEST_CASE("send_proxy") {
  asio::io_context io;
  tcp::acceptor backend(io, {asio::ip::make_address("127.0.0.1"), 9001});
  for (const char* version : {"v1", "v2"}) {
    CAPTURE(version);
    const std::string log = std::string("proxy_send_proxy_") + version + ".log";
    auto proxy = spawn(PORTPOOL_PROXY_BINARY,
                       {"--listen", "127.0.0.1:8000", "--backend", "127.0.0.1:9001", "--source",
                        "127.0.0.2", "--ports", "20000-20099", "--health-interval", "0",
                        "--send-proxy", version, "--admin", "127.0.0.1:9900"},
                       log);
    wait_for_port(admin_port);
    auto client = connect_client(io, 31010);
    asio::write(client, asio::buffer(std::string("hello")));
    auto upstream = backend.accept();
    std::vector<std::uint8_t> expected;
    if (std::string(version) == "v1") {
      const std::string line = "PROXY TCP4 127.0.1.9 127.0.0.1 31010 8000\r\nhello";
      expected.assign(line.begin(), line.end());
    } else {
      expected = {0x0D,        0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A,       0x51,         0x55,
                  0x49,        0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C,       127,          0,
                  1,           9,    127,  0,    0,    1,    31010 >> 8, 31010 & 0xff, 8000 >> 8,
                  8000 & 0xff, 'h',  'e',  'l',  'l',  'o'};
    }
    std::vector<std::uint8_t> got(expected.size());
    asio::read(upstream, asio::buffer(got));
    CHECK(got == expected);
    // And the reply comes back without any header.
    asio::write(upstream, asio::buffer(std::string("world")));
    std::string reply(5, '\0');
    asio::read(client, asio::buffer(reply));
    CHECK(reply == "world");
    client.close();
    upstream.close();
    proxy.kill(SIGTERM);
    CHECK(proxy.wait_exit(std::chrono::seconds(10)) == 0);
  }
}

TEST_CASE("drain_on_sigterm") {
  auto b1 = spawn_echo_backend(9001);
  wait_for_port(9001);
  const std::string log = "proxy_drain.log";
  auto proxy =
      spawn(PORTPOOL_PROXY_BINARY,
            {"--listen", "127.0.0.1:8000", "--backend", "127.0.0.1:9001", "--source", "127.0.0.2",
             "--ports", "20000-20099", "--drain-timeout", "1500ms", "--admin", "127.0.0.1:9900"},
            log);
  wait_for_port(admin_port);
  client_fleet fleet;
  fleet.run(0, 5, proxy_address, 100);
  REQUIRE(fleet.echoed() == 5);

  const auto signalled = std::chrono::steady_clock::now();
  proxy.kill(SIGTERM);
  // Stops accepting at once...
  CHECK(eventually([] { return port_is_free(8000); }, std::chrono::milliseconds(1000)));
  // ...but live connections still work during the drain...
  fleet.exchange_again(100);
  CHECK(fleet.echoed() == 5);
  // ...until --drain-timeout closes them; then the proxy exits 0.
  CHECK(proxy.wait_exit(std::chrono::seconds(10)) == 0);
  const auto took = std::chrono::steady_clock::now() - signalled;
  CHECK(took >= std::chrono::milliseconds(1400));
  CHECK(took < std::chrono::milliseconds(5000));
  fleet.exchange_again(100);
  CHECK(fleet.closed() == 5);
  const auto text = read_file(log);
  CHECK(text.find("draining") != std::string::npos);
  CHECK(text.find("drain timeout: closing 5 connections") != std::string::npos);
  CHECK(text.find("did not close in time") == std::string::npos);

  // With no connections left the drain ends at once.
  auto again =
      spawn(PORTPOOL_PROXY_BINARY,
            {"--listen", "127.0.0.1:8000", "--backend", "127.0.0.1:9001", "--source", "127.0.0.2",
             "--ports", "20000-20099", "--drain-timeout", "1m", "--admin", "127.0.0.1:9900"},
            "proxy_drain_idle.log");
  wait_for_port(admin_port);
  again.kill(SIGINT);
  CHECK(again.wait_exit(std::chrono::seconds(5)) == 0);
}

TEST_CASE("health_checks_tell_dead_backend_from_broken_source") {
  auto b1 = spawn_echo_backend(9001);
  auto b2 = spawn_echo_backend(9002);
  wait_for_port(9001);
  wait_for_port(9002);
  const std::string log = "proxy_health.log";
  // 10.9.9.9 is on no interface of the namespace: binding to it fails, as for an address
  // an operator listed but never configured.
  auto proxy =
      spawn(PORTPOOL_PROXY_BINARY,
            pool_args({"--health-interval", "100ms"}, "127.0.0.2,10.9.9.9,127.0.0.3"), log);
  wait_for_port(admin_port);
  INFO("proxy log:\n" << read_file(log).substr(0, 4000));
  auto source_up = [](const char* source) {
    const auto stats = get_stats(admin_port); // must outlive the loop
    for (const auto& s : destination(stats, "127.0.0.1:9001").at("sources").as_array())
      if (s.at("source").as_string() == source) return s.at("up").as_bool();
    throw std::runtime_error("no source");
  };
  CHECK(eventually([&] { return !source_up("10.9.9.9"); }));
  CHECK(source_up("127.0.0.2"));
  CHECK(destination(get_stats(admin_port), "127.0.0.1:9001").at("up").as_bool());
  CHECK(read_file(log).find("source 10.9.9.9 is DOWN") != std::string::npos);
  CHECK(http_get(admin_port, "/healthz").first == 200);

  // Both backends die: both down, /healthz says so.
  b1.kill(SIGKILL);
  b2.kill(SIGKILL);
  CHECK(eventually([] {
    const auto s = get_stats(admin_port);
    return !destination(s, "127.0.0.1:9001").at("up").as_bool() &&
           !destination(s, "127.0.0.1:9002").at("up").as_bool();
  }));
  CHECK(http_get(admin_port, "/healthz").first == 503);
  b1 = spawn_echo_backend(9001);
  CHECK(eventually(
      [] { return destination(get_stats(admin_port), "127.0.0.1:9001").at("up").as_bool(); }));
  CHECK(http_get(admin_port, "/healthz").first == 200);
  proxy.kill(SIGTERM);
  CHECK(proxy.wait_exit(std::chrono::seconds(10)) == 0);
}

TEST_CASE("bad_options_exit_2") {
  struct bad_run {
    std::vector<std::string> args;
    std::string message;
  };
  const std::string ini = "proxy_bad.ini";
  {
    std::ofstream f(ini);
    f << "listen = 127.0.0.1:8000\nbackend = 127.0.0.1:9001\nsource = 127.0.0.2\n"
         "idle-timeout = forever\n";
  }
  const bad_run runs[] = {
      {pool_args({"--threads", "zero"}), "portpool-proxy: bad --threads \"zero\""},
      {pool_args({"--idle-timeout", "5"}), "bad --idle-timeout \"5\""},
      {pool_args({}, "127.0.0.9-127.0.0.2"), "bad --source: bad address pool"},
      {pool_args({}, "127.0.0.2", "65000-70000"), "bad --ports"},
      {pool_args({"--backend", "nowhere"}), "bad --backend"},
      {pool_args({"--partition", "300/400"}), "partition"}, // leaves no ports
      {{"--config", ini}, "bad --idle-timeout \"forever\""},
      {{"--config", "/nonexistent.ini"}, "cannot read --config \"/nonexistent.ini\""},
  };
  for (const auto& run : runs) {
    CAPTURE(run.message);
    auto child = spawn(PORTPOOL_PROXY_BINARY, run.args, "proxy_bad.log");
    CHECK(child.wait_exit(std::chrono::seconds(10)) == 2);
    const auto text = read_file("proxy_bad.log");
    CHECK(text.find(run.message) != std::string::npos);
    CHECK(count_lines_with(text, "\n") == 1); // one line
    CHECK(port_is_free(8000));                // nothing started
    CHECK(port_is_free(admin_port));
  }
  auto help = spawn(PORTPOOL_PROXY_BINARY, {"--help"}, "proxy_help.log");
  CHECK(help.wait_exit(std::chrono::seconds(10)) == 0);
  CHECK(read_file("proxy_help.log").find("Example:") != std::string::npos);
  // A listener that cannot be bound is not a bad value: exit 1, still one line.
  asio::io_context io;
  tcp::acceptor squatter(io, {asio::ip::make_address("127.0.0.1"), 8000});
  auto busy = spawn(PORTPOOL_PROXY_BINARY, pool_args({}), "proxy_busy.log");
  CHECK(busy.wait_exit(std::chrono::seconds(10)) == 1);
  CHECK(read_file("proxy_busy.log").find("cannot listen on 127.0.0.1:8000") != std::string::npos);
}

TEST_CASE("idle_timeout_and_reset") {
  auto b1 = spawn_echo_backend(9001);
  wait_for_port(9001);
  const std::string log = "proxy_idle.log";
  auto proxy = spawn(PORTPOOL_PROXY_BINARY,
                     {"--listen", "127.0.0.1:8000", "--backend", "127.0.0.1:9001", "--source",
                      "127.0.0.2", "--ports", "20000-20099", "--idle-timeout", "700ms", "--admin",
                      "127.0.0.1:9900", "--access-log", "-"},
                     log);
  wait_for_port(admin_port);
  client_fleet fleet;
  fleet.run(0, 3, proxy_address, 100);
  REQUIRE(fleet.echoed() == 3);
  // Traffic keeps a connection alive past the timeout...
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(300ms);
    fleet.exchange_again(100);
  }
  CHECK(fleet.echoed() == 3);
  // ...silence closes it, and its lease returns.
  std::this_thread::sleep_for(1500ms);
  CHECK(used("127.0.0.1:9001") == 0);
  fleet.exchange_again(100);
  CHECK(fleet.closed() == 3);
  CHECK(json_u64(get_stats(admin_port).at("connections").at("idle_timeouts")) == 3);
  CHECK(count_lines_with(read_file(log), "end=\"idle timeout\"") == 3);

  // A client that resets its connection ends the session at once (no wait for the idle
  // timer), and the lease returns.
  client_fleet resetting;
  resetting.run(100, 1, proxy_address, 100);
  REQUIRE(resetting.echoed() == 1);
  auto& s = resetting.clients.front().socket;
  s.set_option(asio::socket_base::linger(true, 0));
  s.close();
  CHECK(eventually([] { return used("127.0.0.1:9001") == 0; }, 300ms));
  proxy.kill(SIGTERM);
  CHECK(proxy.wait_exit(std::chrono::seconds(10)) == 0);
}

namespace {

// What each descriptor of `pid` points at, for failure messages.
std::string fd_targets(pid_t pid) {
  std::string out;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    out += e.path().filename().string() + "->" +
           std::filesystem::read_symlink(e.path(), ec).string() + " ";
  }
  return out;
}

std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

} // namespace

TEST_CASE("bulk_relay_splice_and_copy") {
  // 8 MiB each way through an echo backend, with the splice(2) path (--splice auto: the
  // first full buffer switches a direction to a pipe) and with copies only (--splice
  // off): every byte arrives in order, the byte counters agree, and once the client
  // leaves the proxy holds no pipe (descriptors back to the idle count).
  auto b1 = spawn_echo_backend(9001, backend_kind::echo);
  wait_for_port(9001);
  constexpr std::size_t size = 8 << 20;
  std::string payload(size, '\0');
  std::uint32_t x = 12345;
  for (auto& c : payload) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  for (const std::string mode : {"auto", "off"}) {
    CAPTURE(mode);
    auto proxy = spawn(PORTPOOL_PROXY_BINARY,
                       {"--listen", "127.0.0.1:8000", "--backend", "127.0.0.1:9001", "--source",
                        "127.0.0.2", "--ports", "20000-20099", "--health-interval", "0", "--splice",
                        mode, "--admin", "127.0.0.1:9900"},
                       std::string("proxy_bulk_splice_") + mode + ".log");
    wait_for_port(admin_port);
    // The idle count: the fewest descriptors seen over 300 ms, since the admin connection
    // wait_for_port made may still be closing.
    auto idle_fds = open_fds(proxy.pid());
    const auto idle_targets = fd_targets(proxy.pid());
    for (int i = 0; i < 6; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      idle_fds = std::min(idle_fds, open_fds(proxy.pid()));
    }
    asio::io_context io;
    auto s = connect_client(io, 31050);
    std::thread writer([&] {
      boost::system::error_code ec;
      asio::write(s, asio::buffer(payload), ec);
      s.shutdown(tcp::socket::shutdown_send, ec);
    });
    std::string back;
    back.reserve(size);
    boost::system::error_code ec;
    asio::read(s, asio::dynamic_buffer(back), ec);
    writer.join();
    CHECK(ec == asio::error::eof);
    REQUIRE(back.size() == size);
    CHECK(back == payload);
    s.close();
    const auto destination = [] { return get_stats(admin_port).at("destinations").at(0); };
    CHECK(eventually([&] { return used("127.0.0.1:9001") == 0; }));
    CHECK(json_u64(destination().at("bytes_to_backend")) == size);
    CHECK(json_u64(destination().at("bytes_to_client")) == size);
    const auto spliced = json_u64(get_stats(admin_port).at("connections").at("bytes_spliced"));
    if (mode == "auto")
      CHECK(spliced > size); // most of both directions went through pipes
    else
      CHECK(spliced == 0);
    const bool back_to_idle = eventually([&] { return open_fds(proxy.pid()) == idle_fds; });
    INFO("idle: " << idle_fds << " descriptors (" << idle_targets
                  << "); now: " << fd_targets(proxy.pid()));
    CHECK(back_to_idle);
    proxy.kill(SIGTERM);
    CHECK(proxy.wait_exit(std::chrono::seconds(10)) == 0);
  }
}
