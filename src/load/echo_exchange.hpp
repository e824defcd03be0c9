#pragma once
// One echo round trip on a connected socket: send a payload whose bytes depend on the
// connection and the round, read the same number of bytes back, compare.

#include "run_stats.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace portpool::load {

/// Sends `payload` bytes and reads them back within `timeout` (using `timer`), updating
/// stats (bytes, echoes, echo_latency, echo_mismatch). Returns nullopt when every byte came
/// back intact, else the reason: "ECHO_MISMATCH", "ECHO_TIMEOUT", "EOF" or an errno name.
/// The pattern differs per (connection, round), so bytes crossing connections are caught.
boost::asio::awaitable<std::optional<std::string>>
echo_once(boost::asio::ip::tcp::socket& socket, boost::asio::steady_timer& timer,
          std::size_t payload, std::uint64_t connection, std::uint64_t round,
          std::chrono::milliseconds timeout, run_stats& stats);

} // namespace portpool::load
