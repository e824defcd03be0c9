#include "tcp_socket.hpp"

namespace portpool::watch {

std::string_view to_string(tcp_state state) noexcept {
  switch (state) {
  case tcp_state::established: return "ESTAB";
  case tcp_state::syn_sent: return "SYN_SENT";
  case tcp_state::syn_recv: return "SYN_RECV";
  case tcp_state::fin_wait1: return "FIN_WAIT1";
  case tcp_state::fin_wait2: return "FIN_WAIT2";
  case tcp_state::time_wait: return "TIME_WAIT";
  case tcp_state::close: return "CLOSE";
  case tcp_state::close_wait: return "CLOSE_WAIT";
  case tcp_state::last_ack: return "LAST_ACK";
  case tcp_state::listen: return "LISTEN";
  case tcp_state::closing: return "CLOSING";
  case tcp_state::new_syn_recv: return "NEW_SYN_RECV";
  case tcp_state::bound_inactive: return "BOUND_INACTIVE";
  }
  return "UNKNOWN";
}

std::optional<tcp_state> tcp_state_from_number(unsigned number) noexcept {
  if (number < 1 || number >= tcp_state_slots) return std::nullopt;
  return static_cast<tcp_state>(number);
}

ip_address address_from_v6_bytes(const std::array<std::uint8_t, 16>& bytes) noexcept {
  static constexpr std::array<std::uint8_t, 12> mapped_prefix{0, 0, 0, 0, 0,    0,
                                                              0, 0, 0, 0, 0xff, 0xff};
  bool mapped = true;
  for (std::size_t i = 0; i < mapped_prefix.size(); ++i)
    mapped = mapped && bytes[i] == mapped_prefix[i];
  if (!mapped) return ip_address::v6(bytes);
  return ip_address::v4(std::uint32_t{bytes[12]} << 24 | std::uint32_t{bytes[13]} << 16 |
                        std::uint32_t{bytes[14]} << 8 | std::uint32_t{bytes[15]});
}

} // namespace portpool::watch
