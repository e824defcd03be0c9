#include "port_groups.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace portpool::watch {
namespace {

void insert_sorted_unique(std::vector<std::uint16_t>& ports, std::uint16_t port) {
  const auto at = std::lower_bound(ports.begin(), ports.end(), port);
  if (at == ports.end() || *at != port) ports.insert(at, port);
}

} // namespace

double port_group::percent() const noexcept {
  if (capacity == 0) return used == 0 ? 0.0 : 100.0;
  return 100.0 * static_cast<double>(used) / static_cast<double>(capacity);
}

std::size_t group_key_hash::operator()(const group_key& k) const noexcept {
  // Mix the 32 address bytes 8 at a time; for IPv4 only the first word of each address
  // varies, which the multiply-xorshift spreads across the whole result.
  std::uint64_t h = k.peer_port ^ (std::uint64_t{k.local_ip.is_v6()} << 17) ^
                    (std::uint64_t{k.peer_ip.is_v6()} << 18);
  for (const auto* address : {&k.local_ip, &k.peer_ip}) {
    for (std::size_t i = 0; i < 16; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, address->bytes().data() + i, 8);
      h = (h ^ word) * 0x9e3779b97f4a7c15ull;
      h ^= h >> 29;
    }
  }
  return static_cast<std::size_t>(h);
}

void socket_grouper::add(const tcp_socket& s) {
  ++report_.sockets_seen;
  if (!settings_.watched.contains(s.local_port)) return;
  if (s.state == tcp_state::listen) {
    auto& b = binds_[s.local];
    b.local_ip = s.local;
    insert_sorted_unique(b.listening, s.local_port);
    return;
  }
  if (s.state == tcp_state::bound_inactive) return; // holds no 4-tuple of any group
  const group_key key{s.local, s.peer, s.peer_port};
  auto [at, inserted] = index_.try_emplace(key, report_.groups.size());
  if (inserted) report_.groups.push_back({.key = key, .capacity = settings_.capacity});
  auto& group = report_.groups[at->second];
  ++group.used;
  ++group.states[static_cast<std::size_t>(s.state)];
  ++report_.sockets_counted;
}

void socket_grouper::discard() {
  report_ = {};
  index_.clear();
  binds_.clear();
}

watch_report socket_grouper::finish(level_memory* memory) {
  auto report = std::move(report_);
  for (auto& [address, b] : binds_)
    report.binds.push_back(std::move(b));
  discard(); // ready for the next round
  const auto limits = usage_limits::for_capacity(settings_.capacity, settings_.thresholds);
  level_memory next_memory;
  for (auto& group : report.groups) {
    auto previous = usage_level::ok;
    if (memory) {
      if (const auto it = memory->find(group.key); it != memory->end()) previous = it->second;
    }
    group.level = limits.next(previous, group.used);
    report.worst = std::max(report.worst, group.level);
    if (memory) next_memory.emplace(group.key, group.level);
  }
  if (memory) *memory = std::move(next_memory);

  // One capacity for all groups, so "used" orders them as percent would.
  std::sort(report.groups.begin(), report.groups.end(),
            [](const port_group& a, const port_group& b) {
              if (a.used != b.used) return a.used > b.used;
              return a.key < b.key;
            });
  return report;
}

watch_report group_sockets(const std::vector<tcp_socket>& sockets, const watch_settings& settings,
                           level_memory* memory) {
  socket_grouper grouper(settings);
  for (const auto& s : sockets)
    grouper.add(s);
  return grouper.finish(memory);
}

std::string peer_text(const group_key& key) {
  const auto ip = key.peer_ip.to_string();
  return (key.peer_ip.is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(key.peer_port);
}

std::string warning_message(const port_group& group) {
  return "connections from " + group.key.local_ip.to_string() + " to " + peer_text(group.key) +
         " have used " + std::to_string(group.used) + " of " + std::to_string(group.capacity) +
         " ephemeral ports (" + std::to_string(static_cast<unsigned>(group.percent())) + "%)";
}

} // namespace portpool::watch
