#include "startup_report.hpp"

#include <spdlog/spdlog.h>

namespace portpool::proxy {

void log_startup_report(const shared_state& shared, std::size_t fd_limit) {
  const auto& c = shared.config;
  const auto& range = shared.kernel_range;
  const auto range_text = std::to_string(range.low) + "-" + std::to_string(range.high);
  for (const auto& b : shared.backends.backends()) {
    if (c.mode == source_mode::pool) {
      const auto capacity = shared.allocator->capacity(b->spec.address);
      const auto per_source = shared.allocator->ports_per_source();
      spdlog::info("backend {} (weight {}): capacity {} connections = {} sources x {} ports "
                   "(--source {}, --ports {}, partition {})",
                   b->name, b->spec.weight, capacity, per_source ? capacity / per_source : 0,
                   per_source, c.sources.to_string(), c.ports.to_string(), c.slice.to_string());
      if (capacity == 0)
        spdlog::error("backend {}: no --source address of its address family; every "
                      "connect to it will fail",
                      b->name);
    } else {
      spdlog::info("backend {} (weight {}): capacity {} connections = the kernel's ephemeral "
                   "range {} (--source-mode kernel: plain connect(); --source-mode pool lifts "
                   "this)",
                   b->name, b->spec.weight, range.size(), range_text);
    }
  }
  if (c.mode == source_mode::pool) {
    try {
      const auto overlap = ephemeral_overlap(c.ports, range, read_reserved_ports());
      if (!overlap.empty())
        spdlog::warn("--ports {} overlap the kernel's ephemeral range {} in {} ports ({}) that "
                     "are not reserved: every port the proxy binds there is one the kernel's "
                     "own connect() skips for all programs. Choose --ports outside {} or "
                     "reserve them: sysctl -w net.ipv4.ip_local_reserved_ports={}",
                     c.ports.to_string(), range_text, overlap.size(), overlap.to_string(),
                     range_text, overlap.to_string());
    } catch (const std::exception& e) {
      spdlog::warn("cannot check --ports against the kernel's ephemeral range: {}", e.what());
    }
  }
  spdlog::info("open-file limit {}: maxconn {} clients (2 descriptors each), {} threads, "
               "balance {}, connect timeout {}, idle timeout {}, retries {}",
               fd_limit, shared.maxconn, c.threads, to_string(c.balance),
               format_duration(c.connect_timeout),
               c.idle_timeout.count() ? format_duration(c.idle_timeout) : "off", c.retries);
  if (shared.maxconn * 2 + 64 > fd_limit)
    spdlog::warn("--maxconn {} needs about {} file descriptors but the limit is {}: accepts "
                 "will fail with EMFILE before maxconn is reached",
                 shared.maxconn, shared.maxconn * 2 + 64, fd_limit);
}

} // namespace portpool::proxy
