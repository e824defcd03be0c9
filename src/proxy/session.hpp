#pragma once
// One client: pick a backend, connect through the source pool (trying the next backend
// on failure), then relay both directions at once until both ends are done.

#include "runtime.hpp"

#include "portpool/connect.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace portpool::proxy {

/// The state of one proxied connection. Lives in its coroutine's frame and is listed
/// in its worker's session_list. Used on the worker's thread only.
class session : public session_list::hook {
public:
  session(worker& w, boost::asio::ip::tcp::socket client);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Connects upstream and relays until both sides close, an error, the idle timeout
  /// or abort(). Never throws.
  boost::asio::awaitable<void> run();
  /// Closes both sockets now (draining past --drain-timeout). Pending operations end
  /// with operation_aborted and run() returns.
  void abort() noexcept;

private:
  boost::asio::awaitable<bool> connect_upstream();
  boost::asio::awaitable<void> relay();
  boost::asio::awaitable<void> relay_both();
  boost::asio::awaitable<void> transfer(boost::asio::ip::tcp::socket& from,
                                        boost::asio::ip::tcp::socket& to, bool to_backend);
  boost::asio::awaitable<void> watch_idle();
  void log_no_backend(const std::string& failures);
  void write_access_log();
  void close_all() noexcept;

  worker& worker_;
  shared_state& shared_;
  boost::asio::ip::tcp::socket client_;
  boost::asio::ip::tcp::socket upstream_;
  lease slot_;
  backend* backend_ = nullptr;
  boost::asio::ip::tcp::endpoint client_address_, frontend_address_;
  std::chrono::steady_clock::time_point started_, last_activity_;
  std::uint64_t bytes_to_backend_ = 0, bytes_to_client_ = 0;
  std::string end_; ///< why the session ended, for the access log
  bool aborted_ = false;
};

/// Runs a session for an accepted client on the worker's thread. The caller has already
/// counted the client in clients_active; the session uncounts it at the end.
boost::asio::awaitable<void> run_session(worker& w, boost::asio::ip::tcp::socket client);

} // namespace portpool::proxy
