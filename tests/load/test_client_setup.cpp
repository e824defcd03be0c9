// Each worker's slice of the source slots: --partition K/N and --workers W nest into
// partition K*W+k of N*W, so no two workers of any run pick the same slot.
#include "client_setup.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace portpool;
using namespace portpool::load;

namespace {
load_options parse(std::vector<const char*> args) {
  args.insert(args.begin(), "portpool-load");
  auto o = parse_options(static_cast<int>(args.size()), args.data());
  REQUIRE(o);
  return *o;
}
} // namespace

TEST_SUITE("client_setup") {
  TEST_CASE("partition and workers nest without overlap") {
    // Two runs (--partition 0/2 and 1/2) of two workers each share 2 sources x 200 ports.
    std::set<std::pair<std::string, std::uint16_t>> seen;
    const endpoint target = endpoint::parse("127.0.0.1:8080");
    for (const char* run : {"0/2", "1/2"}) {
      const auto o = parse({"hold", "--target", "127.0.0.1:8080", "--source", "127.0.0.2-127.0.0.3",
                            "--ports", "20000-20199", "--partition", run, "--workers", "2"});
      for (unsigned k = 0; k < 2; ++k) {
        auto pool = make_worker_allocator(o, k, 2);
        CHECK(pool.ports_per_source() == 50);
        CHECK(pool.capacity(target) == 100);
        const auto info = describe_slice(o, pool, k, 2);
        CHECK(info.at("partition").as_string() == std::to_string((run[0] - '0') * 2 + k) + "/4");
        std::vector<lease> held;
        std::error_code ec;
        for (;;) {
          auto l = pool.acquire(target, ec);
          if (ec) break;
          CHECK(seen.insert({l.source().to_string(), l.port()}).second); // never seen before
          held.push_back(std::move(l));
        }
        CHECK(held.size() == 100);
      }
    }
    CHECK(seen.size() == 400); // together they cover every slot exactly once
  }

  TEST_CASE("kernel mode needs no pool") {
    const auto o =
        parse({"churn", "--target", "127.0.0.1:8080", "--source-mode", "kernel", "--workers", "3"});
    auto pool = make_worker_allocator(o, 2, 3);
    const auto info = describe_slice(o, pool, 2, 3);
    CHECK(info.at("source_mode").as_string() == "kernel");
    CHECK(make_connect_options(o).mode == source_mode::kernel);
  }
}
