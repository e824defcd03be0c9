#pragma once
// The one error type of the socket table readers.

#include <stdexcept>

namespace portpool::watch {

/// Thrown when a socket table cannot be read; what() names the source and the reason,
/// e.g. `netlink sock_diag: socket(AF_NETLINK): Protocol not supported`.
class socket_table_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace portpool::watch
