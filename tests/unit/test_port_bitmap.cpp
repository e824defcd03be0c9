#include "portpool/port_bitmap.hpp"

#include <doctest/doctest.h>

#include <random>
#include <set>

using portpool::port_bitmap;

namespace {
// The reference: the next free slot at or after `from`, wrapping, from a std::set.
std::optional<std::size_t> model_find(const std::set<std::size_t>& free, std::size_t from,
                                      std::size_t size) {
  if (free.empty()) return std::nullopt;
  if (from >= size) from = 0;
  auto it = free.lower_bound(from);
  return it != free.end() ? *it : *free.begin();
}
} // namespace

TEST_SUITE("port_bitmap") {
  TEST_CASE("starts all free and finds in order") {
    port_bitmap b(130);
    CHECK(b.size() == 130);
    CHECK(b.free_count() == 130);
    CHECK(b.find_free_from(0) == 0u);
    CHECK(b.find_free_from(129) == 129u);
    CHECK(b.find_free_from(130) == 0u); // past the end wraps
    b.set_used(129);
    CHECK(b.find_free_from(129) == 0u);
    CHECK(b.free_count() == 129);
    b.set_used(129); // idempotent
    CHECK(b.free_count() == 129);
  }

  TEST_CASE("full and empty") {
    port_bitmap b(64 * 64 + 1, false);
    CHECK(b.free_count() == 0);
    CHECK_FALSE(b.find_free_from(0).has_value());
    b.set_free(64 * 64);
    CHECK(b.find_free_from(0) == 64u * 64u);
    CHECK(b.find_free_from(5000) == 64u * 64u);
    b.set_used(64 * 64);
    CHECK_FALSE(b.find_free_from(17).has_value());
  }

  TEST_CASE("a lone free slot far away is found through the summary levels") {
    const std::size_t n = 8 * 64512; // 8 sources x 64,512 ports: three summary levels
    port_bitmap b(n, false);
    b.set_free(3);
    CHECK(b.find_free_from(n - 1) == 3u);
    CHECK(b.find_free_from(4) == 3u);
    b.set_free(n - 2);
    CHECK(b.find_free_from(4) == n - 2);
    CHECK(b.find_free_from(n - 1) == 3u);
  }

  TEST_CASE("agrees with a reference model under random operations") {
    for (const std::size_t n : {1u, 63u, 64u, 65u, 4095u, 4097u, 300000u}) {
      CAPTURE(n);
      std::mt19937_64 rng(n);
      port_bitmap b(n, false);
      std::set<std::size_t> free;
      for (int op = 0; op < 20000; ++op) {
        const std::size_t slot = rng() % n;
        switch (rng() % 3) {
        case 0:
          b.set_free(slot);
          free.insert(slot);
          break;
        case 1:
          b.set_used(slot);
          free.erase(slot);
          break;
        default: {
          const std::size_t from = rng() % (n + 1);
          REQUIRE(b.find_free_from(from) == model_find(free, from, n));
        }
        }
        REQUIRE(b.free_count() == free.size());
      }
    }
  }
}
