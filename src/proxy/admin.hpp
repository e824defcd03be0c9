#pragma once
// The admin endpoint (Boost.Beast): GET / (the dashboard page), /metrics, /stats, /healthz.

#include "runtime.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>

namespace portpool::proxy {

/// Serves the admin endpoint on `io` until stop(). Requests are limited to 8 KiB of
/// headers and 1 KiB of body, and each read or write to 10 s.
class admin_server {
public:
  /// Binds and listens at `at`; throws std::runtime_error naming the address and why.
  admin_server(boost::asio::io_context& io, const shared_state& shared, const endpoint& at);
  /// Closes the listener; open connections end after their current request.
  void stop();

private:
  boost::asio::ip::tcp::acceptor acceptor_;
  const shared_state& shared_;
};

} // namespace portpool::proxy
