// portpool-proxy: a TCP proxy and load balancer whose upstream connections come from a
// pool of source addresses and ports, so it does not run out of ephemeral ports.
#include "config.hpp"
#include "server.hpp"

#include "portpool/error.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>

int main(int argc, char** argv) {
  using namespace portpool::proxy;
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto outcome = parse_config(args);
  if (auto* help = std::get_if<help_request>(&outcome)) {
    std::cout << help->text;
    return 0;
  }
  if (auto* error = std::get_if<config_error>(&outcome)) {
    std::cerr << "portpool-proxy: " << error->message << " (see --help)\n";
    return 2;
  }
  auto& config = std::get<proxy_config>(outcome);
  std::signal(SIGPIPE, SIG_IGN); // a peer that left is an error code, not a signal
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  try {
    return run_proxy(std::move(config));
  } catch (const portpool::bad_input& e) {
    std::cerr << "portpool-proxy: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "portpool-proxy: " << e.what() << '\n';
    return 1;
  }
}
