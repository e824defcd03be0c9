#pragma once
// Failure reasons as short stable names ("EADDRNOTAVAIL", "POOL_EXHAUSTED"), the keys of
// the error tallies in the live line, the summary and the JSON report.

#include <boost/system/error_code.hpp>

#include <string>
#include <system_error>

namespace portpool::load {

/// The errno name of a system error ("EADDRNOTAVAIL"), the library's verdicts in capitals
/// ("POOL_EXHAUSTED", "CONNECT_TIMEOUT", "RETRIES_EXHAUSTED", "NO_SOURCE_FOR_FAMILY"), or
/// "errno 123" / "<category> 5" for anything without a name. Thread-safe.
std::string error_name(const std::error_code& ec);

/// As above for Asio's codes; end of stream is "EOF".
std::string error_name(const boost::system::error_code& ec);

/// The name of errno value `value`, or "errno <value>". Thread-safe.
std::string errno_name(int value);

} // namespace portpool::load
