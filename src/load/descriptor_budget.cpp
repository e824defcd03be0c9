#include "descriptor_budget.hpp"

#include <sys/resource.h>

namespace portpool::load {

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur;
}

std::uint64_t sockets_per_worker(const load_options& o) {
  switch (o.mode) {
  case run_mode::hold: return share_of(o.connections, 0, o.workers);
  case run_mode::churn: return share_of(o.concurrency, 0, o.workers);
  case run_mode::serve: return 0;
  }
  return 0;
}

void check_descriptor_plan(const load_options& o, std::uint64_t limit) {
  const std::uint64_t need = sockets_per_worker(o) + worker_overhead_fds;
  if (need <= limit) return;
  const std::uint64_t total = o.mode == run_mode::hold ? o.connections : o.concurrency;
  const std::uint64_t usable = limit > worker_overhead_fds ? limit - worker_overhead_fds : 1;
  const std::uint64_t workers = (total + usable - 1) / usable;
  throw usage_error(std::string(to_string(o.mode)) + " needs " + std::to_string(need) +
                    " descriptors per worker (" + std::to_string(total) + " sockets over " +
                    std::to_string(o.workers) + " worker(s)) but the open-file limit is " +
                    std::to_string(limit) + ": use --workers " + std::to_string(workers) +
                    " or more");
}

} // namespace portpool::load
