#pragma once
/// Idle upstream connection reuse for request/response protocols: check out an idle
/// connection to a destination or open a new one through the source allocator, and
/// recycle it after a complete exchange.

#include "portpool/connect.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <system_error>

namespace portpool {

namespace detail {
struct connection_pool_state;
}

struct connection_pool_options {
  std::size_t max_idle_per_destination = 16;       ///< idle connections kept per destination
  std::size_t max_total = 1024;                    ///< open connections (idle + checked out)
  std::chrono::milliseconds idle_timeout{30'000};  ///< an idle connection older is closed
  std::chrono::milliseconds max_lifetime{300'000}; ///< a connection older is not reused
  std::chrono::milliseconds sweep_interval{1'000}; ///< how often idle ones are checked
  connect_options connect{};                       ///< for new connections
};

/// Counters since the pool was made.
struct connection_pool_stats {
  std::uint64_t hits = 0;                 ///< checkouts served by an idle connection
  std::uint64_t misses = 0;               ///< checkouts that opened a new connection
  std::uint64_t connect_failures = 0;     ///< new connections that failed
  std::uint64_t evicted_idle_timeout = 0; ///< idle past idle_timeout
  std::uint64_t evicted_lifetime = 0;     ///< older than max_lifetime
  std::uint64_t evicted_peer_closed = 0;  ///< the peer closed (or sent unasked data) while idle
  std::uint64_t evicted_overflow = 0;     ///< recycled while max_idle_per_destination were idle
  std::uint64_t evicted_for_room = 0;     ///< closed to make room under max_total
  std::uint64_t refused_full = 0;         ///< checkouts refused: max_total, nothing idle
  std::size_t open = 0;                   ///< open now (idle + checked out)
  std::size_t idle = 0;                   ///< idle now
};

/// A connection checked out of a connection_pool. Move-only. Call recycle() after a
/// complete request/response to offer it for reuse; otherwise (an error, a half-read
/// response) let it go: destruction closes the socket and frees its source slot.
class pooled_connection {
public:
  pooled_connection() = default;
  pooled_connection(pooled_connection&&) noexcept = default;
  pooled_connection& operator=(pooled_connection&& other) noexcept;
  ~pooled_connection();

  explicit operator bool() const noexcept { return state_ != nullptr; }
  /// The connected socket. Precondition: the object holds a connection.
  boost::asio::ip::tcp::socket& socket() noexcept { return *socket_; }
  /// The source slot (empty in kernel mode).
  const lease& slot() const noexcept { return slot_; }
  /// True when this checkout was served by an idle connection.
  bool reused() const noexcept { return reused_; }

  /// Returns the connection to the pool's idle list (or closes it when the pool does not
  /// want it: peer closed, too old, idle list full). Leaves this object empty.
  void recycle();

private:
  friend class connection_pool;
  friend struct detail::connection_pool_state;
  void close() noexcept;

  std::shared_ptr<detail::connection_pool_state> state_;
  boost::asio::ip::tcp::endpoint destination_;
  std::optional<boost::asio::ip::tcp::socket> socket_; // a socket needs an executor
  lease slot_;
  std::chrono::steady_clock::time_point created_{};
  bool reused_ = false;
};

/// Per-executor pool of idle upstream connections, keyed by destination. Not
/// thread-safe: use one pool per io_context thread (or from one strand); the allocator
/// behind it may be shared across threads. The allocator must outlive the pool and every
/// connection it hands out. A sweeper on the executor closes idle connections past
/// idle_timeout or max_lifetime, or whose peer closed, every sweep_interval.
class connection_pool {
public:
  connection_pool(boost::asio::any_io_executor executor, source_allocator& allocator,
                  connection_pool_options options = {});
  ~connection_pool(); ///< closes idle connections; checked-out ones stay usable
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  /// An idle, healthy connection to `destination`, or a new one. Errors: those of
  /// async_connect, or errc::pool_full. Never hands out a connection whose peer closed.
  boost::asio::awaitable<pooled_connection> checkout(boost::asio::ip::tcp::endpoint destination,
                                                     std::error_code& ec);

  connection_pool_stats stats() const;
  /// Runs the sweep now (the sweeper does it every sweep_interval).
  void sweep();

private:
  std::shared_ptr<detail::connection_pool_state> state_;
};

} // namespace portpool
