// portpool-load: a load generator that goes past one source address's ports (hold, churn)
// and the echo backend to aim it at (serve). See docs/load.md.
#include "descriptor_budget.hpp"
#include "options.hpp"
#include "report.hpp"
#include "supervisor.hpp"

#include "portpool/port_range.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <fstream>
#include <iostream>

using namespace portpool;
using namespace portpool::load;

namespace {

// Pool ports inside the ephemeral range shrink the kernel's range for everyone else.
void warn_about_ephemeral_overlap(const load_options& o) {
  if (o.mode == run_mode::serve || o.sources_mode != source_mode::pool) return;
  try {
    const auto overlap = ephemeral_overlap(o.ports, read_ephemeral_range(), read_reserved_ports());
    if (!overlap.empty())
      std::cerr << "portpool-load: warning: --ports " << overlap.to_string()
                << " lie in the kernel's ephemeral range; other programs' connect() will "
                   "find fewer ports\n";
  } catch (const std::exception& e) {
    std::cerr << "portpool-load: warning: " << e.what() << '\n';
  }
}

} // namespace

int main(int argc, char** argv) {
  std::optional<load_options> options;
  try {
    options = parse_options(argc, argv);
    if (!options) return 0; // --help
    check_descriptor_plan(*options, raise_open_file_limit());
  } catch (const usage_error& e) {
    std::cerr << "portpool-load: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "portpool-load: " << e.what() << '\n';
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN); // a closed peer or parent is an error code, not a death
  warn_about_ephemeral_overlap(*options);

  try {
    const auto report = supervise(*options, std::cout);
    std::cout << summary(report) << std::flush;
    if (!options->json_file.empty()) {
      std::ofstream file(options->json_file);
      file << boost::json::serialize(report_json(report)) << '\n';
      if (!file.flush())
        throw std::runtime_error("cannot write --json file \"" + options->json_file + "\"");
    }
    return report.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "portpool-load: " << e.what() << '\n';
    return 1;
  }
}
