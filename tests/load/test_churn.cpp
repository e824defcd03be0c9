// portpool-load churn against portpool-load serve (and against a broken backend), as
// child processes inside this test's private namespace.
#include "load_harness.hpp"

#include <doctest/doctest.h>

using namespace portpool::load_testing;

namespace {

void check_percentiles_ordered(const boost::json::object& p) {
  const auto v = [&](const char* k) { return p.at(k).to_number<double>(); };
  CHECK(v("p50") > 0);
  CHECK(v("p50") <= v("p90"));
  CHECK(v("p90") <= v("p99"));
  CHECK(v("p99") <= v("p999"));
  CHECK(v("p999") <= v("max"));
}

} // namespace

TEST_CASE("churn_against_serve") {
  // Connect, echo 100 bytes, close, 16 at a time for 2 s, through 4 sources: every echo
  // intact and the figures of both sides agree.
  scratch_dir dir;
  load_process serve(dir, "serve",
                     {"serve", "--listen", "127.0.0.1:8080", "--workers", "2", "--duration", "30s",
                      "--json", dir.file("serve.json")});
  wait_for_output(serve, "serving");
  load_process churn(dir, "churn",
                     {"churn", "--target", "127.0.0.1:8080", "--source", "127.0.0.2-127.0.0.5",
                      "--ports", "20000-20199", "--concurrency", "16", "--payload", "100",
                      "--duration", "2s", "--workers", "2", "--json", dir.file("r.json")});
  CHECK(churn.wait() == 0);
  serve.terminate();
  CHECK(serve.wait() == 0);

  const auto r = read_json(dir.file("r.json"));
  CHECK(r.at("mode").as_string() == "churn");
  const auto attempted = number(r, "attempted"), ok = number(r, "ok");
  CHECK(ok >= 50); // 2 s of 16 cycles in flight: far more, unless the box is crawling
  CHECK(number(r, "failed") == 0);
  CHECK(ok + number(r, "failed") == attempted);
  CHECK(r.at("errors").as_object().empty());
  CHECK(number(r, "echo_mismatch") == 0);
  CHECK(number(r, "echoes") == ok);
  CHECK(number(r, "bytes_sent") == ok * 100);
  CHECK(number(r, "bytes_received") == ok * 100);
  CHECK(r.at("connect_us").as_object().at("count").to_number<std::uint64_t>() == ok);
  check_percentiles_ordered(r.at("connect_us").as_object());
  check_percentiles_ordered(r.at("echo_us").as_object());
  const double elapsed = r.at("elapsed_seconds").to_number<double>();
  const double rate = r.at("conn_per_s").to_number<double>();
  CHECK(elapsed >= 2.0);
  CHECK(rate == doctest::Approx(static_cast<double>(ok) / elapsed).epsilon(0.01));

  const auto s = read_json(dir.file("serve.json"));
  CHECK(s.at("mode").as_string() == "serve");
  CHECK(number(s, "ok") == ok); // every connection the client made was accepted once
  CHECK(number(s, "failed") == 0);
  CHECK(number(s, "bytes_received") == ok * 100);
  CHECK(number(s, "bytes_sent") == ok * 100);
}

TEST_CASE("churn_catches_corrupt_echo") {
  // A backend that flips one bit per byte: every cycle fails as ECHO_MISMATCH, exit 1.
  scratch_dir dir;
  asio::io_context io;
  corrupting_echo backend(io, {asio::ip::make_address("127.0.0.1"), 8080});
  load_process churn(dir, "churn",
                     {"churn", "--target", "127.0.0.1:8080", "--source-mode", "kernel",
                      "--concurrency", "4", "--rate", "100", "--payload", "32", "--duration", "1s",
                      "--json", dir.file("r.json")});
  CHECK(churn.wait(io) == 1);
  const auto r = read_json(dir.file("r.json"));
  const auto attempted = number(r, "attempted");
  // Paced at 100/s for 1 s: at most 100 tickets; fewer on a loaded machine (a ticket
  // still waiting at the deadline is dropped), but surely some.
  CHECK(attempted >= 5);
  CHECK(attempted <= 100);
  CHECK(number(r, "ok") == 0);
  CHECK(number(r, "failed") == attempted);
  CHECK(number(r, "echo_mismatch") == attempted);
  CHECK(number(r.at("errors").as_object(), "ECHO_MISMATCH") == attempted);
  CHECK(churn.out().find("ECHO_MISMATCH") != std::string::npos);
}
