#pragma once
// Private network namespaces for tests, benchmarks and the demo: a fresh loopback where
// the ephemeral range can be narrowed without touching the host. Not part of the library.

#include <cstdint>
#include <string>

namespace portpool::tools {

/// Moves the calling thread (call it before starting any other thread) into a new,
/// private network namespace with `lo` up. Throws std::runtime_error saying why and what
/// to do (run as root) when the kernel refuses.
void enter_private_netns();

/// Writes a sysctl of the current namespace, e.g. ("net/ipv4/ip_local_port_range",
/// "40000 40199"). Throws std::runtime_error naming the key and value.
void write_sysctl(const std::string& key, const std::string& value);

/// enter_private_netns() and then narrows the ephemeral range to low..high.
void enter_private_netns_with_range(std::uint16_t low, std::uint16_t high);

} // namespace portpool::tools
