#include "run_stats.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <unistd.h>

namespace portpool::load {
namespace json = boost::json;

namespace {

json::object tally_to_json(const error_tally& t) {
  json::object o;
  for (const auto& [name, n] : t)
    o[name] = n;
  return o;
}

error_tally tally_from_json(const json::value& v) {
  error_tally t;
  for (const auto& [name, n] : v.as_object())
    t[std::string(name)] = n.to_number<std::uint64_t>();
  return t;
}

// Every plain counter, so to_json, from_json and merge cannot drift apart.
struct counter_field {
  const char* name;
  std::uint64_t run_stats::*member;
};
constexpr counter_field counters[] = {
    {"attempted", &run_stats::attempted},
    {"ok", &run_stats::ok},
    {"failed", &run_stats::failed},
    {"slot_conflicts", &run_stats::slot_conflicts},
    {"open", &run_stats::open},
    {"established", &run_stats::established},
    {"peak_established", &run_stats::peak_established},
    {"held", &run_stats::held},
    {"dropped", &run_stats::dropped},
    {"echoes", &run_stats::echoes},
    {"echo_mismatch", &run_stats::echo_mismatch},
    {"bytes_sent", &run_stats::bytes_sent},
    {"bytes_received", &run_stats::bytes_received},
    {"rss_kb", &run_stats::rss_kb},
};

} // namespace

std::uint64_t total(const error_tally& tally) noexcept {
  std::uint64_t sum = 0;
  for (const auto& [name, n] : tally)
    sum += n;
  return sum;
}

void run_stats::merge(const run_stats& other) {
  for (const auto& c : counters)
    this->*c.member += other.*c.member;
  for (const auto& [name, n] : other.errors)
    errors[name] += n;
  for (const auto& [name, n] : other.drop_errors)
    drop_errors[name] += n;
  connect_latency.merge(other.connect_latency);
  echo_latency.merge(other.echo_latency);
}

json::object run_stats::to_json() const {
  json::object o;
  for (const auto& c : counters)
    o[c.name] = this->*c.member;
  o["errors"] = tally_to_json(errors);
  o["drop_errors"] = tally_to_json(drop_errors);
  o["connect_latency"] = connect_latency.to_json();
  o["echo_latency"] = echo_latency.to_json();
  return o;
}

run_stats run_stats::from_json(const json::object& o) {
  run_stats s;
  for (const auto& c : counters)
    s.*c.member = o.at(c.name).to_number<std::uint64_t>();
  s.errors = tally_from_json(o.at("errors"));
  s.drop_errors = tally_from_json(o.at("drop_errors"));
  s.connect_latency = latency_histogram::from_json(o.at("connect_latency"));
  s.echo_latency = latency_histogram::from_json(o.at("echo_latency"));
  return s;
}

std::uint64_t current_rss_kb() noexcept {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

} // namespace portpool::load
