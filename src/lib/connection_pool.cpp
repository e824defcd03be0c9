#include "portpool/connection_pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <deque>
#include <map>

namespace portpool {
namespace asio = boost::asio;
using asio::ip::tcp;
using time_point = std::chrono::steady_clock::time_point;

namespace {

// True when an idle connection must not be handed out: the peer closed (EOF), reset,
// or sent bytes nobody asked for (the request/response exchange is out of step).
bool unusable_while_idle(tcp::socket& socket) {
  char byte;
  const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  return true; // 0: EOF; > 0: unasked data
}

} // namespace

namespace detail {

struct idle_connection {
  tcp::socket socket;
  lease slot;
  time_point created;
  time_point idle_since;
};

struct connection_pool_state {
  connection_pool_state(asio::any_io_executor ex, source_allocator& a, connection_pool_options o)
      : executor(ex), allocator(a), options(o), timer(ex) {}

  // Why an idle connection should go now, as the counter to bump; nullptr to keep it.
  std::uint64_t* eviction_reason(idle_connection& c, time_point now) {
    if (now - c.created >= options.max_lifetime) return &stats.evicted_lifetime;
    if (now - c.idle_since >= options.idle_timeout) return &stats.evicted_idle_timeout;
    if (unusable_while_idle(c.socket)) return &stats.evicted_peer_closed;
    return nullptr;
  }

  void close_idle(idle_connection& c) {
    boost::system::error_code ignored; // closing an idle socket: nothing to report
    c.socket.close(ignored);
    c.slot.release();
    --stats.open;
    --stats.idle;
  }

  void sweep() {
    const auto now = std::chrono::steady_clock::now();
    for (auto it = idle.begin(); it != idle.end();) {
      auto& list = it->second;
      for (auto c = list.begin(); c != list.end();) {
        if (auto* reason = eviction_reason(*c, now)) {
          ++*reason;
          close_idle(*c);
          c = list.erase(c);
        } else {
          ++c;
        }
      }
      it = list.empty() ? idle.erase(it) : std::next(it);
    }
  }

  // Closes the connection idle the longest, of any destination; false when none is idle.
  bool evict_for_room() {
    auto oldest = idle.end();
    for (auto it = idle.begin(); it != idle.end(); ++it)
      if (oldest == idle.end() || it->second.front().idle_since < oldest->second.front().idle_since)
        oldest = it;
    if (oldest == idle.end()) return false;
    ++stats.evicted_for_room;
    close_idle(oldest->second.front());
    oldest->second.pop_front();
    if (oldest->second.empty()) idle.erase(oldest);
    return true;
  }

  void take_back(pooled_connection& c) {
    const auto now = std::chrono::steady_clock::now();
    idle_connection entry{std::move(*c.socket_), std::move(c.slot_), c.created_, now};
    c.socket_.reset();
    ++stats.idle; // counted now so that close_idle() below balances it
    auto& list = idle[c.destination_];
    if (stopped) {
      close_idle(entry);
    } else if (auto* reason = eviction_reason(entry, now)) {
      ++*reason;
      close_idle(entry);
    } else if (list.size() >= options.max_idle_per_destination) {
      ++stats.evicted_overflow;
      close_idle(entry);
    } else {
      list.push_back(std::move(entry)); // reused last-in first-out: a small hot set
    }
    if (list.empty()) idle.erase(c.destination_);
  }

  asio::any_io_executor executor;
  source_allocator& allocator;
  const connection_pool_options options;
  std::map<tcp::endpoint, std::deque<idle_connection>> idle;
  connection_pool_stats stats;
  asio::steady_timer timer;
  bool stopped = false;
};

} // namespace detail

namespace {

asio::awaitable<void> sweep_periodically(std::shared_ptr<detail::connection_pool_state> s) {
  while (!s->stopped) {
    s->timer.expires_after(s->options.sweep_interval);
    boost::system::error_code ec;
    co_await s->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (s->stopped) co_return; // the pool is gone: cancelled on purpose
    s->sweep();
  }
}

} // namespace

pooled_connection& pooled_connection::operator=(pooled_connection&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::move(other.state_);
    destination_ = other.destination_;
    socket_ = std::move(other.socket_);
    slot_ = std::move(other.slot_);
    created_ = other.created_;
    reused_ = other.reused_;
  }
  return *this;
}

pooled_connection::~pooled_connection() { close(); }

void pooled_connection::close() noexcept {
  if (!state_) return;
  boost::system::error_code ignored; // the caller gave up on this connection
  if (socket_) socket_->close(ignored);
  socket_.reset();
  slot_.release();
  --state_->stats.open;
  state_.reset();
}

void pooled_connection::recycle() {
  if (!state_) return;
  auto state = std::move(state_);
  state->take_back(*this);
}

connection_pool::connection_pool(asio::any_io_executor executor, source_allocator& allocator,
                                 connection_pool_options options)
    : state_(std::make_shared<detail::connection_pool_state>(executor, allocator, options)) {
  asio::co_spawn(executor, sweep_periodically(state_), asio::detached);
}

connection_pool::~connection_pool() {
  state_->stopped = true;
  state_->timer.cancel();
  for (auto& [destination, list] : state_->idle)
    for (auto& c : list)
      state_->close_idle(c);
  state_->idle.clear();
}

asio::awaitable<pooled_connection> connection_pool::checkout(tcp::endpoint destination,
                                                             std::error_code& ec) {
  auto s = state_; // the pool object may go away while this coroutine waits
  ec.clear();
  const auto now = std::chrono::steady_clock::now();
  if (auto it = s->idle.find(destination); it != s->idle.end()) {
    auto& list = it->second;
    while (!list.empty()) {
      auto c = std::move(list.back());
      list.pop_back();
      if (auto* reason = s->eviction_reason(c, now)) {
        ++*reason;
        s->close_idle(c);
        continue;
      }
      --s->stats.idle;
      ++s->stats.hits;
      pooled_connection out;
      out.state_ = s;
      out.destination_ = destination;
      out.socket_.emplace(std::move(c.socket));
      out.slot_ = std::move(c.slot);
      out.created_ = c.created;
      out.reused_ = true;
      if (list.empty()) s->idle.erase(it);
      co_return out;
    }
    s->idle.erase(it);
  }
  if (s->stats.open >= s->options.max_total && !s->evict_for_room()) {
    ++s->stats.refused_full;
    ec = errc::pool_full;
    co_return pooled_connection{};
  }
  ++s->stats.open; // reserved before the wait, so concurrent checkouts respect max_total
  ++s->stats.misses;
  auto r = co_await async_connect(s->allocator, destination, s->options.connect);
  if (r.error) {
    --s->stats.open;
    ++s->stats.connect_failures;
    ec = r.error;
    co_return pooled_connection{};
  }
  pooled_connection out;
  out.state_ = s;
  out.destination_ = destination;
  out.socket_.emplace(std::move(r.socket));
  out.slot_ = std::move(r.slot);
  out.created_ = std::chrono::steady_clock::now();
  co_return out;
}

connection_pool_stats connection_pool::stats() const { return state_->stats; }

void connection_pool::sweep() { state_->sweep(); }

} // namespace portpool
