#include "options.hpp"

#include "portpool/error.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <cmath>
#include <iostream>
#include <limits>

namespace portpool::load {
namespace po = boost::program_options;

namespace {

constexpr const char* usage_text = R"(usage: portpool-load hold|churn|serve [options]

  hold   open --connections N to the target(s) at --rate R conn/s, keep them open for
         --duration D after the ramp, optionally echo --payload bytes every --ping-interval
  churn  for --duration D: connect, send --payload, read the echo, close; --concurrency C
         cycles in flight, paced at --rate R when given
  serve  echo backend on every --listen ADDR:PORT, --workers N processes per port
         (SO_REUSEPORT), for --duration D (default 60s) or until SIGINT/SIGTERM

examples:
  portpool-load serve --listen 127.0.0.1:8080 --workers 4 --duration 5m
  portpool-load hold --target 127.0.0.1:8080 --source 127.0.0.2-127.0.0.9 \
      --ports 20000-39999 --connections 100000 --rate 20000 --workers 8 --duration 30s
  portpool-load churn --target 127.0.0.1:8080 --source-mode kernel --duration 10s --json out.json

exit status: 0 every connection succeeded, 1 some failed, 2 bad usage
)";

[[noreturn]] void bad(const std::string& flag, const std::string& value, const std::string& why) {
  throw usage_error("bad " + flag + " \"" + value + "\": " + why);
}

std::uint64_t parse_count(const std::string& flag, const std::string& text, std::uint64_t low,
                          std::uint64_t high) {
  std::uint64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && p == end && v > high))
    bad(flag, text, "above " + std::to_string(high));
  if (ec != std::errc() || p != end || text.empty()) bad(flag, text, "not a whole number");
  if (v < low) bad(flag, text, "below " + std::to_string(low));
  return v;
}

double parse_number(const std::string& flag, const std::string& text) {
  double v = 0;
  const auto* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty() || !std::isfinite(v))
    bad(flag, text, "not a number");
  return v;
}

endpoint parse_endpoint(const std::string& flag, const std::string& text) {
  try {
    auto e = endpoint::parse(text);
    if (e.port == 0) bad(flag, text, "port 0");
    return e;
  } catch (const bad_input& e) {
    throw usage_error("bad " + flag + ": " + e.what());
  }
}

// The default source ports: every unprivileged port the kernel's own connect() cannot
// pick (outside the ephemeral range and not reserved), so the pool never steals from it.
port_set default_ports() {
  auto ports = port_set::range(1024, 65535) - read_ephemeral_range().ports();
  return ports - (read_reserved_ports() & ports);
}

} // namespace

std::string_view to_string(run_mode mode) noexcept {
  switch (mode) {
  case run_mode::hold: return "hold";
  case run_mode::churn: return "churn";
  case run_mode::serve: return "serve";
  }
  return "?";
}

std::chrono::milliseconds parse_duration(const std::string& flag, const std::string& text) {
  std::size_t unit_at = text.find_first_not_of("0123456789.");
  const std::string number = text.substr(0, unit_at);
  const std::string unit = unit_at == std::string::npos ? "s" : text.substr(unit_at);
  double scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1e3;
  else if (unit == "m")
    scale = 60e3;
  else if (unit == "h")
    scale = 3600e3;
  else
    bad(flag, text, "unit must be ms, s, m or h");
  double value = 0;
  const auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || p != number.data() + number.size())
    bad(flag, text, "not a duration (e.g. 500ms, 10s, 2m)");
  const double ms = value * scale;
  if (ms > 7 * 24 * 3600e3) bad(flag, text, "longer than a week");
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

std::uint64_t share_of(std::uint64_t total, unsigned index, unsigned count) noexcept {
  return total / count + (index < total % count ? 1 : 0);
}

std::optional<load_options> parse_options(int argc, const char* const* argv) {
  if (argc < 2) throw usage_error("missing mode: hold, churn or serve (--help for usage)");
  const std::string mode_text = argv[1];
  if (mode_text == "--help" || mode_text == "-h" || mode_text == "help") {
    std::cout << usage_text;
    return std::nullopt;
  }
  load_options o;
  if (mode_text == "hold")
    o.mode = run_mode::hold;
  else if (mode_text == "churn")
    o.mode = run_mode::churn;
  else if (mode_text == "serve")
    o.mode = run_mode::serve;
  else
    bad("mode", mode_text, "must be hold, churn or serve");

  // Every value is taken as text and parsed here, so each error names the value.
  po::options_description desc;
  desc.add_options()("help,h", "")("target", po::value<std::vector<std::string>>(), "")(
      "source", po::value<std::string>(), "")("ports", po::value<std::string>(), "")(
      "source-mode", po::value<std::string>(), "")("partition", po::value<std::string>(), "")(
      "connections", po::value<std::string>(), "")("rate", po::value<std::string>(),
                                                   "")("concurrency", po::value<std::string>(), "")(
      "payload", po::value<std::string>(), "")("ping-interval", po::value<std::string>(),
                                               "")("connect-timeout", po::value<std::string>(), "")(
      "echo-timeout", po::value<std::string>(), "")("duration", po::value<std::string>(), "")(
      "progress", po::value<std::string>(), "")("workers", po::value<std::string>(), "")(
      "json", po::value<std::string>(), "")("listen", po::value<std::vector<std::string>>(), "")(
      "unexpected", po::value<std::vector<std::string>>(), "");
  po::positional_options_description stray; // collected only to be named in the error
  stray.add("unexpected", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc - 1, argv + 1).options(desc).positional(stray).run(),
              vm);
  } catch (const po::error& e) {
    throw usage_error(e.what());
  }
  if (vm.count("help")) {
    std::cout << usage_text;
    return std::nullopt;
  }
  const auto text = [&](const char* name) { return vm[name].as<std::string>(); };
  const auto has = [&](const char* name) { return vm.count(name) > 0; };
  if (has("unexpected"))
    throw usage_error("unexpected argument \"" +
                      vm["unexpected"].as<std::vector<std::string>>().front() +
                      "\" (options start with --)");
  const bool client = o.mode != run_mode::serve;
  const auto only_for = [&](const char* name, bool allowed, const char* modes) {
    if (has(name) && !allowed)
      throw usage_error(std::string("--") + name + " is for " + modes + ", not " +
                        std::string(to_string(o.mode)));
  };
  only_for("target", client, "hold and churn");
  only_for("source", client, "hold and churn");
  only_for("ports", client, "hold and churn");
  only_for("source-mode", client, "hold and churn");
  only_for("partition", client, "hold and churn");
  only_for("rate", client, "hold and churn");
  only_for("concurrency", client, "hold and churn");
  only_for("payload", client, "hold and churn");
  only_for("connect-timeout", client, "hold and churn");
  only_for("echo-timeout", client, "hold and churn");
  only_for("connections", o.mode == run_mode::hold, "hold");
  only_for("ping-interval", o.mode == run_mode::hold, "hold");
  only_for("listen", o.mode == run_mode::serve, "serve");

  if (o.mode == run_mode::serve) o.duration = std::chrono::seconds(60);
  if (has("duration")) o.duration = parse_duration("--duration", text("duration"));
  if (o.duration.count() <= 0) bad("--duration", text("duration"), "must be above 0");
  if (has("progress")) o.progress = parse_duration("--progress", text("progress"));
  if (has("workers"))
    o.workers = static_cast<unsigned>(parse_count("--workers", text("workers"), 1, 1024));
  if (has("json")) {
    o.json_file = text("json");
    if (o.json_file.empty()) bad("--json", o.json_file, "empty file name");
  }

  if (o.mode == run_mode::serve) {
    if (!has("listen")) throw usage_error("serve needs at least one --listen ADDR:PORT");
    for (const auto& t : vm["listen"].as<std::vector<std::string>>())
      o.listen.push_back(parse_endpoint("--listen", t));
    return o;
  }

  if (!has("target"))
    throw usage_error(std::string(to_string(o.mode)) + " needs at least one --target HOST:PORT");
  for (const auto& t : vm["target"].as<std::vector<std::string>>())
    o.targets.push_back(parse_endpoint("--target", t));
  if (has("source-mode")) {
    const auto m = parse_source_mode(text("source-mode"));
    if (!m) bad("--source-mode", text("source-mode"), "must be pool or kernel");
    o.sources_mode = *m;
  }
  if (o.sources_mode == source_mode::kernel) {
    only_for("source", false, "--source-mode pool");
    only_for("ports", false, "--source-mode pool");
    only_for("partition", false, "--source-mode pool");
  } else {
    if (!has("source"))
      throw usage_error("pool mode needs --source (e.g. 127.0.0.2-127.0.0.9), or use "
                        "--source-mode kernel");
    try {
      o.sources = address_pool::parse(text("source"));
      o.ports = has("ports") ? port_set::parse(text("ports")) : default_ports();
      if (has("partition")) o.slice = partition::parse(text("partition"));
    } catch (const bad_input& e) {
      throw usage_error(e.what());
    }
    const std::uint64_t parts = std::uint64_t{o.slice.count} * o.workers;
    if (o.ports.size() < parts)
      throw usage_error("bad --ports \"" + o.ports.to_string() +
                        "\": " + std::to_string(o.ports.size()) + " ports cannot be split into " +
                        std::to_string(parts) + " partitions (--partition x --workers)");
  }
  if (has("connections"))
    o.connections = parse_count("--connections", text("connections"), 1, 100'000'000);
  if (has("rate")) {
    o.rate = parse_number("--rate", text("rate"));
    if (o.rate < 0) bad("--rate", text("rate"), "negative");
  }
  if (has("concurrency"))
    o.concurrency = parse_count("--concurrency", text("concurrency"), 1, 1'000'000);
  if (has("payload"))
    o.payload = static_cast<std::size_t>(parse_count("--payload", text("payload"), 0, 1 << 20));
  if (has("ping-interval")) {
    o.ping_interval = parse_duration("--ping-interval", text("ping-interval"));
    if (o.ping_interval.count() > 0 && o.payload == 0)
      bad("--payload", "0", "--ping-interval needs a payload of at least 1 byte");
  }
  if (has("connect-timeout")) {
    o.connect_timeout = parse_duration("--connect-timeout", text("connect-timeout"));
    if (o.connect_timeout.count() <= 0)
      bad("--connect-timeout", text("connect-timeout"), "must be above 0");
  }
  if (has("echo-timeout")) {
    o.echo_timeout = parse_duration("--echo-timeout", text("echo-timeout"));
    if (o.echo_timeout.count() <= 0) bad("--echo-timeout", text("echo-timeout"), "must be above 0");
  }
  return o;
}

} // namespace portpool::load
