#include "netns.hpp"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace portpool::tools {

void enter_private_netns() {
  if (::unshare(CLONE_NEWNET) != 0)
    throw std::runtime_error(
        std::string("cannot make a private network namespace: unshare(CLONE_NEWNET): ") +
        std::strerror(errno) + " (run as root, or under `unshare -rn`)");
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket(): ") + std::strerror(errno));
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  const bool ok = ::ioctl(fd, SIOCGIFFLAGS, &request) == 0 &&
                  (request.ifr_flags |= IFF_UP, ::ioctl(fd, SIOCSIFFLAGS, &request) == 0);
  const int saved = errno;
  ::close(fd);
  if (!ok)
    throw std::runtime_error(std::string("cannot bring up lo in the private namespace: ") +
                             std::strerror(saved));
}

void write_sysctl(const std::string& key, const std::string& value) {
  const auto path = "/proc/sys/" + key;
  std::ofstream out(path);
  out << value << '\n';
  out.flush();
  if (!out) throw std::runtime_error("cannot set " + key + " to \"" + value + "\" (" + path + ")");
}

void enter_private_netns_with_range(std::uint16_t low, std::uint16_t high) {
  enter_private_netns();
  write_sysctl("net/ipv4/ip_local_port_range", std::to_string(low) + " " + std::to_string(high));
}

} // namespace portpool::tools
