#pragma once
/// The per-destination source allocator: chooses the (source ip, source port) of each
/// outgoing connection so that the same port serves many destinations, and no
/// destination runs out while any source address still has a free port toward it.

#include "portpool/address.hpp"
#include "portpool/error.hpp"
#include "portpool/port_range.hpp"
#include "portpool/usage.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace portpool {

namespace detail {
struct destination_state;
class allocator_core;
} // namespace detail

/// Part `index` of `count` equal, disjoint slices of the port list, so that several
/// processes sharing the same sources and ports never pick the same slot.
struct partition {
  unsigned index = 0;
  unsigned count = 1;

  /// Parses "K/N" with 0 <= K < N, e.g. "1/4"; throws bad_input naming the value.
  static partition parse(std::string_view text);
  std::string to_string() const { return std::to_string(index) + "/" + std::to_string(count); }
};

/// Everything the allocator needs; set with designated initializers.
struct allocator_options {
  address_pool sources;                       ///< source addresses (IPv4 and/or IPv6)
  port_set ports;                             ///< source ports to use on every address
  partition slice{};                          ///< this process's share of the ports
  std::chrono::milliseconds quarantine{5000}; ///< how long a conflicting slot is skipped
  usage_thresholds thresholds{};              ///< warn/crit levels for alerts
  /// Called on every change of usage level, outside the allocator's locks, on the
  /// thread whose acquire or release caused it. May be empty.
  std::function<void(const usage_alert&)> on_alert;
  /// Time source for quarantine; steady_clock::now when empty (tests inject their own).
  std::function<std::chrono::steady_clock::time_point()> clock;
};

class source_allocator;

/// One leased (source ip, source port) toward one destination. Move-only; releases the
/// slot on destruction. Must not outlive the allocator that issued it. A lease is used
/// by one thread at a time; different leases may be released concurrently.
class lease {
public:
  lease() noexcept = default;
  lease(lease&& other) noexcept;
  lease& operator=(lease&& other) noexcept;
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  ~lease() { release(); }

  /// True while the lease holds a slot.
  explicit operator bool() const noexcept { return state_ != nullptr; }
  const ip_address& source() const noexcept { return source_; }
  std::uint16_t port() const noexcept { return port_; }
  /// The destination the slot was leased toward. Precondition: the lease holds a slot.
  const endpoint& destination() const noexcept;

  /// Returns the slot to the free set now. No-op on an empty lease.
  void release() noexcept;
  /// Returns the slot but keeps it out of use for the allocator's quarantine time and
  /// counts a conflict: call it when bind/connect said the slot is taken elsewhere.
  void quarantine() noexcept;

private:
  friend class source_allocator;
  void give_back(bool quarantine) noexcept;

  detail::destination_state* state_ = nullptr;
  std::uint32_t slot_ = 0;
  std::uint32_t source_index_ = 0; // into the destination's per-source figures
  std::uint16_t port_ = 0;
  ip_address source_;
};

/// A destination's state inside one allocator, looked up once and reused, so that hot
/// paths skip the destination map. Valid as long as the allocator lives.
class destination_handle {
public:
  destination_handle() = default;
  explicit operator bool() const noexcept { return state_ != nullptr; }

private:
  friend class source_allocator;
  explicit destination_handle(detail::destination_state* s) : state_(s) {}
  detail::destination_state* state_ = nullptr;
};

/// Hands out source slots per destination. Each destination (ip, port) gets its own
/// free-slot bitmap over (sources of its family) x (ports of this partition), created on
/// first use, so the same source port serves any number of destinations at once.
/// Thread-safe: all members may be called concurrently; each destination has its own
/// mutex, and the destination map a reader/writer lock.
class source_allocator {
public:
  /// Throws bad_input when the options cannot work (no sources, no ports, an empty
  /// partition, bad thresholds), naming the value.
  explicit source_allocator(allocator_options options);
  source_allocator(source_allocator&&) noexcept;
  source_allocator& operator=(source_allocator&&) noexcept;
  ~source_allocator();

  /// The handle of `destination`, created on first use. Sets ec to
  /// errc::no_source_for_family when no source address has the destination's family.
  destination_handle destination(const endpoint& destination, std::error_code& ec);

  /// Leases a free slot toward `destination`, trying every source before giving up.
  /// On failure returns an empty lease and sets ec: errc::exhausted when every slot is
  /// leased or quarantined, errc::no_source_for_family. Never blocks on I/O.
  [[nodiscard]] lease acquire(const endpoint& destination, std::error_code& ec);
  [[nodiscard]] lease acquire(destination_handle destination, std::error_code& ec);
  /// As above, but throws std::system_error whose what() names the destination and its
  /// used/capacity, e.g. "no free source port toward 127.0.0.1:8080: 800 of 800 in use...".
  [[nodiscard]] lease acquire(const endpoint& destination);

  /// Slots toward `destination` usable now: enabled sources of its family x ports of
  /// this partition.
  std::uint64_t capacity(const endpoint& destination) const noexcept;
  /// Ports each source contributes (the partition's share of options().ports).
  std::size_t ports_per_source() const noexcept;
  /// One line on a destination's state, for error messages and logs.
  std::string describe(const endpoint& destination) const;

  /// Takes `source` out of rotation (enabled = false) or puts it back, for every
  /// destination, e.g. when it cannot be bound or health checks fail from it. While out,
  /// acquire never returns it; its leases stay valid and their slots are held back when
  /// released; the destinations' capacity and usage levels count only enabled sources (an
  /// alert may fire). Returns false when `source` is not in options().sources. Safe while
  /// traffic flows; O(destinations x ports) under each destination's lock in turn.
  bool set_source_enabled(const ip_address& source, bool enabled);
  /// False while `source` is out of rotation (or is not one of the sources).
  bool source_enabled(const ip_address& source) const noexcept;

  /// Figures of every destination seen so far, sorted by destination. Takes each
  /// destination's lock briefly; safe while traffic flows.
  usage_snapshot snapshot() const;
  /// Figures of one destination; nullopt when it was never used.
  std::optional<destination_usage> usage(const endpoint& destination) const;

  const allocator_options& options() const noexcept;

private:
  std::unique_ptr<detail::allocator_core> core_;
};

} // namespace portpool
