#pragma once
/// Boost.Asio: connect a TCP socket from a source slot of the pool, with a deadline,
/// retrying other slots when the kernel says the chosen one is taken.

#include "portpool/allocator.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <optional>
#include <string_view>
#include <system_error>

namespace portpool {

/// How the source of an outgoing connection is chosen.
enum class source_mode {
  pool,   ///< explicit bind to a slot leased from the allocator (portpool's way)
  kernel, ///< plain connect(): the kernel picks from ip_local_port_range (for comparison)
};

std::string_view to_string(source_mode mode) noexcept;
/// "pool" or "kernel"; nullopt otherwise.
std::optional<source_mode> parse_source_mode(std::string_view text) noexcept;

struct connect_options {
  source_mode mode = source_mode::pool;
  std::chrono::milliseconds timeout{5000}; ///< deadline for each connect attempt
  unsigned max_conflicts = 16;             ///< slot conflicts tolerated before giving up
};

/// The outcome of async_connect. On success `socket` is connected and, in pool mode,
/// `slot` holds its lease: keep both together and the slot frees when `slot` is
/// destroyed or released (close the socket first, or together). On failure `socket` is
/// closed and `slot` empty.
struct connect_result {
  std::error_code error;
  boost::asio::ip::tcp::socket socket;
  lease slot;
  unsigned conflicts = 0; ///< slots found taken elsewhere and quarantined on the way
};

boost::asio::ip::address to_asio(const ip_address& address);
boost::asio::ip::tcp::endpoint to_asio(const endpoint& e);
endpoint from_asio(const boost::asio::ip::tcp::endpoint& e);

/// True for the errors that mean "this (source ip, port) is taken for that destination",
/// after which another slot may succeed: EADDRINUSE and EADDRNOTAVAIL.
bool is_slot_conflict(const std::error_code& ec) noexcept;

/// Connects to `destination`. Pool mode: leases a slot, opens a socket with SO_REUSEADDR,
/// binds it to the slot and connects; on EADDRINUSE/EADDRNOTAVAIL quarantines the slot
/// and tries another, up to options.max_conflicts. Kernel mode: plain connect().
/// Errors (in result.error): errc::exhausted, errc::no_source_for_family,
/// errc::retries_exhausted, errc::connect_timeout, or the kernel's (ECONNREFUSED...).
/// Never throws for network errors. `pool` must outlive the returned lease.
boost::asio::awaitable<connect_result> async_connect(source_allocator& pool,
                                                     boost::asio::ip::tcp::endpoint destination,
                                                     connect_options options = {});

} // namespace portpool
