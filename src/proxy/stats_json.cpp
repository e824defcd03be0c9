// /stats: the same figures as JSON.
#include "stats.hpp"

#include <boost/json.hpp>

namespace portpool::proxy {

std::string render_json(const proxy_figures& f) {
  namespace json = boost::json;
  json::array destinations;
  for (const auto& d : f.destinations) {
    json::array sources;
    for (const auto& s : d.sources)
      sources.push_back({{"source", s.source},
                         {"used", s.used},
                         {"capacity", s.capacity},
                         {"high_water", s.high_water},
                         {"conflicts", s.conflicts},
                         {"quarantined", s.quarantined},
                         {"level", to_string(s.level)},
                         {"up", s.up},
                         {"in_rotation", s.in_rotation}});
    json::object failures;
    for (std::size_t i = 0; i < failure_reason_count; ++i)
      failures[to_string(static_cast<failure_reason>(i))] = d.failures[i];
    destinations.push_back({{"destination", d.destination},
                            {"up", d.up},
                            {"weight", d.weight},
                            {"used", d.used},
                            {"capacity", d.capacity},
                            {"level", to_string(d.level)},
                            {"high_water", d.high_water},
                            {"exhausted", d.exhausted},
                            {"conflicts", d.conflicts},
                            {"active", d.active},
                            {"connections", d.connections},
                            {"bytes_to_backend", d.bytes_to_backend},
                            {"bytes_to_client", d.bytes_to_client},
                            {"failures", std::move(failures)},
                            {"sources", std::move(sources)}});
  }
  json::object out{{"mode", f.mode},
                   {"thresholds",
                    {{"warn_percent", f.thresholds.warn_percent},
                     {"crit_percent", f.thresholds.crit_percent},
                     {"hysteresis_percent", f.thresholds.hysteresis_percent}}},
                   {"destinations", std::move(destinations)},
                   {"connections",
                    {{"active", f.clients_active},
                     {"total", f.clients_total},
                     {"failed", f.clients_failed},
                     {"idle_timeouts", f.idle_timeouts},
                     {"bytes_spliced", f.bytes_spliced},
                     {"maxconn", f.maxconn}}},
                   {"accept_errors", f.accept_errors},
                   {"open_fds", f.open_fds},
                   {"draining", f.draining}};
  return json::serialize(out) + "\n";
}

} // namespace portpool::proxy
