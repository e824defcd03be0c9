#include "admin.hpp"

#include "dashboard.hpp"
#include "stats.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <spdlog/spdlog.h>

namespace portpool::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr auto token = asio::as_tuple(asio::use_awaitable);
constexpr auto io_timeout = std::chrono::seconds(10);

http::response<http::string_body> answer(const shared_state& shared,
                                         const http::request<http::string_body>& req) {
  auto reply = [&](http::status status, std::string_view type, std::string body) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::server, "portpool-proxy");
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();
    return res;
  };
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = reply(http::status::method_not_allowed, "text/plain", "only GET and HEAD\n");
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  auto target = std::string_view(req.target());
  target = target.substr(0, target.find('?'));
  if (target == "/") {
    auto res = reply(http::status::ok, "text/html; charset=utf-8",
                     render_dashboard(shared.config.thresholds));
    res.set("Content-Security-Policy", dashboard_content_security_policy);
    return res;
  }
  if (target == "/metrics")
    return reply(http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                 render_prometheus(collect_figures(shared)));
  if (target == "/stats")
    return reply(http::status::ok, "application/json", render_json(collect_figures(shared)));
  if (target == "/healthz") {
    if (shared.draining.load(std::memory_order_relaxed))
      return reply(http::status::service_unavailable, "text/plain", "draining\n");
    for (const auto& b : shared.backends.backends())
      if (b->up.load(std::memory_order_relaxed) && b->spec.weight > 0)
        return reply(http::status::ok, "text/plain", "ok\n");
    return reply(http::status::service_unavailable, "text/plain", "no backend is up\n");
  }
  return reply(http::status::not_found, "text/plain", "try /, /metrics, /stats or /healthz\n");
}

asio::awaitable<void> serve(tcp::socket socket, const shared_state& shared) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer(8192);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(8192);
    parser.body_limit(1024);
    stream.expires_after(io_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, token);
    if (ec) break; // closed, timed out, or too large: nothing worth answering
    const auto req = parser.release();
    auto res = answer(shared, req);
    const bool keep_alive = res.keep_alive();
    stream.expires_after(io_timeout);
    auto [wec, written] = co_await http::async_write(stream, res, token);
    if (wec || !keep_alive) break;
  }
  beast::error_code ignored; // the client may already be gone
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const shared_state& shared) {
  while (acceptor.is_open()) {
    auto [ec, socket] = co_await acceptor.async_accept(token);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // EMFILE and the like: pause rather than spin, the data path needs the CPU.
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(token);
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), shared), asio::detached);
  }
}

} // namespace

admin_server::admin_server(asio::io_context& io, const shared_state& shared, const endpoint& at)
    : acceptor_(io), shared_(shared) {
  boost::system::error_code ec;
  const auto address = to_asio(at);
  acceptor_.open(address.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(address, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot serve --admin on " + at.to_string() + ": " + ec.message());
  asio::co_spawn(io, accept_loop(acceptor_, shared_), asio::detached);
}

void admin_server::stop() {
  boost::system::error_code ignored; // closing twice is harmless
  acceptor_.close(ignored);
}

} // namespace portpool::proxy
