#pragma once
// A one-shot event for the coroutines of one io_context: "stop now" (the duration is over,
// the parent said so, or a signal came). Any number of coroutines may wait on it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

namespace portpool::load {

/// Not thread-safe: use it from the io_context's one thread.
class stop_event {
public:
  explicit stop_event(boost::asio::any_io_executor executor);

  /// Wakes every waiter, now and later. Idempotent.
  void fire();
  bool fired() const noexcept { return fired_; }

  /// Completes when fire() is called (at once if it was).
  boost::asio::awaitable<void> wait();
  /// Completes at `when` or on fire(), whichever is first; true if fired.
  boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point when);
  boost::asio::awaitable<bool> wait_for(std::chrono::steady_clock::duration d) {
    return wait_until(std::chrono::steady_clock::now() + d);
  }

private:
  boost::asio::steady_timer timer_; // never expires: fire() cancels it to wake the waiters
  bool fired_ = false;
};

/// A wake-up for one coroutine that sleeps until some counter changes, e.g. "fewer than
/// C connects in flight". notify() without a sleeper is not lost as long as the sleeper
/// re-checks its condition before calling wait(), which the single thread guarantees.
class wakeup {
public:
  explicit wakeup(boost::asio::any_io_executor executor);
  void notify() { timer_.cancel(); }
  boost::asio::awaitable<void> wait();

private:
  boost::asio::steady_timer timer_;
};

} // namespace portpool::load
