#include "portpool/allocator.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <barrier>
#include <map>
#include <random>
#include <set>
#include <thread>

using namespace portpool;
using namespace std::chrono_literals;

namespace {

allocator_options options(std::string_view sources, std::string_view ports) {
  return {.sources = address_pool::parse(sources), .ports = port_set::parse(ports)};
}

using slot_key = std::pair<ip_address, std::uint16_t>;
slot_key key(const lease& l) { return {l.source(), l.port()}; }

const endpoint backend_a = endpoint::parse("127.0.0.1:8080");
const endpoint backend_b = endpoint::parse("127.0.0.1:8081");

} // namespace

TEST_SUITE("allocator") {
  TEST_CASE("exact capacity: sources x ports, every slot distinct, then exhausted") {
    source_allocator pool(options("127.0.0.2-127.0.0.5", "20000-20199"));
    CHECK(pool.capacity(backend_a) == 800);
    std::vector<lease> leases;
    std::set<slot_key> seen;
    std::error_code ec;
    for (int i = 0; i < 800; ++i) {
      leases.push_back(pool.acquire(backend_a, ec));
      REQUIRE_FALSE(ec);
      REQUIRE(leases.back());
      CHECK(leases.back().port() >= 20000);
      CHECK(leases.back().port() <= 20199);
      CHECK(seen.insert(key(leases.back())).second);
    }
    auto none = pool.acquire(backend_a, ec);
    CHECK(ec == errc::exhausted);
    CHECK_FALSE(none);
    CHECK_THROWS_WITH_AS((void)pool.acquire(backend_a),
                         "no free source port toward 127.0.0.1:8080: 800 of 800 in use, 0 "
                         "quarantined (4 sources x 200 ports); add source addresses or ports: no "
                         "free source slot toward this destination: add source addresses or widen "
                         "the port set",
                         std::system_error);
    const auto u = pool.usage(backend_a);
    REQUIRE(u);
    CHECK(u->usage.in_use == 800);
    CHECK(u->usage.high_water == 800);
    CHECK(u->usage.exhaustions == 2);
    REQUIRE(u->sources.size() == 4);
    for (const auto& s : u->sources)
      CHECK(s.usage.in_use == 200);
    leases.clear();
    CHECK(pool.usage(backend_a)->usage.in_use == 0);
  }

  TEST_CASE("the same source port serves two destinations at once") {
    source_allocator pool(options("127.0.0.2", "20000"));
    std::error_code ec;
    auto a = pool.acquire(backend_a, ec);
    REQUIRE_FALSE(ec);
    auto b = pool.acquire(backend_b, ec);
    REQUIRE_FALSE(ec);
    CHECK(key(a) == key(b));
    CHECK(a.destination() == backend_a);
    CHECK(b.destination() == backend_b);
    (void)pool.acquire(backend_a, ec);
    CHECK(ec == errc::exhausted);
  }

  TEST_CASE("slots spread over sources, and a free slot on any source is found") {
    source_allocator pool(options("127.0.0.2-127.0.0.5", "20000-20009"));
    std::error_code ec;
    std::vector<lease> leases;
    for (int i = 0; i < 4; ++i)
      leases.push_back(pool.acquire(backend_a, ec));
    std::set<ip_address> sources;
    for (const auto& l : leases)
      sources.insert(l.source());
    CHECK(sources.size() == 4); // the first four leases use four different sources
    while (!ec)
      leases.push_back(pool.acquire(backend_a, ec));
    leases.pop_back(); // the empty lease from the failed acquire
    REQUIRE(leases.size() == 40);
    const auto freed = key(leases[17]);
    leases[17].release();
    auto again = pool.acquire(backend_a, ec);
    REQUIRE_FALSE(ec);
    CHECK(key(again) == freed);
  }

  TEST_CASE("a rotating cursor: a slot just freed is reused last") {
    source_allocator pool(options("127.0.0.2", "20000-20009"));
    std::error_code ec;
    auto first = pool.acquire(backend_a, ec);
    const auto first_port = first.port();
    first.release();
    std::set<std::uint16_t> ports;
    std::vector<lease> held;
    for (int i = 0; i < 9; ++i) {
      held.push_back(pool.acquire(backend_a, ec));
      ports.insert(held.back().port());
    }
    CHECK_FALSE(ports.contains(first_port));
    held.push_back(pool.acquire(backend_a, ec));
    CHECK(held.back().port() == first_port);
  }

  TEST_CASE("a quarantined slot is skipped until its time is up") {
    auto now = std::chrono::steady_clock::time_point{};
    auto o = options("127.0.0.2", "20000-20001");
    o.quarantine = 10s;
    o.clock = [&] { return now; };
    source_allocator pool(std::move(o));
    std::error_code ec;
    auto a = pool.acquire(backend_a, ec);
    const auto bad_port = a.port();
    a.quarantine();
    auto b = pool.acquire(backend_a, ec);
    REQUIRE_FALSE(ec);
    CHECK(b.port() != bad_port);
    (void)pool.acquire(backend_a, ec);
    CHECK(ec == errc::exhausted); // one leased, one quarantined
    auto u = pool.usage(backend_a);
    CHECK(u->usage.quarantined == 1);
    CHECK(u->usage.conflicts == 1);
    CHECK(u->sources[0].usage.conflicts == 1);
    now += 9s;
    (void)pool.acquire(backend_a, ec);
    CHECK(ec == errc::exhausted);
    now += 1s;
    auto c = pool.acquire(backend_a, ec);
    REQUIRE_FALSE(ec);
    CHECK(c.port() == bad_port);
    CHECK(pool.usage(backend_a)->usage.quarantined == 0);
  }

  TEST_CASE("partitions are disjoint and together complete") {
    std::set<slot_key> union_of_parts;
    std::size_t total = 0;
    for (unsigned k = 0; k < 3; ++k) {
      auto o = options("127.0.0.2-127.0.0.3", "20000-20099");
      o.slice = {k, 3};
      source_allocator pool(std::move(o));
      std::vector<lease> leases;
      std::error_code ec;
      for (;;) {
        auto l = pool.acquire(backend_a, ec);
        if (ec) break;
        CHECK(union_of_parts.insert(key(l)).second); // never seen in another partition
        leases.push_back(std::move(l));
      }
      CHECK(leases.size() == pool.capacity(backend_a));
      total += leases.size();
    }
    CHECK(total == 200);
    CHECK(union_of_parts.size() == 200);
    CHECK(partition::parse("1/4").index == 1);
    CHECK_THROWS_WITH_AS(partition::parse("4/4"),
                         "bad partition \"4/4\": K must be below N (partitions count from 0)",
                         bad_input);
    CHECK_THROWS_AS(partition::parse("x"), bad_input);
    auto o = options("127.0.0.2", "20000-20001");
    o.slice = {0, 3};
    CHECK_THROWS_WITH_AS(source_allocator{std::move(o)},
                         "bad partition \"0/3\": 2 ports leave this partition none", bad_input);
  }

  TEST_CASE("a destination of a family with no source is refused") {
    source_allocator pool(options("127.0.0.2", "20000"));
    std::error_code ec;
    (void)pool.acquire(endpoint::parse("[::1]:8080"), ec);
    CHECK(ec == errc::no_source_for_family);
    source_allocator both(options("127.0.0.2,::1", "20000"));
    auto l = both.acquire(endpoint::parse("[::1]:8080"), ec);
    REQUIRE_FALSE(ec);
    CHECK(l.source().is_v6());
    CHECK(both.capacity(endpoint::parse("[::1]:8080")) == 1);
  }

  TEST_CASE("alerts fire once per crossing, per source and per destination, and recover") {
    std::vector<usage_alert> alerts;
    auto o = options("127.0.0.2-127.0.0.3", "20000-20009"); // 20 slots, 10 per source
    o.thresholds = {.warn_percent = 50, .crit_percent = 90, .hysteresis_percent = 10};
    o.on_alert = [&](const usage_alert& a) { alerts.push_back(a); };
    source_allocator pool(std::move(o));
    std::error_code ec;
    std::vector<lease> held;
    const auto count = [&](usage_level level, bool whole_destination) {
      return std::count_if(alerts.begin(), alerts.end(), [&](const usage_alert& a) {
        return a.current == level && !a.is_recovery() && a.source.has_value() != whole_destination;
      });
    };
    for (int i = 0; i < 9; ++i)
      held.push_back(pool.acquire(backend_a, ec));
    REQUIRE(alerts.size() == 1); // slots alternate sources: 127.0.0.2 reached 5 of 10 first
    CHECK(alerts[0].source == ip_address::parse("127.0.0.2"));
    CHECK(alerts[0].message() ==
          "connections from 127.0.0.2 to 127.0.0.1:8080 have used 5 of 10 ports (50%)");
    held.push_back(pool.acquire(backend_a, ec));
    CHECK(alerts.size() == 3); // 127.0.0.3 at 5 of 10 and the destination at 10 of 20
    CHECK(count(usage_level::warning, true) == 1);
    const auto whole =
        std::find_if(alerts.begin(), alerts.end(), [](const usage_alert& a) { return !a.source; });
    REQUIRE(whole != alerts.end());
    CHECK(whole->used == 10);
    CHECK(whole->capacity == 20);
    CHECK(whole->message() ==
          "connections from all sources to 127.0.0.1:8080 have used 10 of 20 ports (50%)");
    for (int i = 0; i < 3; ++i) { // back and forth at the line: no new alert
      held.pop_back();
      held.push_back(pool.acquire(backend_a, ec));
    }
    CHECK(alerts.size() == 3);
    while (held.size() < 20)
      held.push_back(pool.acquire(backend_a, ec));
    CHECK(count(usage_level::critical, true) == 1);
    CHECK(count(usage_level::critical, false) == 2);
    CHECK(count(usage_level::warning, true) == 1); // still once per crossing
    held.clear();
    const auto recoveries =
        std::count_if(alerts.begin(), alerts.end(), [](const auto& a) { return a.is_recovery(); });
    CHECK(recoveries >= 3);
    CHECK(pool.usage(backend_a)->usage.level == usage_level::ok);
  }

  TEST_CASE("agrees with a reference model under random operations") {
    source_allocator pool(options("127.0.0.2-127.0.0.4", "20000-20040"));
    const std::vector<endpoint> destinations{backend_a, backend_b, endpoint::parse("127.0.0.9:80")};
    std::map<endpoint, std::vector<lease>> held;
    std::mt19937 rng(7);
    for (int op = 0; op < 30000; ++op) {
      const auto& d = destinations[rng() % destinations.size()];
      auto& mine = held[d];
      if (rng() % 5 < 3) {
        std::error_code ec;
        auto l = pool.acquire(d, ec);
        if (mine.size() < 123) {
          REQUIRE_FALSE(ec);
          for (const auto& other : mine)
            REQUIRE(key(other) != key(l));
          mine.push_back(std::move(l));
        } else {
          REQUIRE(ec == errc::exhausted);
        }
      } else if (!mine.empty()) {
        const auto i = rng() % mine.size();
        std::swap(mine[i], mine.back());
        mine.pop_back();
      }
      const auto u = pool.usage(d); // nullopt until the first acquire toward d
      REQUIRE((u ? u->usage.in_use : 0) == mine.size());
    }
  }

  TEST_CASE("two threads hammering acquire and release never share a slot") {
    source_allocator pool(options("127.0.0.2-127.0.0.3", "20000-20063")); // 128 slots
    std::vector<std::atomic<int>> owner(2 * 65536);
    std::atomic<int> double_leases{0}, exhaustions{0};
    // Both threads fill half the pool, meet, each must then find it full, meet again,
    // and only then churn: the contention does not depend on how they are scheduled.
    std::barrier meet(2);
    const auto slot_index = [](const lease& l) {
      return (l.source() == ip_address::v4(0x7f000002) ? 0 : 65536) + l.port();
    };
    auto work = [&](int id) {
      std::mt19937 rng(static_cast<unsigned>(id));
      std::vector<lease> mine;
      const auto take = [&] {
        std::error_code ec;
        auto l = pool.acquire(backend_a, ec);
        if (ec) {
          ++exhaustions;
          return;
        }
        if (owner[slot_index(l)].exchange(id + 1) != 0) ++double_leases;
        mine.push_back(std::move(l));
      };
      while (mine.size() < 64)
        take();
      meet.arrive_and_wait();
      take(); // 128 of 128 leased: this must fail
      meet.arrive_and_wait();
      for (int op = 0; op < 100000; ++op) {
        if (rng() % 2 == 0 && mine.size() < 80) {
          take();
        } else if (!mine.empty()) {
          owner[slot_index(mine.back())].store(0);
          mine.pop_back();
        }
      }
      for (const auto& l : mine)
        owner[slot_index(l)].store(0);
    };
    std::thread a(work, 0), b(work, 1);
    a.join();
    b.join();
    CHECK(double_leases.load() == 0);
    CHECK(exhaustions.load() >= 2); // at least the two attempts on the full pool
    const auto u = pool.usage(backend_a);
    CHECK(u->usage.in_use == 0);
    CHECK(u->usage.high_water == 128);
  }

  TEST_CASE("a source out of rotation is never leased; its slots come back when it returns") {
    std::vector<usage_alert> alerts;
    auto o = options("127.0.0.2-127.0.0.3", "20000-20009"); // 20 slots
    o.on_alert = [&](const usage_alert& a) { alerts.push_back(a); };
    source_allocator pool(std::move(o));
    const auto two = *ip_address::parse("127.0.0.2"), three = *ip_address::parse("127.0.0.3");
    std::error_code ec;
    std::vector<lease> held;
    for (int i = 0; i < 4; ++i) // 2 from each source: slots interleave
      held.push_back(pool.acquire(backend_a, ec));
    CHECK(pool.usage(backend_a)->sources[1].usage.in_use == 2);

    CHECK(pool.set_source_enabled(three, false));
    CHECK_FALSE(pool.source_enabled(three));
    CHECK(pool.source_enabled(two));
    CHECK_FALSE(pool.set_source_enabled(*ip_address::parse("192.0.2.1"), false)); // not a source
    CHECK(pool.capacity(backend_a) == 10);
    auto u = pool.usage(backend_a);
    CHECK(u->usage.capacity == 10);
    CHECK_FALSE(u->sources[1].enabled);
    CHECK(u->sources[0].enabled);
    // 4 of 10 in use: below 80%, no alert yet. Then .2's other 8 ports, from .2 only.
    CHECK(alerts.empty());
    for (int i = 0; i < 8; ++i) {
      held.push_back(pool.acquire(backend_a, ec));
      REQUIRE_FALSE(ec);
      CHECK(held.back().source() == two);
    }
    (void)pool.acquire(backend_a, ec);
    CHECK(ec == errc::exhausted);
    // The leases still open on .3 count: 12 in use against 10 usable.
    CHECK(pool.usage(backend_a)->usage.in_use == 12);
    CHECK(pool.usage(backend_a)->sources[0].usage.in_use == 10);
    REQUIRE_FALSE(alerts.empty());
    CHECK(alerts.back().capacity == 10);
    CHECK(alerts.back().current == usage_level::critical);
    CHECK_THROWS_WITH_AS((void)pool.acquire(backend_a),
                         doctest::Contains("(1 sources x 10 ports, 1 sources out of rotation)"),
                         std::system_error);

    // A lease of the disabled source, released, is held back rather than reused.
    held.erase(std::find_if(held.begin(), held.end(),
                            [&](const lease& l) { return l && l.source() == three; }));
    CHECK(pool.usage(backend_a)->sources[1].usage.in_use == 1);
    (void)pool.acquire(backend_a, ec);
    CHECK(ec == errc::exhausted);

    // A destination first used while .3 is out gets no slot of it either.
    for (int i = 0; i < 10; ++i)
      CHECK(pool.acquire(backend_b, ec).source() == two);
    CHECK(pool.capacity(backend_b) == 10);

    // Back in rotation: its 9 free ports toward backend_a (one still leased) are usable.
    CHECK(pool.set_source_enabled(three, true));
    CHECK(pool.capacity(backend_a) == 20);
    std::size_t from_three = 0;
    for (int i = 0; i < 9; ++i) {
      auto l = pool.acquire(backend_a, ec);
      REQUIRE_FALSE(ec);
      from_three += l.source() == three;
      held.push_back(std::move(l));
    }
    CHECK(from_three == 9);
    (void)pool.acquire(backend_a, ec);
    CHECK(ec == errc::exhausted);
    held.clear();
    u = pool.usage(backend_a);
    CHECK(u->usage.in_use == 0);
    CHECK(u->usage.capacity == 20);
    CHECK(u->usage.level == usage_level::ok);
  }

  TEST_CASE("a slot quarantined while its source goes out of rotation stays out after expiry") {
    auto now = std::chrono::steady_clock::time_point{};
    auto o = options("127.0.0.2-127.0.0.3", "20000");
    o.quarantine = 10s;
    o.clock = [&] { return now; };
    source_allocator pool(std::move(o));
    const auto three = *ip_address::parse("127.0.0.3");
    std::error_code ec;
    auto a = pool.acquire(backend_a, ec), b = pool.acquire(backend_a, ec);
    auto& on_three = a.source() == three ? a : b;
    on_three.quarantine();
    pool.set_source_enabled(three, false);
    now += 11s;
    (void)pool.acquire(backend_a, ec);
    CHECK(ec == errc::exhausted);
    CHECK(pool.usage(backend_a)->usage.quarantined == 0);
    pool.set_source_enabled(three, true);
    CHECK(pool.acquire(backend_a, ec).source() == three);
  }

  TEST_CASE("taking sources in and out while two threads churn never leases a disabled one") {
    source_allocator pool(options("127.0.0.2-127.0.0.5", "20000-20031")); // 128 slots
    const auto flip = *ip_address::parse("127.0.0.5");
    // Odd while `flip` is surely out of rotation: set after disabling, bumped again before
    // enabling. A lease taken with the same odd epoch before and after must not be `flip`.
    std::atomic<unsigned> epoch{0};
    std::atomic<int> leased_while_disabled{0};
    auto work = [&] {
      std::vector<lease> mine;
      for (int op = 0; op < 50000; ++op) {
        if (op % 3 != 2 && mine.size() < 40) {
          std::error_code ec;
          const auto before = epoch.load();
          auto l = pool.acquire(backend_a, ec);
          const auto after = epoch.load();
          if (!ec && before == after && before % 2 == 1 && l.source() == flip)
            ++leased_while_disabled;
          if (!ec) mine.push_back(std::move(l));
        } else if (!mine.empty()) {
          mine.pop_back();
        }
      }
    };
    std::atomic<bool> stop{false};
    std::thread a(work), b(work);
    std::thread toggler([&] {
      for (int i = 0; i < 2000 && !stop.load(); ++i) {
        if (i % 2 == 0) {
          pool.set_source_enabled(flip, false);
          ++epoch;
        } else {
          ++epoch;
          pool.set_source_enabled(flip, true);
        }
        std::this_thread::yield();
      }
    });
    a.join();
    b.join();
    stop = true;
    toggler.join();
    CHECK(leased_while_disabled.load() == 0);
    pool.set_source_enabled(flip, true);
    const auto u = pool.usage(backend_a);
    CHECK(u->usage.in_use == 0);
    CHECK(u->usage.capacity == 128);
    // Every slot is free again: all 128 can be leased at once.
    std::vector<lease> all;
    std::error_code ec;
    for (int i = 0; i < 128; ++i) {
      all.push_back(pool.acquire(backend_a, ec));
      REQUIRE_FALSE(ec);
    }
  }

  TEST_CASE("bad options are refused with the value") {
    allocator_options o{.sources = {}, .ports = port_set::parse("20000")};
    CHECK_THROWS_AS(source_allocator{o}, bad_input);
    auto t = options("127.0.0.2", "20000");
    t.thresholds.warn_percent = 99;
    t.thresholds.crit_percent = 98;
    CHECK_THROWS_AS(source_allocator{t}, bad_input);
  }
}
