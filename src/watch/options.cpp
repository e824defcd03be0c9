#include "options.hpp"

#include "duration.hpp"

#include "portpool/detail/text.hpp"
#include "portpool/error.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <sstream>

namespace portpool::watch {
namespace {

namespace po = boost::program_options;

constexpr const char* usage_head =
    "portpool-watch: the host-wide ephemeral port alarm.\n"
    "Counts TCP sockets (every state but LISTEN, TIME_WAIT included) per (local ip, peer\n"
    "ip, peer port) whose local port is in the kernel's ephemeral range, against the\n"
    "range minus ip_local_reserved_ports, and warns before a group runs out.\n\n"
    "Usage: portpool-watch [options]\n\n"
    "Example (Nagios/Icinga check; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN):\n"
    "  portpool-watch --format nagios --warn 80 --crit 95\n"
    "Example (node_exporter textfile collector, every minute from cron):\n"
    "  portpool-watch --format prometheus > /var/lib/node_exporter/portpool.prom.$$ &&\n"
    "    mv /var/lib/node_exporter/portpool.prom.$$ /var/lib/node_exporter/portpool.prom\n\n";

struct bad_flag {
  std::string message;
};

[[noreturn]] void bad(const std::string& option, const std::string& value, const std::string& why) {
  throw bad_flag{"bad " + option + " \"" + value + "\": " + why};
}

// "80", "92.5" or "80%".
double parse_percent(const std::string& option, const std::string& text) {
  std::string_view number = text;
  if (!number.empty() && number.back() == '%') number.remove_suffix(1);
  double value = 0;
  const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc{} || ptr != number.data() + number.size())
    bad(option, text, "not a number (a percentage such as 80 or 92.5)");
  if (!(value > 0 && value <= 100)) bad(option, text, "must be above 0 and at most 100");
  return value;
}

po::options_description describe() {
  po::options_description d("Options");
  d.add_options()("help,h", "print this help and exit")(
      "format", po::value<std::string>()->value_name("FMT")->default_value("table"),
      "table | nagios | prometheus | json")(
      "warn", po::value<std::string>()->value_name("PCT")->default_value("80"),
      "WARNING when a group has used this percentage of its capacity")(
      "crit", po::value<std::string>()->value_name("PCT")->default_value("95"),
      "CRITICAL at this percentage")("top",
                                     po::value<std::string>()->value_name("N")->default_value("10"),
                                     "show the N fullest groups (0: all)")(
      "ports", po::value<std::string>()->value_name("SET"),
      "count these local ports instead of the ephemeral range, e.g. 20000-29999,!25000")(
      "interval", po::value<std::string>()->value_name("D"),
      "repeat every D (500ms, 5s, 2m) until interrupted; table redraws, others append")(
      "count", po::value<std::string>()->value_name("N"), "with --interval: stop after N rounds")(
      "source", po::value<std::string>()->value_name("SRC")->default_value("auto"),
      "auto | netlink | proc: where to read the socket table (auto: netlink, else /proc)")(
      "verbose,v", "say on stderr which source was used and how long the scan took");
  return d;
}

// Whether the command line asks for nagios output, looked up by hand so that even a
// command line Program_options rejects still gets the UNKNOWN exit code a check needs.
bool wants_nagios(int argc, const char* const argv[]) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--format=nagios") return true;
    if (arg == "--format" && i + 1 < argc && std::string_view(argv[i + 1]) == "nagios") return true;
  }
  return false;
}

std::uint64_t parse_count(const std::string& option, const std::string& text, bool zero_ok) {
  const auto value = portpool::detail::parse_unsigned(text);
  if (!value) bad(option, text, "not a whole number");
  if (!zero_ok && *value == 0) bad(option, text, "must be at least 1");
  return *value;
}

watch_options to_options(const po::variables_map& vm) {
  watch_options o;
  const auto get = [&](const char* name) { return vm[name].as<std::string>(); };

  const auto format = get("format");
  if (auto f = parse_output_format(format))
    o.format = *f;
  else
    bad("--format", format, "use table, nagios, prometheus or json");

  o.round.thresholds.warn_percent = parse_percent("--warn", get("warn"));
  o.round.thresholds.crit_percent = parse_percent("--crit", get("crit"));
  if (o.round.thresholds.crit_percent < o.round.thresholds.warn_percent)
    bad("--crit", get("crit"), "is below --warn " + get("warn"));
  // The library's hysteresis must stay below warn; 5 points, or half of a tiny warn.
  o.round.thresholds.hysteresis_percent =
      std::min(o.round.thresholds.hysteresis_percent, o.round.thresholds.warn_percent / 2);

  o.top = static_cast<std::size_t>(parse_count("--top", get("top"), true));

  if (vm.count("ports")) {
    std::string why;
    auto set = port_set::try_parse(get("ports"), why);
    if (!set) throw bad_flag{"bad --ports: " + why};
    o.round.ports = std::move(*set);
  }
  const auto source = get("source");
  if (auto s = parse_socket_source(source))
    o.round.source = *s;
  else
    bad("--source", source, "use auto, netlink or proc");

  if (vm.count("interval")) {
    try {
      o.interval = parse_duration(get("interval"));
    } catch (const bad_input& e) {
      throw bad_flag{std::string("bad --interval: ") + e.what()};
    }
  }
  if (vm.count("count")) {
    if (!o.interval) bad("--count", get("count"), "needs --interval");
    o.count = parse_count("--count", get("count"), false);
  }
  o.verbose = vm.count("verbose") > 0;
  return o;
}

} // namespace

command_line parse_command_line(int argc, const char* const argv[]) {
  command_line result;
  const int bad_exit = wants_nagios(argc, argv) ? 3 : 2;
  const auto description = describe();
  try {
    po::variables_map vm;
    // A stray word is an error, not silently ignored; it is collected under a hidden
    // name so the message can quote it.
    po::options_description all;
    all.add(description).add_options()("stray", po::value<std::vector<std::string>>());
    po::positional_options_description stray;
    stray.add("stray", -1);
    po::store(po::command_line_parser(argc, argv).options(all).positional(stray).run(), vm);
    po::notify(vm);
    if (vm.count("stray"))
      throw bad_flag{"unexpected argument \"" + vm["stray"].as<std::vector<std::string>>().front() +
                     "\": every option starts with --"};
    if (vm.count("help")) {
      std::ostringstream text;
      text << usage_head << description;
      result.text = text.str();
      return result;
    }
    result.options = to_options(vm);
  } catch (const bad_flag& e) {
    result.text = "portpool-watch: " + e.message + " (see --help)";
    result.exit_code = bad_exit;
  } catch (const po::error& e) {
    result.text = std::string("portpool-watch: ") + e.what() + " (see --help)";
    result.exit_code = bad_exit;
  }
  return result;
}

} // namespace portpool::watch
