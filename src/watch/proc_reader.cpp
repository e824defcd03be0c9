#include "proc_reader.hpp"

#include "socket_table_error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace portpool::watch {
namespace {

[[noreturn]] void bad_line(std::size_t line_number, std::string_view line, const char* why) {
  throw socket_table_error("/proc/net/tcp line " + std::to_string(line_number) + " \"" +
                           std::string(line.substr(0, 80)) + "\": " + why);
}

// Moves `text` past the next run of spaces and returns the field before it.
std::string_view next_field(std::string_view& text) {
  const auto start = text.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    text = {};
    return {};
  }
  text.remove_prefix(start);
  const auto end = text.find(' ');
  const auto field = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end);
  return field;
}

template <class Unsigned> bool parse_hex(std::string_view text, Unsigned& value) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  return ec == std::errc{} && ptr == text.data() + text.size();
}

// "0100007F:1F90" (IPv4) or 32 hex digits and a port (IPv6).
bool parse_endpoint(std::string_view field, ip_address& address, std::uint16_t& port) {
  const auto colon = field.find(':');
  if (colon == std::string_view::npos || !parse_hex(field.substr(colon + 1), port)) return false;
  const auto hex = field.substr(0, colon);
  if (hex.size() == 8) {
    std::uint32_t word = 0;
    if (!parse_hex(hex, word)) return false;
    std::array<std::uint8_t, 4> bytes;
    std::memcpy(bytes.data(), &word, 4); // the word is the address's bytes in host order
    address = ip_address::v4(std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 |
                             std::uint32_t{bytes[2]} << 8 | std::uint32_t{bytes[3]});
    return true;
  }
  if (hex.size() != 32) return false;
  std::array<std::uint8_t, 16> bytes;
  for (std::size_t i = 0; i < 4; ++i) {
    std::uint32_t word = 0;
    if (!parse_hex(hex.substr(i * 8, 8), word)) return false;
    std::memcpy(bytes.data() + i * 4, &word, 4);
  }
  address = address_from_v6_bytes(bytes);
  return true;
}

std::string read_whole_file(const std::string& path, bool& missing) {
  missing = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      missing = true;
      return {};
    }
    throw socket_table_error(path + ": " + std::strerror(errno));
  }
  std::string text;
  std::size_t used = 0;
  for (;;) {
    if (text.size() - used < 64 * 1024) text.resize(used + 256 * 1024);
    const auto got = ::read(fd, text.data() + used, text.size() - used);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      throw socket_table_error(path + ": read: " + std::strerror(saved));
    }
    if (got == 0) break;
    used += static_cast<std::size_t>(got);
  }
  ::close(fd);
  text.resize(used);
  return text;
}

} // namespace

void parse_proc_net_tcp(std::string_view text, socket_sink& sink) {
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_number;
    if (line_number == 1) continue; // "  sl  local_address rem_address   st ..."
    if (line.find_first_not_of(' ') == std::string_view::npos) continue;

    auto rest = line;
    const auto slot = next_field(rest);
    if (slot.empty() || slot.back() != ':') bad_line(line_number, line, "no \"N:\" slot field");
    tcp_socket s;
    if (!parse_endpoint(next_field(rest), s.local, s.local_port))
      bad_line(line_number, line, "bad local address");
    if (!parse_endpoint(next_field(rest), s.peer, s.peer_port))
      bad_line(line_number, line, "bad remote address");
    unsigned number = 0;
    const auto state =
        parse_hex(next_field(rest), number) ? tcp_state_from_number(number) : std::nullopt;
    if (!state) bad_line(line_number, line, "bad state");
    s.state = *state;
    sink.add(s);
  }
}

void read_tcp_sockets_proc(socket_sink& sink, const std::string& dir) {
  for (const char* name : {"/tcp", "/tcp6"}) {
    bool missing = false;
    const auto text = read_whole_file(dir + name, missing);
    if (missing) {
      if (name == std::string_view("/tcp6")) continue; // IPv6 disabled: nothing to list
      throw socket_table_error(dir + name + ": no such file (is /proc mounted?)");
    }
    parse_proc_net_tcp(text, sink);
  }
}

} // namespace portpool::watch
