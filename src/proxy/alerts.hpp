#pragma once
// Usage alerts in the log: the allocator's transitions in pool mode, and the same
// thresholds applied to open upstream connections against the kernel's range in kernel
// mode, so the incident's silent exhaustion gets its warning either way.

#include "balancer.hpp"

#include "portpool/usage.hpp"

namespace portpool::proxy {

/// Logs one transition: "WARNING: connections from ... have used N of M ports (P%)",
/// "CRITICAL: ...", or "OK: ... are back to ..." on recovery. Thread-safe.
void log_alert(const usage_alert& alert);

/// Kernel mode: re-evaluates backend `b`'s level from its open upstream connections
/// against `limits` (for the kernel's range) and logs a crossing once. Thread-safe: the
/// level is an atomic, so only the thread that changes it logs.
void check_kernel_usage(backend& b, const usage_limits& limits, std::uint64_t capacity);

} // namespace portpool::proxy
