#include "alerts.hpp"

#include <spdlog/spdlog.h>

namespace portpool::proxy {

void log_alert(const usage_alert& a) {
  if (a.is_recovery())
    spdlog::info("{}: {} (was {})", to_string(a.current), a.message(), to_string(a.previous));
  else if (a.current == usage_level::critical)
    spdlog::error("{}: {}", to_string(a.current), a.message());
  else
    spdlog::warn("{}: {}", to_string(a.current), a.message());
}

void check_kernel_usage(backend& b, const usage_limits& limits, std::uint64_t capacity) {
  const auto used = load(b.counters.active);
  auto current = b.kernel_level.load(std::memory_order_relaxed);
  const auto next = limits.next(current, used);
  if (next == current || !b.kernel_level.compare_exchange_strong(current, next)) return;
  log_alert({.destination = b.spec.address,
             .source = std::nullopt,
             .previous = current,
             .current = next,
             .used = used,
             .capacity = capacity});
}

} // namespace portpool::proxy
