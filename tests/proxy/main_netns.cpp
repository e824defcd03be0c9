// doctest main for the proxy's namespace tests: a private network namespace whose
// ephemeral range is narrowed to 300 ports (40000-40299), as in the incident write-up.
// When the namespace cannot be made the run fails: never a silent skip.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "netns.hpp"

#include <iostream>

int main(int argc, char** argv) {
  try {
    portpool::tools::enter_private_netns_with_range(40000, 40299);
  } catch (const std::exception& e) {
    std::cerr << "proxy tests need a private network namespace: " << e.what() << '\n';
    return 1;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
