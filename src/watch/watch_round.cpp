#include "watch_round.hpp"

namespace portpool::watch {

watch_round take_round(const round_settings& settings, level_memory* memory) {
  watch_round round;
  round.range = read_ephemeral_range();
  const auto reserved = read_reserved_ports();
  round.custom_ports = settings.ports.has_value();
  round.watched = settings.ports ? *settings.ports : round.range.ports();
  round.reserved_watched = (round.watched & reserved).size();
  round.capacity = round.watched.size() - round.reserved_watched;
  round.thresholds = settings.thresholds;

  const auto start = std::chrono::steady_clock::now();
  socket_grouper grouper(
      {.watched = round.watched, .capacity = round.capacity, .thresholds = settings.thresholds});
  // The kernel need not copy sockets outside the watched ports' span: the server sides
  // of inbound connections, for one. The grouper still checks every port exactly.
  const auto ports = round.watched.to_vector();
  std::optional<local_port_span> span;
  if (!ports.empty()) span = local_port_span{ports.front(), ports.back()};
  auto scan = scan_sockets(settings.source, grouper, span);
  round.report = grouper.finish(memory);
  round.scan_time = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  round.source_used = scan.used;
  round.dump = scan.dump;
  round.fallback_reason = std::move(scan.fallback_reason);
  return round;
}

} // namespace portpool::watch
