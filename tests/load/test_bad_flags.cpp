// Bad command lines: exit status 2 and one line on stderr naming the bad value, before
// any socket is opened.
#include "load_harness.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace portpool::load_testing;

namespace {

struct bad_case {
  std::vector<std::string> args;
  std::string named; ///< what the message must contain
};

} // namespace

TEST_CASE("bad_flags_exit_2") {
  const std::vector<bad_case> cases = {
      {{}, "missing mode"},
      {{"blast"}, "\"blast\""},
      {{"hold", "--target", "127.0.0.1:8080", "--source-mode", "kernel", "--connections", "abc"},
       "\"abc\""},
      {{"hold", "--target", "127.0.0.1:8080", "--source-mode", "kernel", "--rate=-5"}, "\"-5\""},
      {{"hold", "--target", "127.0.0.1:8080", "--source", "127.0.0.2", "--ports", "70000-80000"},
       "70000-80000"},
      {{"hold", "--target", "127.0.0.1:8080", "--source", "127.0.0.9-127.0.0.2"},
       "127.0.0.9-127.0.0.2"},
      {{"hold", "--target", "localhost:http"}, "localhost:http"},
      {{"churn", "--target", "127.0.0.1:8080", "--source-mode", "magic"}, "\"magic\""},
      {{"churn", "--target", "127.0.0.1:8080", "--source-mode", "kernel", "--duration", "5x"},
       "\"5x\""},
      {{"churn", "--target", "127.0.0.1:8080", "--source-mode", "kernel", "--workers", "0"},
       "\"0\""},
      {{"hold", "--target", "127.0.0.1:8080", "--source-mode", "kernel", "--frobnicate", "1"},
       "--frobnicate"},
      {{"serve", "--listen", "127.0.0.1:99999"}, "127.0.0.1:99999"},
      {{"serve", "--listen", "127.0.0.1:8080", "--target", "127.0.0.1:80"}, "--target"},
      // More sockets than one process may open: refused up front, with the way out.
      {{"hold", "--target", "127.0.0.1:8080", "--source-mode", "kernel", "--connections",
        "100000000"},
       "--workers"},
  };
  for (const auto& c : cases) {
    std::string shown;
    for (const auto& a : c.args)
      shown += a + " ";
    CAPTURE(shown);
    scratch_dir dir;
    load_process p(dir, "bad", c.args);
    CHECK(p.wait() == 2);
    const auto err = p.err();
    CAPTURE(err);
    CHECK(err.find(c.named) != std::string::npos);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1); // one line
    CHECK(p.out().empty());
  }
}
