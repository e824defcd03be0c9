#pragma once
// One client: pick a backend, connect through the source pool (trying the next backend
// on failure), then relay both directions at once until both ends are done.

#include "runtime.hpp"

#include "portpool/connect.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive_ptr.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace portpool::proxy {

/// The state of one proxied connection, on the heap, kept alive by the handlers that
/// refer to it (an intrusive count: one thread only) and listed in its worker's
/// session_list. The connect phase is a coroutine (it ends once connected); the relay is
/// plain completion handlers over readiness waits and recv/send with MSG_DONTWAIT (no
/// ioctl per socket), so an idle connection holds no coroutine frame and no buffer, and
/// closing throws nothing.
class session : public session_list::hook {
public:
  session(worker& w, boost::asio::ip::tcp::socket client);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Connects upstream, then starts the relay, which runs until both sides close, an
  /// error, the idle timeout or abort(). Never throws.
  static boost::asio::awaitable<void> start(boost::intrusive_ptr<session> self);
  /// Closes both sockets now (draining past --drain-timeout). Pending operations end
  /// with operation_aborted and the session ends.
  void abort() noexcept;

  friend void intrusive_ptr_add_ref(session* s) noexcept { ++s->refs_; }
  friend void intrusive_ptr_release(session* s) noexcept {
    if (--s->refs_ == 0) delete s;
  }

private:
  /// One direction of the relay: bytes read from `from` and written to `to`. Holds a
  /// buffer only while bytes it read are not yet written.
  struct direction {
    boost::asio::ip::tcp::socket& from;
    boost::asio::ip::tcp::socket& to;
    bool to_backend;
    std::optional<buffer_pool::buffer> held;
    std::size_t offset = 0, length = 0;  ///< the unwritten part of `held`
    bool done = false;                   ///< EOF passed on (half-closed)
    bool splicing = false;               ///< bulk: bytes move through `pipe` (--splice auto)
    std::optional<pipe_pool::pipe> pipe; ///< while splicing and bytes are in flight
    std::size_t in_pipe = 0;             ///< bytes read into `pipe`, not yet written
  };

  boost::asio::awaitable<bool> connect_upstream();
  void learn_addresses();
  void start_relay();
  void wait_readable(direction& d);
  void pump(direction& d);
  bool flush(direction& d);
  void pump_splice(direction& d);
  bool drain_pipe(direction& d);
  void end_of_input(direction& d);
  void wait_writable(direction& d);
  void count_written(const direction& d, std::size_t n) noexcept;
  void on_writable(direction& d, const boost::system::error_code& ec);
  void arm_idle_timer();
  void fail(const direction& d, bool reading, const char* what,
            const boost::system::error_code& ec);
  void finish();
  void log_no_backend(const std::string& failures);
  void write_access_log();
  void close_all() noexcept;
  void release_pipes() noexcept;

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
  direction to_backend_{client_, upstream_, true};
  direction to_client_{upstream_, client_, false};
  std::optional<boost::asio::steady_timer> idle_timer_; ///< while relaying, if --idle-timeout
  unsigned refs_ = 0;
  bool aborted_ = false;
  bool finished_ = false;
  bool addresses_known_ = false; ///< client_address_ and frontend_address_ are set
};

/// Runs a session for an accepted client on the worker's thread. The caller has already
/// counted the client in clients_active; the session uncounts it at the end.
void start_session(worker& w, boost::asio::ip::tcp::socket client);

} // namespace portpool::proxy
