#pragma once
// Backends and how a new client picks one: weighted round robin or least connections,
// skipping backends the health checks took out and those already tried for this client.

#include "config.hpp"
#include "counters.hpp"

#include "portpool/usage.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace portpool::proxy {

/// One backend and its live figures. Shared by every thread.
struct backend {
  backend_spec spec;
  boost::asio::ip::tcp::endpoint address;
  std::string name; ///< "127.0.0.1:8080"
  /// False while health checks say it is down; written by the health checker only.
  std::atomic<bool> up{true};
  backend_counters counters;
  /// Kernel mode only: usage level of open upstream connections against the kernel's
  /// range (pool mode has the allocator's own levels).
  std::atomic<usage_level> kernel_level{usage_level::ok};
};

/// Chooses backends. pick() takes a per-thread cursor so threads share no lock; the
/// backends' `up` flags and counters are atomics. Thread-safe.
class balancer {
public:
  /// Per-thread position in the round-robin sequence.
  struct cursor {
    std::size_t next = 0;
  };

  balancer(const std::vector<backend_spec>& specs, balance_mode mode);

  /// The backend for the next attempt, never one in `tried` nor of weight 0. Prefers
  /// backends marked up; when none is, returns a down one (health checks lag) so a
  /// client is not refused while some backend may answer. nullptr when none is left.
  backend* pick(cursor& c, std::span<backend* const> tried) const;

  std::span<const std::unique_ptr<backend>> backends() const noexcept { return backends_; }
  balance_mode mode() const noexcept { return mode_; }

private:
  backend* pick_roundrobin(cursor& c, std::span<backend* const> tried, bool want_up) const;
  backend* pick_leastconn(cursor& c, std::span<backend* const> tried, bool want_up) const;

  std::vector<std::unique_ptr<backend>> backends_;
  /// Backend indices in smooth weighted round-robin order, one entry per unit of weight.
  std::vector<std::size_t> sequence_;
  balance_mode mode_;
};

} // namespace portpool::proxy
