#pragma once
// What the operator should know before the first client: capacity per backend, ports
// that collide with the kernel's ephemeral range, the open-file budget.

#include "runtime.hpp"

namespace portpool::proxy {

/// Logs the capacity of each backend (sources x ports in pool mode, the kernel's range
/// in kernel mode), warns when pool ports overlap the ephemeral range without being
/// reserved, and logs the maxconn the open-file limit allows.
void log_startup_report(const shared_state& shared, std::size_t fd_limit);

} // namespace portpool::proxy
