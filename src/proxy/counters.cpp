#include "counters.hpp"

#include "portpool/error.hpp"

namespace portpool::proxy {

std::string_view to_string(failure_reason reason) noexcept {
  switch (reason) {
  case failure_reason::exhausted: return "exhausted";
  case failure_reason::conflicts: return "conflicts";
  case failure_reason::timeout: return "timeout";
  case failure_reason::refused: return "refused";
  case failure_reason::unreachable: return "unreachable";
  case failure_reason::no_source: return "no_source";
  case failure_reason::other: break;
  }
  return "other";
}

failure_reason classify_connect_error(const std::error_code& ec) noexcept {
  if (ec == errc::exhausted) return failure_reason::exhausted;
  if (ec == errc::retries_exhausted) return failure_reason::conflicts;
  if (ec == errc::connect_timeout) return failure_reason::timeout;
  if (ec == errc::no_source_for_family) return failure_reason::no_source;
  // In kernel mode EADDRNOTAVAIL at connect() is the ephemeral range running out.
  if (ec == std::errc::address_not_available) return failure_reason::exhausted;
  if (ec == std::errc::connection_refused) return failure_reason::refused;
  if (ec == std::errc::network_unreachable || ec == std::errc::host_unreachable)
    return failure_reason::unreachable;
  return failure_reason::other;
}

} // namespace portpool::proxy
