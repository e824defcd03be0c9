#include "stop_event.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace portpool::load {
namespace asio = boost::asio;

namespace {
constexpr auto token = asio::as_tuple(asio::use_awaitable);
}

stop_event::stop_event(asio::any_io_executor executor)
    : timer_(std::move(executor), asio::steady_timer::time_point::max()) {}

void stop_event::fire() {
  fired_ = true;
  timer_.cancel();
}

asio::awaitable<void> stop_event::wait() {
  while (!fired_)
    co_await timer_.async_wait(token); // only cancel() ends the wait
}

asio::awaitable<bool> stop_event::wait_until(std::chrono::steady_clock::time_point when) {
  using namespace asio::experimental::awaitable_operators;
  if (fired_) co_return true;
  asio::steady_timer alarm(timer_.get_executor(), when);
  co_await (alarm.async_wait(token) || timer_.async_wait(token));
  co_return fired_;
}

wakeup::wakeup(asio::any_io_executor executor)
    : timer_(std::move(executor), asio::steady_timer::time_point::max()) {}

asio::awaitable<void> wakeup::wait() {
  timer_.expires_at(asio::steady_timer::time_point::max());
  co_await timer_.async_wait(token); // cancelled by notify()
}

} // namespace portpool::load
