#pragma once
// Counters the data path bumps with relaxed atomics (no lock), read by the admin endpoint.

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace portpool::proxy {

/// Why an upstream connect failed, as counted in metrics.
enum class failure_reason : std::uint8_t {
  exhausted, ///< no free source slot (pool) or EADDRNOTAVAIL from the kernel's range
  conflicts, ///< every slot tried was taken elsewhere
  timeout,   ///< --connect-timeout passed
  refused,   ///< ECONNREFUSED: nothing listens
  unreachable,
  no_source, ///< no source address of the backend's family
  other,
};
inline constexpr std::size_t failure_reason_count = 7;

/// "exhausted", "conflicts", "timeout", ...
std::string_view to_string(failure_reason reason) noexcept;
/// Classifies an error from portpool::async_connect.
failure_reason classify_connect_error(const std::error_code& ec) noexcept;

/// Adds one to an atomic counter; relaxed because readers only need eventual figures.
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
  c.fetch_add(n, std::memory_order_relaxed);
}
inline std::uint64_t load(const std::atomic<std::uint64_t>& c) noexcept {
  return c.load(std::memory_order_relaxed);
}

/// Figures of one backend. Thread-safe (atomics only).
struct backend_counters {
  std::atomic<std::uint64_t> active{0};      ///< upstream connections open now
  std::atomic<std::uint64_t> high_water{0};  ///< most upstream connections at once
  std::atomic<std::uint64_t> connections{0}; ///< upstream connections made
  std::atomic<std::uint64_t> bytes_to_backend{0};
  std::atomic<std::uint64_t> bytes_to_client{0};
  std::atomic<std::uint64_t> conflicts{0}; ///< slots found taken on the way (pool mode)
  std::array<std::atomic<std::uint64_t>, failure_reason_count> failures{};

  void count_failure(failure_reason r) noexcept { bump(failures[static_cast<std::size_t>(r)]); }
  /// One more upstream connection open; keeps high_water.
  void opened() noexcept {
    const auto now = active.fetch_add(1, std::memory_order_relaxed) + 1;
    auto seen = high_water.load(std::memory_order_relaxed);
    while (now > seen && !high_water.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
    bump(connections);
  }
  void closed() noexcept { active.fetch_sub(1, std::memory_order_relaxed); }
};

/// Figures of the proxy as a whole. Thread-safe (atomics only).
struct proxy_counters {
  std::atomic<std::uint64_t> clients_active{0};
  std::atomic<std::uint64_t> clients_total{0};
  std::atomic<std::uint64_t> clients_failed{0}; ///< closed because no backend could be reached
  std::atomic<std::uint64_t> idle_timeouts{0};
  std::atomic<std::uint64_t> accept_errors{0};
  std::atomic<std::uint64_t> maxconn_waits{0}; ///< times accepting paused at --maxconn
  std::atomic<std::uint64_t> bytes_spliced{0}; ///< relayed through a pipe (--splice auto)
};

} // namespace portpool::proxy
