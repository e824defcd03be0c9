#include "session.hpp"

#include "alerts.hpp"
#include "proxy_protocol.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

namespace portpool::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);

// Ends one relay direction; carries why, for the access log.
struct relay_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string fix_for(const shared_state& shared, const backend& b, failure_reason reason,
                    const std::error_code& ec) {
  const auto& c = shared.config;
  switch (reason) {
  case failure_reason::exhausted:
    if (c.mode == source_mode::kernel)
      return "the kernel's ephemeral range " + std::to_string(shared.kernel_range.low) + "-" +
             std::to_string(shared.kernel_range.high) + " (" +
             std::to_string(shared.kernel_range.size()) + " ports) is used up toward it (" +
             ec.message() + "); fix: run with --source-mode pool --source ADDRS --ports RANGE";
    return "no free source port from all sources: " + shared.allocator->describe(b.spec.address) +
           " (--source, --ports)";
  case failure_reason::conflicts:
    return "every source slot tried was taken by another socket (" + ec.message() +
           "); fix: choose --ports that no other program binds";
  case failure_reason::timeout:
    return "no answer within --connect-timeout " + format_duration(c.connect_timeout) +
           "; is the backend overloaded or firewalled?";
  case failure_reason::refused: return "connection refused; is the backend running?";
  case failure_reason::no_source:
    return "no --source address of the backend's address family; add one";
  case failure_reason::unreachable:
  case failure_reason::other: break;
  }
  return ec.message();
}

} // namespace

session::session(worker& w, tcp::socket client)
    : worker_(w), shared_(w.shared), client_(std::move(client)), upstream_(w.io),
      started_(std::chrono::steady_clock::now()), last_activity_(started_) {
  worker_.sessions.add(*this);
  boost::system::error_code ignored; // a client that already left fails later, in the relay
  client_address_ = client_.remote_endpoint(ignored);
  frontend_address_ = client_.local_endpoint(ignored);
  client_.set_option(tcp::no_delay(true), ignored);
}

session::~session() {
  close_all();
  worker_.sessions.remove(*this);
  bump(shared_.counters.clients_active, static_cast<std::uint64_t>(-1));
}

void session::close_all() noexcept {
  boost::system::error_code ignored; // closing is all that is left to do
  client_.close(ignored);
  upstream_.close(ignored);
  // The lease goes back only once its socket is closed, so the slot is never reused
  // while the old connection still holds the 4-tuple.
  slot_.release();
  if (backend_) {
    backend_->counters.closed();
    if (shared_.config.mode == source_mode::kernel)
      check_kernel_usage(*backend_, shared_.kernel_limits, shared_.kernel_range.size());
    backend_ = nullptr;
  }
}

void session::abort() noexcept {
  aborted_ = true;
  if (end_.empty()) end_ = "closed by drain timeout";
  boost::system::error_code ignored; // see close_all()
  client_.close(ignored);
  upstream_.close(ignored);
}

asio::awaitable<void> session::run() {
  try {
    if (!co_await connect_upstream()) {
      write_access_log();
      co_return;
    }
    co_await relay();
  } catch (const std::exception& e) {
    if (end_.empty()) end_ = std::string("error: ") + e.what();
  }
  write_access_log();
}

asio::awaitable<bool> session::connect_upstream() {
  const auto& c = shared_.config;
  backend* tried[101]; // --retries is at most 100
  std::size_t attempts = 0;
  std::string failures;
  while (attempts <= c.retries && !aborted_) {
    backend* b = shared_.backends.pick(worker_.cursor, {tried, attempts});
    if (!b) break;
    tried[attempts++] = b;
    auto r = co_await async_connect(*shared_.allocator, b->address, shared_.connect);
    if (r.conflicts) bump(b->counters.conflicts, r.conflicts);
    if (!r.error) {
      if (aborted_) co_return false; // drained while connecting
      upstream_ = std::move(r.socket);
      slot_ = std::move(r.slot);
      backend_ = b;
      b->counters.opened();
      if (c.mode == source_mode::kernel)
        check_kernel_usage(*b, shared_.kernel_limits, shared_.kernel_range.size());
      break;
    }
    const auto reason = classify_connect_error(r.error);
    b->counters.count_failure(reason);
    if (!failures.empty()) failures += "; ";
    failures += b->name + ": " + std::string(to_string(reason)) + ": " +
                fix_for(shared_, *b, reason, r.error);
  }
  if (!backend_) {
    bump(shared_.counters.clients_failed);
    end_ = aborted_ ? "closed by drain timeout" : "no backend reachable";
    if (!aborted_) log_no_backend(failures);
    co_return false;
  }
  boost::system::error_code ec;
  upstream_.set_option(tcp::no_delay(true), ec);
  // The relay reads with read_some after a readiness wait; non-blocking mode makes a
  // spurious wake-up return would_block instead of stalling the thread.
  client_.non_blocking(true, ec);
  if (!ec) upstream_.non_blocking(true, ec);
  if (ec) throw relay_error("cannot set non-blocking mode: " + ec.message());
  if (c.send_proxy != proxy_header::none) {
    const auto header = c.send_proxy == proxy_header::v1
                            ? proxy_header_v1(client_address_, frontend_address_)
                            : proxy_header_v2(client_address_, frontend_address_);
    auto [wec, n] = co_await asio::async_write(upstream_, asio::buffer(header), token);
    if (wec) throw relay_error("backend closed before the PROXY header: " + wec.message());
  }
  co_return true;
}

void session::log_no_backend(const std::string& failures) {
  std::uint64_t suppressed = 0;
  if (!shared_.no_backend_log.allow(suppressed)) return;
  spdlog::error(
      "closed client {}: no backend reachable: {}{}",
      client_address_.address().to_string() + ":" + std::to_string(client_address_.port()),
      failures.empty() ? std::string("every backend has weight 0") : failures,
      suppressed ? " (" + std::to_string(suppressed) + " similar lines held back)" : std::string());
}

asio::awaitable<void> session::relay_both() {
  // Both directions at once; an error in one (thrown) cancels the other. Caught here so
  // that relay()'s race with the idle timer sees a finished relay, not a failed branch
  // (the || operator waits for a branch that *succeeds*).
  try {
    co_await (transfer(client_, upstream_, true) && transfer(upstream_, client_, false));
    if (end_.empty()) end_ = "closed";
  } catch (const std::exception& e) {
    if (end_.empty()) end_ = std::string("error: ") + e.what();
  }
}

asio::awaitable<void> session::relay() {
  if (shared_.config.idle_timeout.count() == 0) {
    co_await relay_both();
    co_return;
  }
  auto outcome = co_await (relay_both() || watch_idle());
  if (outcome.index() == 1) {
    bump(shared_.counters.idle_timeouts);
    end_ = "idle timeout";
  }
}

asio::awaitable<void> session::transfer(tcp::socket& from, tcp::socket& to, bool to_backend) {
  auto& counter =
      to_backend ? backend_->counters.bytes_to_backend : backend_->counters.bytes_to_client;
  auto& total = to_backend ? bytes_to_backend_ : bytes_to_client_;
  const char* from_name = to_backend ? "client" : "backend";
  const char* to_name = to_backend ? "backend" : "client";
  for (;;) {
    // Wait for bytes without a buffer: an idle connection holds no relay memory.
    auto [ec] = co_await from.async_wait(tcp::socket::wait_read, token);
    if (ec) throw relay_error(std::string(from_name) + " wait: " + ec.message());
    auto buffer = worker_.buffers.take();
    for (;;) {
      boost::system::error_code rec;
      const auto n = from.read_some(asio::buffer(buffer.data(), buffer.size()), rec);
      if (rec == asio::error::would_block) break;
      if (rec == asio::error::eof) {
        // Half-close: pass the FIN on and keep the other direction running.
        boost::system::error_code ignored; // the peer may be gone; the other side sees it
        to.shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
      if (rec) throw relay_error(std::string(from_name) + " read: " + rec.message());
      last_activity_ = std::chrono::steady_clock::now();
      // Backpressure: nothing more is read from `from` until `to` took these bytes.
      auto [wec, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n), token);
      if (wec) throw relay_error(std::string(to_name) + " write: " + wec.message());
      bump(counter, n);
      total += n;
      last_activity_ = std::chrono::steady_clock::now();
      if (n < buffer.size()) break; // drained for now; wait again without the buffer
    }
  }
}

asio::awaitable<void> session::watch_idle() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto idle = shared_.config.idle_timeout;
  for (;;) {
    timer.expires_at(last_activity_ + idle);
    auto [ec] = co_await timer.async_wait(token);
    if (ec) throw relay_error("idle timer: " + ec.message());
    if (std::chrono::steady_clock::now() >= last_activity_ + idle) co_return;
  }
}

void session::write_access_log() {
  if (!shared_.access_log) return;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started_)
                      .count();
  std::string source = "-";
  if (slot_)
    source = slot_.source().to_string() + ":" + std::to_string(slot_.port());
  else if (upstream_.is_open()) {
    boost::system::error_code ignored; // "-" is logged instead
    const auto local = upstream_.local_endpoint(ignored);
    if (!ignored) source = local.address().to_string() + ":" + std::to_string(local.port());
  }
  shared_.access_log->info(
      "client={}:{} frontend={}:{} backend={} source={} duration_ms={} bytes_in={} "
      "bytes_out={} end=\"{}\"",
      client_address_.address().to_string(), client_address_.port(),
      frontend_address_.address().to_string(), frontend_address_.port(),
      backend_ ? backend_->name : std::string("-"), source, ms, bytes_to_backend_, bytes_to_client_,
      end_);
}

asio::awaitable<void> run_session(worker& w, tcp::socket client) {
  session s(w, std::move(client));
  co_await s.run();
}

} // namespace portpool::proxy
