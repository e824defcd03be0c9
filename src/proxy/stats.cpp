#include "stats.hpp"

#include <filesystem>

namespace portpool::proxy {

std::uint64_t count_open_fds() {
  std::error_code ec;
  std::uint64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return n > 0 ? n - 1 : 0; // the iterator's own descriptor
}

proxy_figures collect_figures(const shared_state& shared) {
  proxy_figures f;
  const bool pool = shared.config.mode == source_mode::pool;
  f.mode = std::string(to_string(shared.config.mode));
  for (const auto& b : shared.backends.backends()) {
    destination_figures d;
    d.destination = b->name;
    d.up = b->up.load(std::memory_order_relaxed);
    d.weight = b->spec.weight;
    const auto& c = b->counters;
    d.active = load(c.active);
    d.connections = load(c.connections);
    d.bytes_to_backend = load(c.bytes_to_backend);
    d.bytes_to_client = load(c.bytes_to_client);
    for (std::size_t i = 0; i < failure_reason_count; ++i)
      d.failures[i] = load(c.failures[i]);
    d.exhausted = d.failures[static_cast<std::size_t>(failure_reason::exhausted)];
    if (pool) {
      d.capacity = shared.allocator->capacity(b->spec.address);
      if (const auto u = shared.allocator->usage(b->spec.address)) {
        d.used = u->usage.in_use;
        d.capacity = u->usage.capacity;
        d.high_water = u->usage.high_water;
        d.exhausted = u->usage.exhaustions;
        d.conflicts = u->usage.conflicts;
        d.level = u->usage.level;
        for (const auto& s : u->sources)
          d.sources.push_back({s.source.to_string(), s.usage.in_use, s.usage.capacity,
                               s.usage.high_water, s.usage.conflicts, s.usage.quarantined, true,
                               s.enabled, s.usage.level});
      } else {
        for (const auto& a : shared.config.sources)
          if (a.is_v4() == b->spec.address.address.is_v4())
            d.sources.push_back({.source = a.to_string(),
                                 .capacity = shared.allocator->ports_per_source(),
                                 .in_rotation = shared.allocator->source_enabled(a)});
      }
      for (auto& s : d.sources)
        for (std::size_t i = 0; i < shared.config.sources.size(); ++i)
          if (shared.source_up && shared.config.sources[i].to_string() == s.source)
            s.up = shared.source_up[i].load(std::memory_order_relaxed);
    } else {
      // Kernel mode: the kernel picks ports from its range, one ring per destination.
      d.used = d.active;
      d.capacity = shared.kernel_range.size();
      d.high_water = load(c.high_water);
      d.conflicts = load(c.conflicts);
      d.level = b->kernel_level.load(std::memory_order_relaxed);
    }
    f.destinations.push_back(std::move(d));
  }
  const auto& c = shared.counters;
  f.clients_active = load(c.clients_active);
  f.clients_total = load(c.clients_total);
  f.clients_failed = load(c.clients_failed);
  f.idle_timeouts = load(c.idle_timeouts);
  f.bytes_spliced = load(c.bytes_spliced);
  f.accept_errors = load(c.accept_errors);
  f.maxconn_waits = load(c.maxconn_waits);
  f.maxconn = shared.maxconn;
  f.open_fds = count_open_fds();
  f.draining = shared.draining.load(std::memory_order_relaxed);
  f.thresholds = shared.config.thresholds;
  return f;
}

} // namespace portpool::proxy
