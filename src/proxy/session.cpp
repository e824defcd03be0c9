#include "session.hpp"

#include "alerts.hpp"
#include "proxy_protocol.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <cerrno>

namespace portpool::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);

// Ends the connect phase (non-blocking mode, PROXY header); carries why, for the
// access log. The relay itself throws nothing.
struct relay_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads in a row on one direction before other connections get a turn.
constexpr int pump_rounds = 16;

boost::system::error_code os_error() { return {errno, boost::asio::error::get_system_category()}; }

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
  // TCP_NODELAY comes from the listening socket (Linux copies it to accepted ones); the
  // client's addresses are asked of the kernel only when something needs them.
}

void session::learn_addresses() {
  if (addresses_known_) return;
  addresses_known_ = true;
  boost::system::error_code ignored; // a client that already left shows as 0.0.0.0:0
  client_address_ = client_.remote_endpoint(ignored);
  frontend_address_ = client_.local_endpoint(ignored);
}

session::~session() {
  close_all();
  worker_.sessions.remove(*this);
  if (worker_.sessions.size() == 0) worker_.pipes.clear();
  bump(shared_.counters.clients_active, static_cast<std::uint64_t>(-1));
}

void session::release_pipes() noexcept {
  for (auto* d : {&to_backend_, &to_client_})
    if (d->pipe) {
      worker_.pipes.give_back(*d->pipe, d->in_pipe == 0); // bytes left: closed, not reused
      d->pipe.reset();
    }
}

void session::close_all() noexcept {
  release_pipes();
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
  if (c.send_proxy != proxy_header::none) {
    learn_addresses();
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
  learn_addresses();
  spdlog::error(
      "closed client {}: no backend reachable: {}{}",
      client_address_.address().to_string() + ":" + std::to_string(client_address_.port()),
      failures.empty() ? std::string("every backend has weight 0") : failures,
      suppressed ? " (" + std::to_string(suppressed) + " similar lines held back)" : std::string());
}

asio::awaitable<void> session::start(boost::intrusive_ptr<session> self) {
  try {
    if (!co_await self->connect_upstream()) {
      self->write_access_log();
      co_return;
    }
  } catch (const std::exception& e) {
    if (self->end_.empty()) self->end_ = std::string("error: ") + e.what();
    self->write_access_log();
    co_return;
  }
  self->start_relay(); // the handlers it starts keep the session alive from here
}

void session::start_relay() {
  last_activity_ = std::chrono::steady_clock::now();
  if (shared_.config.idle_timeout.count() > 0) {
    idle_timer_.emplace(worker_.io);
    arm_idle_timer();
  }
  pump(to_backend_); // the client has usually spoken while the backend was connecting
  if (!finished_) wait_readable(to_client_);
}

void session::wait_readable(direction& d) {
  // A readiness wait needs no buffer: an idle connection holds no relay memory.
  d.from.async_wait(tcp::socket::wait_read,
                    [self = boost::intrusive_ptr(this), &d](const boost::system::error_code& ec) {
                      if (self->finished_) return;
                      if (ec) return self->fail(d, true, "wait", ec);
                      self->pump(d);
                    });
}

// Moves bytes from d.from to d.to until the reader would block, the writer would block
// (then waits for it: backpressure, nothing more is read meanwhile), EOF or an error.
void session::pump(direction& d) {
  if (d.splicing) return pump_splice(d);
  if (!d.held) d.held.emplace(worker_.buffers.take());
  const auto size = d.held->size();
  for (int round = 0; round < pump_rounds; ++round) {
    const auto got = ::recv(d.from.native_handle(), d.held->data(), size, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail(d, true, "read", os_error());
    if (got == 0) return end_of_input(d);
    const auto n = static_cast<std::size_t>(got);
    last_activity_ = std::chrono::steady_clock::now();
    d.offset = 0;
    d.length = n;
    if (!flush(d)) return; // waiting for the writer, or failed
    if (n < size) break;   // drained for now
    if (shared_.config.splice) {
      // A full buffer: a bulk transfer. Move the rest through a pipe, without copies.
      d.held.reset();
      d.splicing = true;
      return pump_splice(d);
    }
  }
  d.held.reset();
  wait_readable(d); // also after pump_rounds full reads: the wait completes at once
}

void session::end_of_input(direction& d) {
  d.held.reset();
  d.done = true;
  if (to_backend_.done && to_client_.done) return finish(); // close() sends the FIN
  // Half-close: pass the FIN on and keep the other direction running.
  boost::system::error_code ignored; // the peer may be gone; the other side sees it
  d.to.shutdown(tcp::socket::shutdown_send, ignored);
}

// The splice(2) path: from -> pipe -> to, the pages never copied to user space. The
// pipe is borrowed while bytes are in flight and given back empty when `from` has no
// more for now, so an idle connection holds none.
void session::pump_splice(direction& d) {
  if (!d.pipe) {
    d.pipe = worker_.pipes.take();
    if (!d.pipe) { // no descriptor for a pipe: copy instead, for good
      d.splicing = false;
      return wait_readable(d);
    }
    // splice() honours the sockets' own blocking mode: make sure neither can block.
    boost::system::error_code ec;
    d.from.non_blocking(true, ec);
    if (!ec) d.to.non_blocking(true, ec);
    if (ec) return fail(d, true, "non-blocking mode", ec);
  }
  for (int round = 0; round < pump_rounds; ++round) {
    if (d.in_pipe > 0 && !drain_pipe(d)) return; // waiting for the writer, or failed
    const auto got = ::splice(d.from.native_handle(), nullptr, d.pipe->write, nullptr,
                              pipe_pool::capacity, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break; // the pipe is empty
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail(d, true, "read", os_error());
    if (got == 0) {
      worker_.pipes.give_back(*d.pipe, true);
      d.pipe.reset();
      return end_of_input(d);
    }
    d.in_pipe = static_cast<std::size_t>(got);
    last_activity_ = std::chrono::steady_clock::now();
  }
  if (d.in_pipe > 0 && !drain_pipe(d)) return;
  worker_.pipes.give_back(*d.pipe, true);
  d.pipe.reset();
  wait_readable(d);
}

// Writes what is in d.pipe; true when it is empty.
bool session::drain_pipe(direction& d) {
  while (d.in_pipe > 0) {
    const auto sent = ::splice(d.pipe->read, nullptr, d.to.native_handle(), nullptr, d.in_pipe,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait_writable(d);
      return false;
    }
    if (sent <= 0) {
      fail(d, false, "write", sent < 0 ? os_error() : asio::error::broken_pipe);
      return false;
    }
    const auto n = static_cast<std::size_t>(sent);
    d.in_pipe -= n;
    count_written(d, n);
    bump(shared_.counters.bytes_spliced, n);
  }
  return true;
}

void session::count_written(const direction& d, std::size_t n) noexcept {
  bump(d.to_backend ? backend_->counters.bytes_to_backend : backend_->counters.bytes_to_client, n);
  (d.to_backend ? bytes_to_backend_ : bytes_to_client_) += n;
}

void session::wait_writable(direction& d) {
  d.to.async_wait(tcp::socket::wait_write,
                  [self = boost::intrusive_ptr(this), &d](const boost::system::error_code& ec) {
                    self->on_writable(d, ec);
                  });
}

// Writes the rest of d.held; true when all of it went out.
bool session::flush(direction& d) {
  while (d.offset < d.length) {
    const auto sent = ::send(d.to.native_handle(), d.held->data() + d.offset, d.length - d.offset,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait_writable(d);
      return false;
    }
    if (sent < 0) {
      fail(d, false, "write", os_error());
      return false;
    }
    const auto n = static_cast<std::size_t>(sent);
    d.offset += n;
    count_written(d, n);
  }
  return true;
}

void session::on_writable(direction& d, const boost::system::error_code& ec) {
  if (finished_) return;
  if (ec) return fail(d, false, "write wait", ec);
  if (d.splicing ? !drain_pipe(d) : !flush(d)) return;
  last_activity_ = std::chrono::steady_clock::now();
  pump(d); // more may be waiting; pump waits for readiness if not
}

void session::arm_idle_timer() {
  idle_timer_->expires_at(last_activity_ + shared_.config.idle_timeout);
  idle_timer_->async_wait([self = boost::intrusive_ptr(this)](const boost::system::error_code& ec) {
    if (ec || self->finished_) return;
    if (std::chrono::steady_clock::now() < self->last_activity_ + self->shared_.config.idle_timeout)
      return self->arm_idle_timer(); // there was traffic since: wait the rest
    bump(self->shared_.counters.idle_timeouts);
    if (self->end_.empty()) self->end_ = "idle timeout";
    self->finish();
  });
}

void session::fail(const direction& d, bool reading, const char* what,
                   const boost::system::error_code& ec) {
  // Reads and read waits are on d.from, writes on d.to.
  const bool client_side = reading == d.to_backend;
  if (end_.empty())
    end_ = std::string("error: ") + (client_side ? "client " : "backend ") + what + ": " +
           ec.message();
  finish();
}

// Ends the relay: logs, then closes both sockets, which completes every pending wait with
// operation_aborted; as their handlers return, the last reference goes and the session
// is destroyed.
void session::finish() {
  if (finished_) return;
  finished_ = true;
  if (end_.empty()) end_ = "closed";
  write_access_log();
  to_backend_.held.reset();
  to_client_.held.reset();
  release_pipes();
  if (idle_timer_) idle_timer_->cancel();
  boost::system::error_code ignored; // closing is all that is left to do
  client_.close(ignored);
  upstream_.close(ignored);
}

void session::write_access_log() {
  if (!shared_.access_log) return;
  learn_addresses();
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

void start_session(worker& w, tcp::socket client) {
  boost::intrusive_ptr<session> s(new session(w, std::move(client)));
  asio::co_spawn(w.io, session::start(std::move(s)), asio::detached);
}

} // namespace portpool::proxy
