// Parsing /proc/net/tcp and /proc/net/tcp6 text: the kernel prints each 32-bit word of
// the network-order address in host order (little-endian here), and ports in host order.
#include "proc_reader.hpp"
#include "socket_table_error.hpp"

#include <doctest/doctest.h>

using namespace portpool;
using namespace portpool::watch;

namespace {

const char* header =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode\n";

ip_address ip(const char* text) { return *ip_address::parse(text); }

} // namespace

TEST_SUITE("proc_parse") {
  TEST_CASE("ipv4 rows") {
    const std::string text =
        std::string(header) +
        "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0    "
        "    0 1234 1 0000000000000000 100 0 0 10 0\n"
        "   1: 0200007F:9C40 0100007F:1F90 06 00000000:00000000 03:00001770 00000000     0    "
        "    0 0 3 0000000000000000\n";
    socket_list out;
    parse_proc_net_tcp(text, out);
    REQUIRE(out.sockets.size() == 2);
    CHECK(out.sockets[0].local == ip("127.0.0.1"));
    CHECK(out.sockets[0].local_port == 8080);
    CHECK(out.sockets[0].peer == ip("0.0.0.0"));
    CHECK(out.sockets[0].state == tcp_state::listen);
    CHECK(out.sockets[1].local == ip("127.0.0.2"));
    CHECK(out.sockets[1].local_port == 40000);
    CHECK(out.sockets[1].peer == ip("127.0.0.1"));
    CHECK(out.sockets[1].peer_port == 8080);
    CHECK(out.sockets[1].state == tcp_state::time_wait);
  }

  TEST_CASE("ipv6 rows, v4-mapped turned into ipv4") {
    const std::string text =
        std::string(header) +
        "   0: 00000000000000000000000001000000:9C41 000080FE000000000000000001000000:1F90 01 "
        "00000000:00000000 00:00000000 00000000     0        0 99 1\n"
        "   1: 0000000000000000FFFF00000100007F:9C42 0000000000000000FFFF00000100007F:1F90 08 "
        "00000000:00000000 00:00000000 00000000     0        0 98 1\n";
    socket_list out;
    parse_proc_net_tcp(text, out);
    REQUIRE(out.sockets.size() == 2);
    CHECK(out.sockets[0].local == ip("::1"));
    CHECK(out.sockets[0].local_port == 40001);
    CHECK(out.sockets[0].peer == ip("fe80::1"));
    CHECK(out.sockets[0].state == tcp_state::established);
    CHECK(out.sockets[1].local == ip("127.0.0.1"));
    CHECK(out.sockets[1].local.is_v4());
    CHECK(out.sockets[1].peer == ip("127.0.0.1"));
    CHECK(out.sockets[1].state == tcp_state::close_wait);
  }

  TEST_CASE("bad rows name the line") {
    socket_list out;
    const auto bad = [&](const std::string& row) {
      out.discard();
      parse_proc_net_tcp(std::string(header) + row + "\n", out);
    };
    CHECK_THROWS_WITH_AS(bad("   0: 0100007G:1F90 00000000:0000 0A"), doctest::Contains("line 2"),
                         socket_table_error);
    CHECK_THROWS_WITH_AS(bad("   0: 0100007F:1F90 00000000:0000 0F"),
                         doctest::Contains("bad state"), socket_table_error);
    CHECK_THROWS_WITH_AS(bad("   0: 0100007F:1F90"), doctest::Contains("remote"),
                         socket_table_error);
    CHECK_THROWS_AS(bad("junk"), socket_table_error);
  }

  TEST_CASE("header only and blank lines give nothing") {
    socket_list out;
    parse_proc_net_tcp(std::string(header) + "\n", out);
    CHECK(out.sockets.empty());
  }
}
