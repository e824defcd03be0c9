// Backend choice without sockets: weighted round robin, least connections, skipping
// backends that are down, already tried, or of weight 0.
#include "balancer.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace portpool;
using namespace portpool::proxy;

namespace {

std::vector<backend_spec> specs(std::initializer_list<std::pair<const char*, unsigned>> list) {
  std::vector<backend_spec> out;
  for (const auto& [address, weight] : list)
    out.push_back({endpoint::parse(address), weight});
  return out;
}

} // namespace

TEST_SUITE("proxy_balancer") {
  TEST_CASE("weighted_roundrobin_is_smooth_and_exact") {
    balancer b(specs({{"127.0.0.1:1", 5}, {"127.0.0.1:2", 1}, {"127.0.0.1:3", 1}}),
               balance_mode::roundrobin);
    balancer::cursor c;
    std::map<std::string, int> count;
    std::string order;
    for (int i = 0; i < 70; ++i) {
      const auto* picked = b.pick(c, {});
      REQUIRE(picked);
      ++count[picked->name];
      if (i < 7) order += picked->name.back();
    }
    CHECK(count["127.0.0.1:1"] == 50);
    CHECK(count["127.0.0.1:2"] == 10);
    CHECK(count["127.0.0.1:3"] == 10);
    CHECK(order.find("111") == std::string::npos); // spread, not a burst of five
  }

  TEST_CASE("skips_down_tried_and_weight_zero") {
    balancer b(specs({{"127.0.0.1:1", 1}, {"127.0.0.1:2", 1}, {"127.0.0.1:3", 0}}),
               balance_mode::roundrobin);
    balancer::cursor c;
    auto* first = b.backends()[0].get();
    auto* second = b.backends()[1].get();
    first->up = false;
    for (int i = 0; i < 5; ++i)
      CHECK(b.pick(c, {}) == second);
    // Already tried the only up backend: fall back to the down one rather than refuse.
    backend* tried[] = {second};
    CHECK(b.pick(c, tried) == first);
    backend* both[] = {second, first};
    CHECK(b.pick(c, both) == nullptr); // weight 0 is never picked
  }

  TEST_CASE("leastconn_prefers_fewest_per_weight") {
    balancer b(specs({{"127.0.0.1:1", 1}, {"127.0.0.1:2", 2}}), balance_mode::leastconn);
    balancer::cursor c;
    auto* one = b.backends()[0].get();
    auto* two = b.backends()[1].get();
    for (int i = 0; i < 3; ++i)
      one->counters.opened();
    for (int i = 0; i < 4; ++i)
      two->counters.opened();
    CHECK(b.pick(c, {}) == two); // 4/2 < 3/1
    for (int i = 0; i < 4; ++i)
      two->counters.opened();
    CHECK(b.pick(c, {}) == one); // 8/2 > 3/1
    CHECK(one->counters.high_water == 3);
    one->counters.closed();
    CHECK(one->counters.active == 2);
    CHECK(one->counters.high_water == 3);
  }
}
