#pragma once
// Health checks: periodic TCP connects to every backend, cycling through the source
// addresses, so that a dead backend and a broken source address are told apart.

#include "runtime.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <list>
#include <vector>

namespace portpool::proxy {

/// Checks each backend every --health-interval with a TCP connect (closed with RST so no
/// TIME_WAIT is left), from the next source address each time. A backend goes down after
/// 3 failed checks in a row and up after 2 good ones. When a check fails from one source
/// it is repeated at once from the next: if that succeeds, the first source is blamed
/// instead of the backend, and a source blamed 3 times in a row is marked down (up again
/// after 2 good checks). A source that cannot even be bound (not an address of this host)
/// is marked down at once. A source marked down is taken out of the allocator's rotation
/// until it is up again. Runs on `io`; the flags it sets are atomics read by every thread.
class health_checker {
public:
  health_checker(boost::asio::io_context& io, shared_state& shared);
  void start();
  void stop();

private:
  struct counts {
    unsigned failures = 0, successes = 0;
  };
  boost::asio::awaitable<void> check_loop(backend& b, std::size_t first_source);
  struct probe_result {
    std::string why;          ///< empty on success, else why the probe failed
    bool cannot_bind = false; ///< the source address itself was refused by bind()
    bool ok() const noexcept { return why.empty(); }
  };
  boost::asio::awaitable<probe_result> probe(backend& b, const ip_address* source);
  void record_backend(backend& b, counts& c, bool ok, const std::string& why);
  void record_source(std::size_t index, bool ok, const backend& b, const std::string& why,
                     bool at_once = false);

  boost::asio::io_context& io_;
  shared_state& shared_;
  std::vector<counts> source_counts_;
  std::list<boost::asio::steady_timer> timers_;
  bool stopped_ = false;
};

} // namespace portpool::proxy
