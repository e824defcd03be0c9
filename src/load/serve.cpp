#include "serve.hpp"

#include "error_names.hpp"

#include "portpool/connect.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/intrusive/list.hpp>

#include <sys/socket.h>

#include <array>
#include <list>
#include <vector>

namespace portpool::load {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
using auto_unlink_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

struct echo_session : auto_unlink_hook {
  explicit echo_session(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
};

class echo_server {
public:
  echo_server(worker_context& ctx, asio::any_io_executor executor)
      : ctx_(ctx), wake_(executor), executor_(std::move(executor)) {}

  asio::awaitable<void> run() {
    for (const auto& at : ctx_.options.listen)
      acceptors_.push_back(listen_on(at));
    ctx_.tell_parent("ready");
    for (auto& a : acceptors_) {
      ++loops_;
      asio::co_spawn(executor_, accept_loop(a), rethrow);
    }
    co_await ctx_.stop.wait_for(ctx_.options.duration);
    ctx_.stop.fire(); // the duration may have ended the wait: tell everyone
    ctx_.stats.rss_kb = current_rss_kb();
    for (auto& a : acceptors_) {
      boost::system::error_code ignored; // shutting down either way
      a.close(ignored);
    }
    for (auto& s : sessions_) {
      boost::system::error_code ignored;
      s.socket.close(ignored);
    }
    while (loops_ != 0 || !sessions_.empty())
      co_await wake_.wait();
  }

private:
  static void rethrow(std::exception_ptr e) {
    if (e) std::rethrow_exception(e); // out of io.run(): the worker fails
  }

  tcp::acceptor listen_on(const endpoint& at) {
    const auto where = to_asio(at);
    tcp::acceptor a(executor_);
    boost::system::error_code ec;
    a.open(where.protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.set_option(reuse_port(true), ec);
    if (!ec) a.bind(where, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw listen_error("cannot listen on " + at.to_string() + ": " + error_name(ec));
    return a;
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    auto& s = ctx_.stats;
    while (!ctx_.stop.fired()) {
      auto [ec, socket] = co_await acceptor.async_accept(token);
      if (ctx_.stop.fired()) break;
      ++s.attempted;
      if (ec) {
        ++s.failed;
        ++s.errors[error_name(ec)];
        // Out of descriptors or memory: back off instead of spinning on the same error.
        co_await ctx_.stop.wait_for(std::chrono::milliseconds(50));
        continue;
      }
      ++s.ok;
      asio::co_spawn(executor_, echo(std::move(socket)), rethrow);
    }
    --loops_;
    wake_.notify();
  }

  asio::awaitable<void> echo(tcp::socket socket) {
    auto& s = ctx_.stats;
    ++s.open;
    s.connected();
    echo_session session(std::move(socket));
    sessions_.push_back(session);
    boost::system::error_code ec;
    session.socket.non_blocking(true, ec);
    // Wait for readability first and read into the worker's one scratch buffer, so an
    // idle session holds no buffer at all; only bytes the peer cannot take yet are copied.
    while (!ec && !ctx_.stop.fired()) {
      std::tie(ec) = co_await session.socket.async_wait(tcp::socket::wait_read, token);
      if (ec) break;
      const std::size_t n = session.socket.read_some(asio::buffer(scratch_), ec);
      if (ec == asio::error::would_block) {
        ec = {};
        continue;
      }
      if (ec) break;
      s.bytes_received += n;
      std::size_t sent = session.socket.write_some(asio::buffer(scratch_.data(), n), ec);
      if (ec == asio::error::would_block) {
        ec = {};
        sent = 0;
      }
      if (ec) break;
      if (sent < n) {
        std::vector<char> rest(scratch_.begin() + static_cast<std::ptrdiff_t>(sent),
                               scratch_.begin() + static_cast<std::ptrdiff_t>(n));
        std::size_t more = 0;
        std::tie(ec, more) = co_await asio::async_write(session.socket, asio::buffer(rest), token);
        sent += more;
      }
      s.bytes_sent += sent;
    }
    if (ec && ec != asio::error::eof && !ctx_.stop.fired()) {
      ++s.dropped;
      ++s.drop_errors[error_name(ec)];
    }
    --s.established;
    --s.open;
    session.unlink();
    wake_.notify();
  }

  worker_context& ctx_;
  std::list<tcp::acceptor> acceptors_; // stable addresses for the accept loops
  boost::intrusive::list<echo_session, boost::intrusive::constant_time_size<false>> sessions_;
  std::array<char, 65536> scratch_{};
  std::uint64_t loops_ = 0;
  wakeup wake_; // run() waits for the last accept loop and session
  asio::any_io_executor executor_;
};

} // namespace

asio::awaitable<void> run_serve(worker_context& ctx) {
  echo_server server(ctx, co_await asio::this_coro::executor);
  co_await server.run();
}

} // namespace portpool::load
