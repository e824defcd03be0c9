#pragma once
// Keeps a flood of identical failures (thousands of clients refused in a second) to a
// line per interval, counting what it held back so the log still tells the size.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace portpool::proxy {

/// At most one permitted line per `interval`. Thread-safe (atomics only).
class log_limiter {
public:
  explicit log_limiter(std::chrono::milliseconds interval) : interval_(interval) {}

  /// True when a line may be logged now; `suppressed` is then set to the number of
  /// lines held back since the last one.
  bool allow(std::uint64_t& suppressed) noexcept {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto next = next_.load(std::memory_order_relaxed);
    if (now < next ||
        !next_.compare_exchange_strong(
            next,
            now +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval_).count(),
            std::memory_order_relaxed)) {
      held_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    suppressed = held_.exchange(0, std::memory_order_relaxed);
    return true;
  }

private:
  std::chrono::milliseconds interval_;
  std::atomic<std::int64_t> next_{0};
  std::atomic<std::uint64_t> held_{0};
};

} // namespace portpool::proxy
