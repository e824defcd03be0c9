#include "error_names.hpp"

#include "portpool/error.hpp"

#include <boost/asio/error.hpp>

#include <cerrno>

namespace portpool::load {

std::string errno_name(int value) {
  switch (value) {
#define PORTPOOL_LOAD_ERRNO(name)                                                                  \
  case name: return #name;
    PORTPOOL_LOAD_ERRNO(EADDRNOTAVAIL)
    PORTPOOL_LOAD_ERRNO(EADDRINUSE)
    PORTPOOL_LOAD_ERRNO(ECONNREFUSED)
    PORTPOOL_LOAD_ERRNO(ECONNRESET)
    PORTPOOL_LOAD_ERRNO(ECONNABORTED)
    PORTPOOL_LOAD_ERRNO(ETIMEDOUT)
    PORTPOOL_LOAD_ERRNO(EMFILE)
    PORTPOOL_LOAD_ERRNO(ENFILE)
    PORTPOOL_LOAD_ERRNO(ENOBUFS)
    PORTPOOL_LOAD_ERRNO(ENOMEM)
    PORTPOOL_LOAD_ERRNO(EHOSTUNREACH)
    PORTPOOL_LOAD_ERRNO(ENETUNREACH)
    PORTPOOL_LOAD_ERRNO(ENETDOWN)
    PORTPOOL_LOAD_ERRNO(EPIPE)
    PORTPOOL_LOAD_ERRNO(EAGAIN)
    PORTPOOL_LOAD_ERRNO(EINVAL)
    PORTPOOL_LOAD_ERRNO(EACCES)
    PORTPOOL_LOAD_ERRNO(EPERM)
    PORTPOOL_LOAD_ERRNO(EINPROGRESS)
    PORTPOOL_LOAD_ERRNO(EALREADY)
    PORTPOOL_LOAD_ERRNO(EISCONN)
    PORTPOOL_LOAD_ERRNO(ENOTCONN)
    PORTPOOL_LOAD_ERRNO(ECANCELED)
    PORTPOOL_LOAD_ERRNO(EBADF)
    PORTPOOL_LOAD_ERRNO(EINTR)
    PORTPOOL_LOAD_ERRNO(EAFNOSUPPORT)
    PORTPOOL_LOAD_ERRNO(EPROTO)
#undef PORTPOOL_LOAD_ERRNO
  default: return "errno " + std::to_string(value);
  }
}

std::string error_name(const std::error_code& ec) {
  if (ec.category() == portpool::error_category()) {
    switch (static_cast<errc>(ec.value())) {
    case errc::exhausted: return "POOL_EXHAUSTED";
    case errc::no_source_for_family: return "NO_SOURCE_FOR_FAMILY";
    case errc::retries_exhausted: return "RETRIES_EXHAUSTED";
    case errc::connect_timeout: return "CONNECT_TIMEOUT";
    default: break; // a newer verdict: named by its category and value below
    }
  }
  if (ec.category() == std::system_category() || ec.category() == std::generic_category())
    return errno_name(ec.value());
  // Boost's categories converted to std keep their errno meaning in the default condition.
  const auto condition = ec.default_error_condition();
  if (condition.category() == std::generic_category()) return errno_name(condition.value());
  return std::string(ec.category().name()) + " " + std::to_string(ec.value());
}

std::string error_name(const boost::system::error_code& ec) {
  if (ec == boost::asio::error::eof) return "EOF";
  if (ec.category() == boost::system::system_category() ||
      ec.category() == boost::system::generic_category())
    return errno_name(ec.value());
  return error_name(static_cast<std::error_code>(ec));
}

} // namespace portpool::load
