// portpool-load hold, run as a child process inside this test's private namespace, whose
// ephemeral range is 40000-40199 (200 ports). Pool ports 20000-20199 stay outside it.
#include "load_harness.hpp"

#include <doctest/doctest.h>

using namespace portpool::load_testing;

namespace {
const tcp::endpoint backend(asio::ip::make_address("127.0.0.1"), 8080);
}

TEST_CASE("hold_kernel_stops_at_range") {
  // The incident: plain connect() toward one destination gets exactly the range size.
  scratch_dir dir;
  asio::io_context io;
  recording_listener listener(io, backend);
  load_process hold(dir, "hold",
                    {"hold", "--target", "127.0.0.1:8080", "--source-mode", "kernel",
                     "--connections", "260", "--duration", "500ms", "--json", dir.file("r.json")});
  CHECK(hold.wait(io) == 1); // some connections failed
  const auto r = read_json(dir.file("r.json"));
  CHECK(r.at("mode").as_string() == "hold");
  CHECK(number(r, "attempted") == 260);
  CHECK(number(r, "ok") == 200);
  CHECK(number(r, "failed") == 60);
  CHECK(number(r, "held") == 200);
  CHECK(r.at("errors").as_object().size() == 1);
  CHECK(number(r.at("errors").as_object(), "EADDRNOTAVAIL") == 60);
  CHECK(r.at("connect_us").as_object().at("count").to_number<std::uint64_t>() == 200);
  CHECK(hold.out().find("EADDRNOTAVAIL 60") != std::string::npos);
  REQUIRE(listener.peers().size() == 200);
  CHECK(listener.distinct_peers().size() == 200);
  for (const auto& p : listener.peers()) {
    CHECK(p.port() >= 40000);
    CHECK(p.port() <= 40199);
  }
}

TEST_CASE("hold_pool_four_sources") {
  // 4 sources x 200 ports: 800 at once toward the same destination, none failing.
  scratch_dir dir;
  asio::io_context io;
  recording_listener listener(io, backend);
  load_process hold(dir, "hold",
                    {"hold", "--target", "127.0.0.1:8080", "--source", "127.0.0.2-127.0.0.5",
                     "--ports", "20000-20199", "--connections", "800", "--duration", "500ms",
                     "--json", dir.file("r.json")});
  CHECK(hold.wait(io) == 0);
  const auto r = read_json(dir.file("r.json"));
  CHECK(number(r, "attempted") == 800);
  CHECK(number(r, "ok") == 800);
  CHECK(number(r, "failed") == 0);
  CHECK(number(r, "held") == 800);
  CHECK(number(r, "peak_established") == 800);
  CHECK(number(r, "slot_conflicts") == 0);
  CHECK(r.at("errors").as_object().empty());
  const auto peers = listener.distinct_peers();
  CHECK(listener.peers().size() == 800);
  CHECK(peers.size() == 800); // every (source ip, port) slot exactly once
  std::set<std::string> sources;
  for (const auto& [ip, port] : peers) {
    sources.insert(ip);
    CHECK(port >= 20000);
    CHECK(port <= 20199);
  }
  CHECK(sources == std::set<std::string>{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"});
}

TEST_CASE("hold_two_workers_split") {
  // Two worker processes share 800 slots through the library's partitions: each gets
  // its own 100 ports per source, none ever collides with the other (no slot conflict),
  // and the parent's totals are the sums of the workers'. 1000 asked: 200 find no slot.
  scratch_dir dir;
  asio::io_context io;
  recording_listener listener(io, backend);
  load_process hold(dir, "hold",
                    {"hold", "--target", "127.0.0.1:8080", "--source", "127.0.0.2-127.0.0.5",
                     "--ports", "20000-20199", "--connections", "1000", "--workers", "2",
                     "--duration", "500ms", "--json", dir.file("r.json")});
  CHECK(hold.wait(io) == 1);
  const auto r = read_json(dir.file("r.json"));
  CHECK(number(r, "workers") == 2);
  CHECK(number(r, "attempted") == 1000);
  CHECK(number(r, "ok") == 800);
  CHECK(number(r, "held") == 800);
  CHECK(number(r, "failed") == 200);
  CHECK(number(r.at("errors").as_object(), "POOL_EXHAUSTED") == 200);
  CHECK(number(r, "slot_conflicts") == 0);
  const auto& workers = r.at("per_worker").as_array();
  REQUIRE(workers.size() == 2);
  std::uint64_t ok_sum = 0, attempted_sum = 0;
  std::set<std::string> partitions;
  for (const auto& w : workers) {
    const auto& wo = w.as_object();
    CHECK(wo.at("finished").as_bool());
    CHECK(number(wo, "ok") == 400);
    CHECK(number(wo, "ports_per_source") == 100);
    CHECK(number(wo, "slots_per_target") == 400);
    CHECK(number(wo, "slot_conflicts") == 0);
    ok_sum += number(wo, "ok");
    attempted_sum += number(wo, "attempted");
    partitions.insert(std::string(wo.at("partition").as_string()));
  }
  CHECK(ok_sum == number(r, "ok"));
  CHECK(attempted_sum == number(r, "attempted"));
  CHECK(partitions == std::set<std::string>{"0/2", "1/2"});
  CHECK(listener.peers().size() == 800);
  CHECK(listener.distinct_peers().size() == 800);
  // Each worker's slice is a contiguous half of the ports: both halves fully used.
  std::size_t low_half = 0;
  for (const auto& [ip, port] : listener.distinct_peers())
    low_half += port < 20100 ? 1 : 0;
  CHECK(low_half == 400);
}

TEST_CASE("hold_pings_against_serve") {
  // Held connections echo a payload every 100 ms through `serve`; every byte comes back.
  scratch_dir dir;
  load_process serve(dir, "serve",
                     {"serve", "--listen", "127.0.0.1:8080", "--workers", "2", "--duration", "30s",
                      "--json", dir.file("serve.json")});
  wait_for_output(serve, "serving");
  load_process hold(dir, "hold",
                    {"hold", "--target", "127.0.0.1:8080", "--source", "127.0.0.2-127.0.0.3",
                     "--ports", "20000-20099", "--connections", "150", "--payload", "100",
                     "--ping-interval", "100ms", "--duration", "1s", "--json", dir.file("r.json")});
  CHECK(hold.wait() == 0);
  serve.terminate();
  CHECK(serve.wait() == 0);
  const auto r = read_json(dir.file("r.json"));
  CHECK(number(r, "ok") == 150);
  CHECK(number(r, "held") == 150);
  CHECK(number(r, "dropped") == 0);
  CHECK(number(r, "echo_mismatch") == 0);
  const auto echoes = number(r, "echoes");
  CHECK(echoes >= 150); // at least one round trip each in a 1 s hold at 100 ms
  CHECK(number(r, "bytes_sent") == echoes * 100);
  CHECK(number(r, "bytes_received") == echoes * 100);
  const auto s = read_json(dir.file("serve.json"));
  CHECK(number(s, "ok") == 150); // accepted
  CHECK(number(s, "bytes_received") == echoes * 100);
  CHECK(number(s, "bytes_sent") == echoes * 100);
}
