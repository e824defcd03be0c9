#pragma once
// Reading portpool-watch's JSON output in the tests.

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace portpool::watch::testing {

/// Parses one JSON document (one line of --format json).
inline boost::json::object parse_report(const std::string& text) {
  return boost::json::parse(text).as_object();
}

/// The group (local ip, peer ip, peer port) of a report, or nullopt.
inline std::optional<boost::json::object> find_group(const boost::json::object& report,
                                                     const std::string& local_ip,
                                                     const std::string& peer_ip,
                                                     std::uint16_t peer_port) {
  for (const auto& g : report.at("groups").as_array()) {
    const auto& o = g.as_object();
    if (o.at("local_ip").as_string() == local_ip && o.at("peer_ip").as_string() == peer_ip &&
        o.at("peer_port").to_number<std::uint16_t>() == peer_port)
      return o;
  }
  return std::nullopt;
}

/// A JSON integer as uint64 (Boost.JSON stores small non-negative numbers as int64).
inline std::uint64_t number(const boost::json::value& v) { return v.to_number<std::uint64_t>(); }

/// A group's count for one state name, 0 when the state is absent.
inline std::uint64_t state_count(const boost::json::object& group, const char* state) {
  const auto& states = group.at("states").as_object();
  const auto it = states.find(state);
  return it == states.end() ? 0 : number(it->value());
}

} // namespace portpool::watch::testing
