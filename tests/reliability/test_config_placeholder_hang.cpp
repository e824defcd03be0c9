// Found by tests/fuzz/fuzz_proxy_config.cpp (fixed in config.cpp): a config file whose unknown key
// holds a Boost.Program_options placeholder ("x%canonical_option% = 1") makes parse_config hang
// (error_with_option_name::what() replaces the placeholder with text that contains it,
// growing the message forever), so portpool-proxy spins at start instead of printing a
// one-line error. config.cpp now builds that message itself.
#include "config.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <variant>

TEST_CASE("config_placeholder_key_is_an_error_not_a_hang") {
  const std::string path = "reliability_placeholder.ini";
  std::ofstream(path) << "x%canonical_option% = 1\n";
  // In a child, so that the hang can be bounded: exit 0 when a config_error comes back.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const auto outcome = portpool::proxy::parse_config({"--config", path});
    ::_exit(std::holds_alternative<portpool::proxy::config_error>(outcome) ? 0 : 1);
  }
  int status = -1;
  for (int i = 0; i < 50 && ::waitpid(pid, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const bool finished = ::waitpid(pid, &status, WNOHANG) != 0 || WIFEXITED(status);
  if (!finished) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  CHECK(finished);                                        // within 5 s
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0)); // and a config_error
}
