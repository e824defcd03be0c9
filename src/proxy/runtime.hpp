#pragma once
// What every thread of the proxy shares, and what each worker thread owns.

#include "balancer.hpp"
#include "buffer_pool.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "log_limiter.hpp"
#include "pipe_pool.hpp"

#include "portpool/allocator.hpp"
#include "portpool/connect.hpp"
#include "portpool/port_range.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <spdlog/logger.h>

#include <atomic>
#include <memory>
#include <vector>

namespace portpool::proxy {

/// Read-mostly state shared by all threads. Members are thread-safe or immutable after
/// start.
struct shared_state {
  proxy_config config;
  /// The source pool (pool mode); in kernel mode a placeholder async_connect never uses.
  std::unique_ptr<source_allocator> allocator;
  balancer backends;
  proxy_counters counters;
  ephemeral_range kernel_range;
  connect_options connect;
  std::size_t maxconn = 0;
  usage_limits kernel_limits; ///< the thresholds for the kernel's range (kernel mode)
  std::shared_ptr<spdlog::logger> access_log; ///< null when --access-log is off
  log_limiter no_backend_log{std::chrono::seconds(1)};
  log_limiter accept_error_log{std::chrono::seconds(1)};
  std::atomic<bool> draining{false};
  /// Per --source address: false while health checks say it reaches no backend.
  std::unique_ptr<std::atomic<bool>[]> source_up;

  explicit shared_state(proxy_config c)
      : config(std::move(c)), backends(config.backends, config.balance) {}
};

class session;

/// The sessions of one worker, so draining can close them. Intrusive: adding a session
/// allocates nothing. Not thread-safe: used on the worker's thread only.
class session_list {
public:
  struct hook {
    hook* prev = nullptr;
    hook* next = nullptr;
  };
  void add(hook& h) noexcept {
    h.next = head_.next;
    h.prev = &head_;
    if (head_.next) head_.next->prev = &h;
    head_.next = &h;
    ++size_;
  }
  void remove(hook& h) noexcept {
    h.prev->next = h.next;
    if (h.next) h.next->prev = h.prev;
    h.prev = h.next = nullptr;
    --size_;
  }
  template <class F> void for_each(F f) {
    for (auto* h = head_.next; h;) {
      auto* next = h->next; // f may unlink h
      f(*h);
      h = next;
    }
  }
  std::size_t size() const noexcept { return size_; }

private:
  hook head_;
  std::size_t size_ = 0;
};

/// One worker thread: its own io_context (one thread runs it, so sessions need no
/// strand), acceptors, relay buffers and round-robin cursor. Member order matters: the
/// io_context is destroyed before the session list and buffers, because destroying it
/// destroys pending handlers, and with them the last references to open sessions.
struct worker {
  worker(shared_state& s, unsigned index)
      : shared(s), buffers(s.config.buffer_size), io(1), id(index) {
    cursor.next = index; // threads start at different places in the rotation
  }
  shared_state& shared;
  buffer_pool buffers;
  pipe_pool pipes;
  balancer::cursor cursor;
  session_list sessions;
  boost::asio::io_context io;
  std::vector<boost::asio::ip::tcp::acceptor> acceptors;
  unsigned id;
};

} // namespace portpool::proxy
