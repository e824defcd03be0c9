#pragma once
/// Error codes of the portpool library and their std::error_category.

#include <stdexcept>
#include <string>
#include <system_error>

namespace portpool {

/// What went wrong, in the library's own terms. Kernel errors (EADDRINUSE,
/// ECONNREFUSED...) stay in std::system_category; these are the library's verdicts.
enum class errc {
  exhausted = 1,        ///< every source slot toward the destination is leased or quarantined
  no_source_for_family, ///< the pool has no source address of the destination's family
  retries_exhausted,    ///< every attempt hit a conflicting slot (EADDRINUSE/EADDRNOTAVAIL)
  connect_timeout,      ///< the connect deadline passed
  pool_full,            ///< connection_pool: max_total connections open, none idle to evict
};

/// The category of portpool::errc. Thread-safe (a function-local static).
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Thrown by parsers on bad input; what() names the bad value and why, e.g.
/// `bad port range "70000-80000": port above 65535`.
class bad_input : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

} // namespace portpool

template <> struct std::is_error_code_enum<portpool::errc> : std::true_type {};
