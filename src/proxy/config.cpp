#include "config.hpp"

#include "portpool/error.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <fstream>
#include <sstream>

namespace portpool::proxy {
namespace po = boost::program_options;

namespace {

constexpr std::string_view example =
    "Example:\n"
    "  portpool-proxy --listen 127.0.0.1:8000 --backend 127.0.0.1:8080 \\\n"
    "      --backend 127.0.0.1:8081,weight=2 --source 127.0.0.2-127.0.0.9 \\\n"
    "      --ports 20000-29999 --threads 2 --admin 127.0.0.1:9900\n"
    "The same keys work in an INI file (--config proxy.ini), one per line:\n"
    "  listen = 127.0.0.1:8000\n"
    "  backend = 127.0.0.1:8080\n"
    "  backend = 127.0.0.1:8081,weight=2\n"
    "  source = 127.0.0.2-127.0.0.9\n"
    "Options on the command line win over the file. Durations: 500ms, 5s, 2m, 1h.\n";

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

[[noreturn]] void bad(std::string_view option, std::string_view value, std::string_view why) {
  throw bad_input("bad --" + std::string(option) + " " + quoted(value) + ": " + std::string(why));
}

std::uint64_t parse_whole(std::string_view option, std::string_view text, std::uint64_t low,
                          std::uint64_t high) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  const auto range =
      "expected a whole number from " + std::to_string(low) + " to " + std::to_string(high);
  if (text.empty() || ec != std::errc{} || ptr != end || value < low || value > high)
    bad(option, text, range);
  return value;
}

double parse_percent(std::string_view option, std::string_view text) {
  auto digits = text;
  if (!digits.empty() && digits.back() == '%') digits.remove_suffix(1);
  return static_cast<double>(parse_whole(option, digits, 0, 100));
}

// Rethrows a library parser's bad_input with the option's name in front.
template <class Parse> auto with_option(std::string_view option, Parse parse) {
  try {
    return parse();
  } catch (const bad_input& e) {
    throw bad_input("bad --" + std::string(option) + ": " + e.what());
  }
}

po::options_description describe_options() {
  po::options_description d("portpool-proxy: a TCP proxy that does not run out of source "
                            "ports.\nOptions");
  // Every value is read as text and converted below, so each error names its option.
  auto text = [] { return po::value<std::string>(); };
  auto many = [] { return po::value<std::vector<std::string>>(); };
  d.add_options()("help,h", "show this help and exit")(
      "config", text(), "read the same keys from an INI file, e.g. proxy.ini")(
      "listen", many(), "ADDR:PORT to accept clients on (repeatable), e.g. 127.0.0.1:8000")(
      "backend", many(),
      "HOST:PORT[,weight=N] to forward to (repeatable), e.g. 127.0.0.1:8080,weight=2")(
      "source", text(), "source address pool, e.g. 127.0.0.2-127.0.0.9 or 10.0.0.0/29")(
      "ports", text()->default_value("20000-29999"),
      "source ports on every source address, e.g. 20000-29999,!25000")(
      "source-mode", text()->default_value("pool"),
      "pool (bind each upstream to a pooled slot) or kernel (plain connect)")(
      "threads", text()->default_value("1"), "worker threads, one io_context each, e.g. 4")(
      "balance", text()->default_value("roundrobin"),
      "roundrobin or leastconn")("maxconn", text()->default_value("0"),
                                 "most clients at once; 0 = as many as the open-file limit allows")(
      "connect-timeout", text()->default_value("5s"), "deadline of each upstream connect")(
      "idle-timeout", text()->default_value("5m"),
      "close a connection with no bytes either way for this long; 0 = never")(
      "retries", text()->default_value("3"),
      "further backends tried after a failed connect, e.g. 3")(
      "health-interval", text()->default_value("2s"), "TCP health check period; 0 = off")(
      "admin", text()->default_value("127.0.0.1:9900"),
      "ADDR:PORT of / (dashboard), /metrics, /stats, /healthz; off to disable")(
      "warn", text()->default_value("80"), "usage warning threshold in percent, e.g. 80")(
      "crit", text()->default_value("95"), "usage critical threshold in percent, e.g. 95")(
      "log-level", text()->default_value("info"),
      "trace, debug, info, warning, error, critical or off")(
      "access-log", text(), "one line per closed connection to FILE, or - for stdout")(
      "send-proxy", text(), "send a PROXY protocol header to backends: v1 or v2")(
      "drain-timeout", text()->default_value("30s"),
      "on SIGTERM/SIGINT, let connections finish this long, e.g. 30s")(
      "partition", text()->default_value("0/1"),
      "K/N: use slice K of N of the ports, so N proxies can share sources, e.g. 1/4")(
      "buffer-size", text()->default_value("16384"),
      "bytes buffered per direction while data moves, e.g. 16384")(
      "splice", text()->default_value("auto"),
      "auto: once a read fills the buffer, move that direction's bytes with splice(2) "
      "through a pipe (no copy to user space); off: always copy");
  return d;
}

const std::string& get(const po::variables_map& vm, const char* key) {
  return vm[key].as<std::string>();
}

proxy_config convert(const po::variables_map& vm) {
  proxy_config c;
  if (!vm.count("listen")) throw bad_input("missing --listen ADDR:PORT, e.g. 127.0.0.1:8000");
  for (const auto& l : vm["listen"].as<std::vector<std::string>>())
    c.listen.push_back(with_option("listen", [&] { return endpoint::parse(l); }));
  if (!vm.count("backend")) throw bad_input("missing --backend HOST:PORT, e.g. 127.0.0.1:8080");
  for (const auto& b : vm["backend"].as<std::vector<std::string>>())
    c.backends.push_back(with_option("backend", [&] { return parse_backend(b); }));

  const auto& mode = get(vm, "source-mode");
  const auto parsed_mode = parse_source_mode(mode);
  if (!parsed_mode) bad("source-mode", mode, "expected pool or kernel");
  c.mode = *parsed_mode;
  if (vm.count("source")) {
    c.sources = with_option("source", [&] { return address_pool::parse(get(vm, "source")); });
  } else if (c.mode == source_mode::pool) {
    throw bad_input("missing --source: pool mode needs source addresses, e.g. --source "
                    "127.0.0.2-127.0.0.9 (or use --source-mode kernel)");
  }
  c.ports = with_option("ports", [&] { return port_set::parse(get(vm, "ports")); });
  c.slice = with_option("partition", [&] { return partition::parse(get(vm, "partition")); });

  c.threads = static_cast<unsigned>(parse_whole("threads", get(vm, "threads"), 1, 256));
  const auto& balance = get(vm, "balance");
  if (balance == "roundrobin")
    c.balance = balance_mode::roundrobin;
  else if (balance == "leastconn")
    c.balance = balance_mode::leastconn;
  else
    bad("balance", balance, "expected roundrobin or leastconn");
  c.maxconn = parse_whole("maxconn", get(vm, "maxconn"), 0, 10'000'000);
  c.connect_timeout = parse_duration("connect-timeout", get(vm, "connect-timeout"));
  if (c.connect_timeout.count() == 0)
    bad("connect-timeout", get(vm, "connect-timeout"), "must be above 0");
  c.idle_timeout = parse_duration("idle-timeout", get(vm, "idle-timeout"));
  c.retries = static_cast<unsigned>(parse_whole("retries", get(vm, "retries"), 0, 100));
  c.health_interval = parse_duration("health-interval", get(vm, "health-interval"));
  if (const auto& admin = get(vm, "admin"); admin != "off")
    c.admin = with_option("admin", [&] { return endpoint::parse(admin); });

  c.thresholds.warn_percent = parse_percent("warn", get(vm, "warn"));
  c.thresholds.crit_percent = parse_percent("crit", get(vm, "crit"));
  if (c.thresholds.warn_percent > c.thresholds.crit_percent)
    throw bad_input("bad --warn " + quoted(get(vm, "warn")) + ": above --crit " +
                    quoted(get(vm, "crit")));
  with_option("warn", [&] {
    validate(c.thresholds);
    return 0;
  });

  c.log_level = get(vm, "log-level");
  if (c.log_level == "warn") c.log_level = "warning";
  static constexpr std::string_view levels[] = {"trace", "debug",    "info", "warning",
                                                "error", "critical", "off"};
  if (std::find(std::begin(levels), std::end(levels), c.log_level) == std::end(levels))
    bad("log-level", c.log_level, "expected trace, debug, info, warning, error, critical or off");
  if (vm.count("access-log")) {
    c.access_log = get(vm, "access-log");
    if (c.access_log.empty()) bad("access-log", c.access_log, "expected a file path or -");
  }
  if (vm.count("send-proxy")) {
    const auto& v = get(vm, "send-proxy");
    if (v == "v1")
      c.send_proxy = proxy_header::v1;
    else if (v == "v2")
      c.send_proxy = proxy_header::v2;
    else
      bad("send-proxy", v, "expected v1 or v2");
  }
  c.drain_timeout = parse_duration("drain-timeout", get(vm, "drain-timeout"));
  c.buffer_size = parse_whole("buffer-size", get(vm, "buffer-size"), 512, 1 << 20);
  if (const auto& v = get(vm, "splice"); v == "auto" || v == "off")
    c.splice = v == "auto";
  else
    bad("splice", v, "expected auto or off");
  return c;
}

} // namespace

std::string_view to_string(balance_mode mode) noexcept {
  return mode == balance_mode::roundrobin ? "roundrobin" : "leastconn";
}

std::string_view to_string(proxy_header header) noexcept {
  switch (header) {
  case proxy_header::v1: return "v1";
  case proxy_header::v2: return "v2";
  case proxy_header::none: break;
  }
  return "none";
}

std::chrono::milliseconds parse_duration(std::string_view option, std::string_view text) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  constexpr auto expected = "expected a whole number and a unit: 500ms, 5s, 2m or 1h";
  if (text.empty() || ec != std::errc{} || ptr == text.data()) bad(option, text, expected);
  const std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  std::uint64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit.empty() && value == 0)
    scale = 1; // "0" needs no unit
  else
    bad(option, text, expected);
  constexpr std::uint64_t week_ms = 7ull * 24 * 3'600'000;
  if (value > week_ms / scale) bad(option, text, "longer than a week");
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * scale));
}

backend_spec parse_backend(std::string_view text) {
  backend_spec b;
  const auto comma = text.find(',');
  b.address = endpoint::parse(text.substr(0, comma));
  if (b.address.port == 0) throw bad_input("bad backend " + quoted(text) + ": port 0");
  if (comma != std::string_view::npos) {
    const auto extra = text.substr(comma + 1);
    constexpr std::string_view key = "weight=";
    if (!extra.starts_with(key))
      throw bad_input("bad backend " + quoted(text) + ": expected HOST:PORT[,weight=N]");
    const auto digits = extra.substr(key.size());
    unsigned weight = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), weight);
    if (digits.empty() || ec != std::errc{} || ptr != digits.data() + digits.size() || weight > 256)
      throw bad_input("bad backend " + quoted(text) + ": weight must be 0 to 256");
    b.weight = weight;
  }
  return b;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// Program_options' what() substitutes placeholders such as %canonical_option% in its
// message template, and loops forever when the offending key itself contains one (found
// by fuzzing: "x%canonical_option% = 1"). Such keys get a message built here instead.
static std::string option_error_text(const po::error_with_option_name& e) {
  const auto name = e.get_option_name();
  if (name.find('%') == std::string::npos) return e.what();
  return "unrecognised option \"" + name + "\"";
}

config_outcome parse_config(const std::vector<std::string>& args) {
  const auto description = describe_options();
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(description).run(), vm);
    if (vm.count("help")) {
      std::ostringstream out;
      out << description << '\n' << example;
      return help_request{out.str()};
    }
    if (vm.count("config")) {
      const auto& path = vm["config"].as<std::string>();
      std::ifstream file(path);
      if (!file) return config_error{"cannot read --config " + quoted(path)};
      try {
        po::store(po::parse_config_file(file, description), vm);
      } catch (const po::error_with_option_name& e) {
        return config_error{"bad --config " + quoted(path) + ": " + option_error_text(e)};
      } catch (const po::error& e) {
        return config_error{"bad --config " + quoted(path) + ": " + e.what()};
      }
    }
    po::notify(vm);
    return convert(vm);
  } catch (const po::error_with_option_name& e) {
    return config_error{option_error_text(e)};
  } catch (const po::error& e) {
    return config_error{e.what()};
  } catch (const bad_input& e) {
    return config_error{e.what()};
  }
}

} // namespace portpool::proxy
