#pragma once
// A test-and-test-and-set lock for the allocator's per-destination critical sections,
// which are a few dozen instructions long. Measured in bench/alloc_bench.cpp: a
// std::mutex lock+unlock pair costs ~100 instructions (pthread, two atomic RMWs), which
// alone took acquire+release over its 30 ns budget; this lock costs one exchange and one
// store. After a short spin it yields, so a preempted holder is not starved of the CPU.
// Satisfies Lockable, so std::lock_guard works with it.

#include <atomic>
#include <thread>

namespace portpool::detail {

class spin_lock {
public:
  void lock() noexcept {
    for (int spins = 0; locked_.exchange(true, std::memory_order_acquire); ++spins) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 64) std::this_thread::yield();
      }
    }
  }
  bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
  std::atomic<bool> locked_{false};
};

} // namespace portpool::detail
