#pragma once
// Grouping the socket table the way the kernel's port choice is limited: one group per
// (local ip, peer ip, peer port), since connect() needs a local port that is free only
// within that group. Every state but LISTEN holds its port (TIME_WAIT too).

#include "socket_sink.hpp"

#include "portpool/port_range.hpp"
#include "portpool/usage.hpp"

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace portpool::watch {

/// The sockets that compete for the same local ports.
struct group_key {
  ip_address local_ip;
  ip_address peer_ip;
  std::uint16_t peer_port = 0;

  friend auto operator<=>(const group_key&, const group_key&) = default;
};

/// Hash of a group_key for the grouping's index.
struct group_key_hash {
  std::size_t operator()(const group_key& k) const noexcept;
};

/// How many local ports one group holds, against its capacity.
struct port_group {
  group_key key;
  std::uint64_t used = 0;     ///< sockets of the group whose local port is watched
  std::uint64_t capacity = 0; ///< watched ports the kernel may hand out
  std::array<std::uint32_t, tcp_state_slots> states{}; ///< `used`, split by tcp_state
  usage_level level = usage_level::ok;

  /// used / capacity in percent; 100 when capacity is 0 and anything is used.
  double percent() const noexcept;
};

/// Watched ports held on one local ip by listeners. A listener bound its port
/// explicitly, and the kernel's connect() skips every explicitly bound port, on any
/// address, so these shrink every group's real capacity. Not counted here: sockets that
/// bound a port and then connected (the socket table cannot tell them from kernel-chosen
/// ports; they count in their group) and sockets that bound and did nothing else yet
/// (transient, and asking the kernel for them adds half again to the cost of the dump).
struct bound_ports {
  ip_address local_ip;                  ///< 0.0.0.0 or :: for wildcard listeners
  std::vector<std::uint16_t> listening; ///< distinct ports, ascending
};

/// What to count and when to warn.
struct watch_settings {
  port_set watched;           ///< local ports counted (the ephemeral range by default)
  std::uint64_t capacity = 0; ///< per group: watched ports minus the reserved ones
  usage_thresholds thresholds;
};

/// The grouped table.
struct watch_report {
  std::vector<port_group> groups;    ///< highest percent first, then by key
  std::vector<bound_ports> binds;    ///< by local ip
  std::uint64_t sockets_seen = 0;    ///< rows delivered, every state and port
  std::uint64_t sockets_counted = 0; ///< rows in some group
  usage_level worst = usage_level::ok;
};

/// Levels of the previous round, so that with --interval a group near a threshold does
/// not flap (the library's hysteresis). Empty on the first round.
using level_memory = std::map<group_key, usage_level>;

/// Groups sockets as a reader delivers them, without keeping the table.
class socket_grouper final : public socket_sink {
public:
  explicit socket_grouper(watch_settings settings) : settings_(std::move(settings)) {}

  void add(const tcp_socket& socket) override;
  void discard() override;

  /// The report of every socket added. With `memory`, each group's level starts from its
  /// previous one and `memory` is replaced by this round's levels.
  watch_report finish(level_memory* memory = nullptr);

private:
  watch_settings settings_;
  watch_report report_;
  std::unordered_map<group_key, std::size_t, group_key_hash> index_; ///< into report_.groups
  std::map<ip_address, bound_ports> binds_;
};

/// socket_grouper over a whole table.
watch_report group_sockets(const std::vector<tcp_socket>& sockets, const watch_settings& settings,
                           level_memory* memory = nullptr);

/// The seed's wording: "connections from 127.0.0.1 to 127.0.0.1:8080 have used 170 of
/// 200 ephemeral ports (85%)". IPv6 peers are bracketed: "[::1]:8080".
std::string warning_message(const port_group& group);

/// "127.0.0.1:8080" or "[::1]:8080".
std::string peer_text(const group_key& key);

} // namespace portpool::watch
