#include "format_helpers.hpp"
#include "output_format.hpp"

#include <boost/json.hpp>

namespace portpool::watch {
namespace {

boost::json::array ports_array(const std::vector<std::uint16_t>& ports) {
  boost::json::array out;
  out.reserve(ports.size());
  for (auto p : ports)
    out.emplace_back(p);
  return out;
}

} // namespace

void write_json(std::ostream& out, const watch_round& round, std::size_t top) {
  namespace json = boost::json;
  const auto& report = round.report;

  json::object range{{"low", round.range.low},
                     {"high", round.range.high},
                     {"capacity", round.capacity},
                     {"reserved", round.reserved_watched}};
  if (round.custom_ports) range["ports"] = round.watched.to_string();

  json::array groups;
  const auto shown = detail::shown_groups(round, top);
  groups.reserve(shown);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& g = report.groups[i];
    json::object states;
    for (std::size_t s = 0; s < g.states.size(); ++s)
      if (g.states[s] != 0) states[to_string(static_cast<tcp_state>(s))] = g.states[s];
    groups.push_back(json::object{{"local_ip", g.key.local_ip.to_string()},
                                  {"peer_ip", g.key.peer_ip.to_string()},
                                  {"peer_port", g.key.peer_port},
                                  {"used", g.used},
                                  {"capacity", g.capacity},
                                  {"percent", g.percent()},
                                  {"level", to_string(g.level)},
                                  {"states", std::move(states)}});
  }

  json::array warnings;
  for (const auto& w : detail::warnings(round))
    warnings.push_back(json::object{{"level", to_string(w.level)}, {"message", w.text}});

  json::array binds;
  for (const auto& b : report.binds)
    binds.push_back(json::object{{"local_ip", b.local_ip.to_string()},
                                 {"listening", ports_array(b.listening)}});

  const json::object document{
      {"range", std::move(range)},
      {"level", to_string(report.worst)},
      {"thresholds",
       {{"warn", round.thresholds.warn_percent}, {"crit", round.thresholds.crit_percent}}},
      {"source", to_string(round.source_used)},
      {"sockets_read", report.sockets_seen},
      {"sockets_counted", report.sockets_counted},
      {"groups_total", report.groups.size()},
      {"groups", std::move(groups)},
      {"warnings", std::move(warnings)},
      {"binds", std::move(binds)}};
  out << json::serialize(document) << "\n";
}

} // namespace portpool::watch
