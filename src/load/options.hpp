#pragma once
// portpool-load's command line: the mode, its options, and the checks that turn bad input
// into one line naming the value (exit 2) before anything starts.

#include "portpool/address.hpp"
#include "portpool/allocator.hpp"
#include "portpool/connect.hpp"
#include "portpool/port_range.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace portpool::load {

/// What the program does.
enum class run_mode { hold, churn, serve };

/// "hold", "churn" or "serve".
std::string_view to_string(run_mode mode) noexcept;

/// Bad command-line usage; what() is one line naming the bad value. main() prints it and
/// exits 2.
class usage_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Everything one run needs, already validated.
struct load_options {
  run_mode mode = run_mode::hold;

  // hold and churn
  std::vector<endpoint> targets; ///< --target, repeatable; connections go round-robin
  source_mode sources_mode = source_mode::pool;
  std::optional<address_pool> sources;        ///< --source (pool mode only)
  port_set ports;                             ///< --ports, or the default described in usage()
  partition slice{};                          ///< --partition: this whole run's share of the slots
  std::uint64_t connections = 1000;           ///< hold: --connections (all workers together)
  double rate = 0;                            ///< --rate conn/s for all workers; 0 = unpaced
  std::uint64_t concurrency = 256;            ///< --concurrency: connects (churn: cycles) in flight
  std::size_t payload = 64;                   ///< --payload bytes per echo
  std::chrono::milliseconds ping_interval{0}; ///< hold: --ping-interval; 0 = no pings
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds echo_timeout{5000};

  // every mode
  std::chrono::milliseconds duration{10000}; ///< hold: after the ramp; churn/serve: whole run
  std::chrono::milliseconds progress{1000};  ///< --progress; 0 = no live line
  unsigned workers = 1;                      ///< --workers processes
  std::string json_file;                     ///< --json FILE; empty = none

  // serve
  std::vector<endpoint> listen; ///< --listen, repeatable
};

/// Parses argv (argv[1] is the mode). Throws usage_error naming the bad value. Returns
/// nullopt after printing help when asked for it.
std::optional<load_options> parse_options(int argc, const char* const* argv);

/// Parses "500ms", "10s", "2m", "1h" or a bare number of seconds ("1.5"). Throws
/// usage_error naming `flag` and the value.
std::chrono::milliseconds parse_duration(const std::string& flag, const std::string& text);

/// The connection budget of worker `index` of `count` when `total` are shared out: the
/// first total % count workers take one more.
std::uint64_t share_of(std::uint64_t total, unsigned index, unsigned count) noexcept;

} // namespace portpool::load
