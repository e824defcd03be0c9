#pragma once
// portpool-proxy's settings: every command-line option and the same keys in an INI file,
// parsed into one struct by a pure function so that tests need no sockets.

#include "portpool/address.hpp"
#include "portpool/allocator.hpp"
#include "portpool/connect.hpp"
#include "portpool/port_range.hpp"
#include "portpool/usage.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace portpool::proxy {

/// How a new client picks its backend.
enum class balance_mode { roundrobin, leastconn };

/// Which PROXY protocol header, if any, is sent to backends before the client's bytes.
enum class proxy_header { none, v1, v2 };

std::string_view to_string(balance_mode mode) noexcept;
std::string_view to_string(proxy_header header) noexcept;

/// One `--backend HOST:PORT[,weight=N]`.
struct backend_spec {
  endpoint address;
  unsigned weight = 1; ///< 0 takes no new clients (like HAProxy's weight 0)
};

/// Everything the proxy needs to start. Durations are milliseconds; zero disables the
/// feature where documented.
struct proxy_config {
  std::vector<endpoint> listen;
  std::vector<backend_spec> backends;
  address_pool sources;
  port_set ports;
  source_mode mode = source_mode::pool;
  unsigned threads = 1;
  balance_mode balance = balance_mode::roundrobin;
  std::size_t maxconn = 0; ///< 0: derived from the open-file limit at start
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{300000};  ///< 0: never
  unsigned retries = 3;                            ///< further backends tried after a failure
  std::chrono::milliseconds health_interval{2000}; ///< 0: no health checks
  std::optional<endpoint> admin;                   ///< nullopt: admin endpoint off
  usage_thresholds thresholds{};
  std::string log_level = "info";
  std::string access_log; ///< empty: off; "-": standard output; else a file path
  proxy_header send_proxy = proxy_header::none;
  std::chrono::milliseconds drain_timeout{30000};
  partition slice{};
  std::size_t buffer_size = 16384; ///< bytes per direction while data moves
  bool splice = true; ///< --splice auto: bulk transfers move through a pipe, not the buffer
};

/// `--help` was asked for: print `text` and exit 0.
struct help_request {
  std::string text;
};

/// A bad option or value: print `message` (one line, names the option and the value)
/// and exit 2 without starting anything.
struct config_error {
  std::string message;
};

using config_outcome = std::variant<proxy_config, help_request, config_error>;

/// Parses the arguments (without the program name). `--config FILE` reads the same keys
/// from an INI file ("backend = 127.0.0.1:8080"); the command line wins over the file.
/// Reads no sockets and no sysctls; reads the config file when one is named.
config_outcome parse_config(const std::vector<std::string>& args);

/// Parses "500ms", "5s", "2m", "1h" (a whole number and a unit). Throws bad_input
/// naming the value; `option` names the option in the message.
std::chrono::milliseconds parse_duration(std::string_view option, std::string_view text);

/// Parses "HOST:PORT[,weight=N]"; throws bad_input naming the value.
backend_spec parse_backend(std::string_view text);

/// "1.5s", "300ms", "2m": the shortest exact form, for logs.
std::string format_duration(std::chrono::milliseconds d);

} // namespace portpool::proxy
