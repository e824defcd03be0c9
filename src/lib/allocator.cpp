#include "portpool/allocator.hpp"

#include "portpool/detail/text.hpp"
#include "portpool/port_bitmap.hpp"
#include "spin_lock.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

namespace portpool {
namespace detail {

using time_point = std::chrono::steady_clock::time_point;

// Figures of one group plus the thresholds as counts for its capacity.
struct group_state {
  group_usage usage;
  usage_limits limits;
  // While low <= in_use < high the level cannot change: the hot path's only check.
  std::uint64_t low = 0, high = 0;

  void set_limits(std::uint64_t capacity, const usage_thresholds& t) {
    usage.capacity = capacity;
    limits = usage_limits::for_capacity(capacity, t);
    set_band();
  }

  // The band of in_use values that keep the current level.
  void set_band() {
    switch (usage.level) {
    case usage_level::ok: low = 0, high = limits.warn_enter; break;
    case usage_level::warning: low = limits.warn_leave, high = limits.crit_enter; break;
    case usage_level::critical: low = limits.crit_leave, high = UINT64_MAX; break;
    }
  }

  bool in_band() const noexcept { return usage.in_use >= low && usage.in_use < high; }

  // After a change of in_use: records a level transition, if any.
  void update_level(std::optional<usage_alert>& alert, const endpoint& destination,
                    std::optional<ip_address> source) {
    if (in_band()) return;
    const auto next = limits.next(usage.level, usage.in_use);
    if (next != usage.level)
      alert = usage_alert{destination, source, usage.level, next, usage.in_use, usage.capacity};
    usage.level = next;
    set_band();
  }
};

// Up to two transitions per operation: the destination and one source.
using pending_alerts = std::array<std::optional<usage_alert>, 2>;

struct destination_state {
  destination_state(allocator_core& c, endpoint d, std::vector<std::uint32_t> s, std::size_t p);

  allocator_core& core;
  const endpoint destination;
  const std::vector<std::uint32_t> sources; // indices into options.sources, this family only
  const std::size_t ports;                  // slots per source

  spin_lock mutex;
  port_bitmap free; // slot = port_index * sources.size() + source_index
  // Slots marked used in `free` only because their source is out of rotation. Empty until
  // a source is first taken out (set_source_enabled allocates it, outside the hot path).
  std::vector<bool> parked;
  std::vector<char> source_enabled; // per source index: this destination's view
  std::size_t enabled_sources = 0;
  std::size_t cursor = 0; // next search starts here: recently freed slots come last
  std::deque<std::pair<time_point, std::uint32_t>> quarantined; // FIFO: one fixed duration
  group_state total;
  std::vector<group_state> per_source;
};

class allocator_core {
public:
  explicit allocator_core(allocator_options o) : options(std::move(o)) {
    if (options.sources.empty()) throw bad_input("bad source pool \"\": no source address");
    if (options.ports.empty()) throw bad_input("bad port range \"\": no port");
    if (options.slice.count == 0 || options.slice.index >= options.slice.count)
      throw bad_input("bad partition \"" + options.slice.to_string() + "\": need 0 <= K < N");
    validate(options.thresholds);
    const auto all = options.ports.to_vector();
    const std::size_t n = all.size(), k = options.slice.index, parts = options.slice.count;
    ports.assign(all.begin() + static_cast<std::ptrdiff_t>(n * k / parts),
                 all.begin() + static_cast<std::ptrdiff_t>(n * (k + 1) / parts));
    if (ports.empty())
      throw bad_input("bad partition \"" + options.slice.to_string() + "\": " + std::to_string(n) +
                      " ports leave this partition none");
    enabled = std::make_unique<std::atomic<bool>[]>(options.sources.size());
    for (std::size_t i = 0; i < options.sources.size(); ++i)
      enabled[i] = true;
  }

  bool is_enabled(std::uint32_t source) const noexcept {
    return enabled[source].load(std::memory_order_relaxed);
  }

  std::optional<std::uint32_t> index_of(const ip_address& source) const noexcept {
    for (std::uint32_t i = 0; i < options.sources.size(); ++i)
      if (options.sources[i] == source) return i;
    return std::nullopt;
  }

  time_point now() const {
    return options.clock ? options.clock() : std::chrono::steady_clock::now();
  }

  std::vector<std::uint32_t> sources_for(const endpoint& d) const {
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = 0; i < options.sources.size(); ++i)
      if (options.sources[i].is_v4() == d.address.is_v4()) out.push_back(i);
    return out;
  }

  // Sources of d's family: in all, and in rotation now.
  std::pair<std::size_t, std::size_t> count_sources(const endpoint& d) const noexcept {
    std::size_t all = 0, in_rotation = 0;
    for (std::uint32_t i = 0; i < options.sources.size(); ++i)
      if (options.sources[i].is_v4() == d.address.is_v4()) {
        ++all;
        in_rotation += is_enabled(i);
      }
    return {all, in_rotation};
  }

  destination_state* find(const endpoint& d) const {
    std::shared_lock lock(map_mutex);
    const auto it = destinations.find(d);
    return it == destinations.end() ? nullptr : it->second.get();
  }

  destination_state* find_or_create(const endpoint& d, std::error_code& ec) {
    ec.clear();
    if (auto* s = find(d)) return s;
    auto sources = sources_for(d);
    if (sources.empty()) {
      ec = errc::no_source_for_family;
      return nullptr;
    }
    std::unique_lock lock(map_mutex);
    auto& slot = destinations[d];
    if (!slot)
      slot = std::make_unique<destination_state>(*this, d, std::move(sources), ports.size());
    return slot.get();
  }

  // Every destination's state, copied out under the map's read lock (states are never
  // removed, so the pointers stay valid).
  std::vector<destination_state*> all_states() const {
    std::vector<destination_state*> out;
    std::shared_lock lock(map_mutex);
    out.reserve(destinations.size());
    for (const auto& [d, s] : destinations)
      out.push_back(s.get());
    return out;
  }

  void deliver(const pending_alerts& alerts) const {
    if (!options.on_alert) return;
    for (const auto& a : alerts)
      if (a) options.on_alert(*a);
  }

  allocator_options options;
  std::vector<std::uint16_t> ports;             // this partition's ports, ascending
  std::unique_ptr<std::atomic<bool>[]> enabled; // per options.sources index
  std::mutex enable_mutex;                      // one set_source_enabled at a time
  mutable std::shared_mutex map_mutex;
  std::unordered_map<endpoint, std::unique_ptr<destination_state>, endpoint_hash> destinations;
};

destination_state::destination_state(allocator_core& c, endpoint d, std::vector<std::uint32_t> s,
                                     std::size_t p)
    : core(c), destination(std::move(d)), sources(std::move(s)), ports(p), free(sources.size() * p),
      source_enabled(sources.size(), 1), per_source(sources.size()) {
  const auto& t = core.options.thresholds;
  for (auto& g : per_source)
    g.set_limits(ports, t);
  // A source already out of rotation when the destination is first used: its slots are
  // parked from the start (a concurrent set_source_enabled repeats this idempotently).
  for (std::size_t j = 0; j < sources.size(); ++j) {
    if (core.is_enabled(sources[j])) continue;
    if (parked.empty()) parked.assign(free.size(), false);
    source_enabled[j] = 0;
    for (std::size_t k = 0; k < ports; ++k) {
      free.set_used(k * sources.size() + j);
      parked[k * sources.size() + j] = true;
    }
  }
  enabled_sources =
      static_cast<std::size_t>(std::count(source_enabled.begin(), source_enabled.end(), char{1}));
  total.set_limits(enabled_sources * ports, t);
}

namespace {

// A slot coming back from a lease or from quarantine: free, or parked while its source
// is out of rotation. Caller holds s.mutex. When `parked` is not allocated yet the
// set_source_enabled that turned the source off has not reached this destination: it
// parks the slot when it does.
void return_slot(destination_state& s, std::size_t slot) noexcept {
  if (!s.parked.empty() && !s.core.is_enabled(s.sources[slot % s.sources.size()]))
    s.parked[slot] = true;
  else
    s.free.set_free(slot);
}

// Frees quarantined slots whose time is up. Caller holds s.mutex.
void expire_quarantine(destination_state& s) {
  if (s.quarantined.empty()) return;
  const auto now = s.core.now();
  while (!s.quarantined.empty() && s.quarantined.front().first <= now) {
    const auto slot = s.quarantined.front().second;
    s.quarantined.pop_front();
    return_slot(s, slot);
    --s.total.usage.quarantined;
    --s.per_source[slot % s.sources.size()].usage.quarantined;
  }
}

// The slow path, taken only when a group left its level's band: computes the
// transitions under the lock, releases it, then delivers them. An on_alert that throws
// must not turn an acquire or a release into a leak or a terminate: its exception is
// dropped.
[[gnu::noinline]] void report_level_changes(destination_state& s, std::uint32_t src,
                                            std::unique_lock<spin_lock>& lock) noexcept {
  pending_alerts alerts;
  s.total.update_level(alerts[0], s.destination, std::nullopt);
  s.per_source[src].update_level(alerts[1], s.destination, s.core.options.sources[s.sources[src]]);
  lock.unlock();
  try {
    s.core.deliver(alerts);
  } catch (...) {
  }
}

bool left_band(const destination_state& s, std::uint32_t src) noexcept {
  return !s.total.in_band() || !s.per_source[src].in_band();
}

destination_usage copy_usage(destination_state& s) {
  std::lock_guard lock(s.mutex);
  expire_quarantine(s);
  destination_usage u{s.destination, s.total.usage, {}};
  u.sources.reserve(s.sources.size());
  for (std::size_t i = 0; i < s.sources.size(); ++i)
    u.sources.push_back(
        {s.core.options.sources[s.sources[i]], s.per_source[i].usage, s.source_enabled[i] != 0});
  return u;
}

// Brings one destination's view of source `global` in line with the allocator's flag:
// parks its free slots or unparks them, and resizes the destination's capacity. Returns
// the destination's level change, if any, to deliver after the lock.
std::optional<usage_alert> apply_source_state(destination_state& s, std::uint32_t global) {
  const auto it = std::find(s.sources.begin(), s.sources.end(), global);
  if (it == s.sources.end()) return std::nullopt; // another family
  const auto j = static_cast<std::size_t>(it - s.sources.begin());
  const auto n = s.sources.size();
  // Only set_source_enabled (serialised) and the constructor size `parked`: reading its
  // size before taking the lock is safe. A source never parked here needs no enabling.
  const bool on = s.core.is_enabled(global);
  if (on && s.parked.empty()) return std::nullopt;
  std::vector<bool> parked;
  if (s.parked.empty()) parked.assign(s.free.size(), false); // allocate outside the lock
  std::lock_guard lock(s.mutex);
  if (s.parked.empty()) s.parked.swap(parked);
  if ((s.source_enabled[j] != 0) == on) return std::nullopt;
  s.source_enabled[j] = on;
  for (std::size_t p = 0; p < s.ports; ++p) {
    const auto slot = p * n + j;
    if (on && s.parked[slot]) {
      s.parked[slot] = false;
      s.free.set_free(slot);
    } else if (!on && s.free.is_free(slot)) {
      s.free.set_used(slot);
      s.parked[slot] = true;
    }
  }
  s.enabled_sources = on ? s.enabled_sources + 1 : s.enabled_sources - 1;
  std::optional<usage_alert> alert;
  s.total.set_limits(s.enabled_sources * s.ports, s.core.options.thresholds);
  s.total.update_level(alert, s.destination, std::nullopt);
  return alert;
}

} // namespace
} // namespace detail

partition partition::parse(std::string_view text) {
  const auto slash = text.find('/');
  const auto bad = [&](std::string_view why) {
    return bad_input("bad partition \"" + std::string(text) + "\": " + std::string(why));
  };
  if (slash == std::string_view::npos) throw bad("expected K/N, e.g. 0/4");
  const auto k = detail::parse_unsigned(detail::trim(text.substr(0, slash)));
  const auto n = detail::parse_unsigned(detail::trim(text.substr(slash + 1)));
  if (!k || !n) throw bad("K and N must be whole numbers");
  if (*n == 0 || *n > 65535) throw bad("N must be 1-65535");
  if (*k >= *n) throw bad("K must be below N (partitions count from 0)");
  return {static_cast<unsigned>(*k), static_cast<unsigned>(*n)};
}

lease::lease(lease&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)), slot_(other.slot_),
      source_index_(other.source_index_), port_(other.port_), source_(other.source_) {}

lease& lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::exchange(other.state_, nullptr);
    slot_ = other.slot_;
    source_index_ = other.source_index_;
    port_ = other.port_;
    source_ = other.source_;
  }
  return *this;
}

const endpoint& lease::destination() const noexcept { return state_->destination; }

void lease::release() noexcept { give_back(false); }
void lease::quarantine() noexcept { give_back(true); }

void lease::give_back(bool quarantine) noexcept {
  auto* s = std::exchange(state_, nullptr);
  if (!s) return;
  std::unique_lock lock(s->mutex);
  auto& total = s->total;
  auto& source = s->per_source[source_index_];
  --total.usage.in_use;
  --source.usage.in_use;
  if (quarantine) {
    // A deque push can throw only on allocation failure; then the slot simply frees now.
    try {
      s->quarantined.emplace_back(s->core.now() + s->core.options.quarantine, slot_);
      ++total.usage.quarantined;
      ++source.usage.quarantined;
    } catch (...) {
      s->free.set_free(slot_);
    }
    ++total.usage.conflicts;
    ++source.usage.conflicts;
  } else {
    detail::return_slot(*s, slot_);
  }
  if (detail::left_band(*s, source_index_)) detail::report_level_changes(*s, source_index_, lock);
}

source_allocator::source_allocator(allocator_options options)
    : core_(std::make_unique<detail::allocator_core>(std::move(options))) {}
source_allocator::source_allocator(source_allocator&&) noexcept = default;
source_allocator& source_allocator::operator=(source_allocator&&) noexcept = default;
source_allocator::~source_allocator() = default;

destination_handle source_allocator::destination(const endpoint& d, std::error_code& ec) {
  return destination_handle(core_->find_or_create(d, ec));
}

lease source_allocator::acquire(const endpoint& d, std::error_code& ec) {
  return acquire(destination(d, ec), ec);
}

lease source_allocator::acquire(destination_handle handle, std::error_code& ec) {
  auto* s = handle.state_;
  if (!s) {
    if (!ec) ec = errc::no_source_for_family;
    return {};
  }
  if (ec) ec.clear();
  lease out;
  std::unique_lock lock(s->mutex);
  detail::expire_quarantine(*s);
  {
    const auto slot = s->free.find_free_from(s->cursor);
    if (!slot) {
      ++s->total.usage.exhaustions;
      ec = errc::exhausted;
      return {};
    }
    s->free.set_used(*slot);
    s->cursor = *slot + 1;
    const auto n = s->sources.size();
    const auto port_index = *slot / n;
    const auto src = *slot - port_index * n;
    out.state_ = s;
    out.slot_ = static_cast<std::uint32_t>(*slot);
    out.source_index_ = static_cast<std::uint32_t>(src);
    out.port_ = core_->ports[port_index];
    out.source_ = core_->options.sources[s->sources[src]];
    for (auto* g : {&s->total, &s->per_source[src]}) {
      auto& u = g->usage;
      ++u.in_use;
      ++u.acquisitions;
      u.high_water = std::max(u.high_water, u.in_use);
    }
  }
  if (detail::left_band(*s, out.source_index_))
    detail::report_level_changes(*s, out.source_index_, lock);
  return out;
}

lease source_allocator::acquire(const endpoint& d) {
  std::error_code ec;
  auto l = acquire(d, ec);
  if (ec) {
    const auto what = ec == errc::exhausted ? "no free source port toward " + describe(d)
                                            : "cannot lease a source toward " + d.to_string();
    throw std::system_error(ec, what);
  }
  return l;
}

std::uint64_t source_allocator::capacity(const endpoint& d) const noexcept {
  return core_->count_sources(d).second * core_->ports.size();
}

std::size_t source_allocator::ports_per_source() const noexcept { return core_->ports.size(); }

std::string source_allocator::describe(const endpoint& d) const {
  const auto [sources, in_rotation] = core_->count_sources(d);
  const auto u = usage(d);
  const auto used = u ? u->usage.in_use : 0;
  const auto quarantined = u ? u->usage.quarantined : 0;
  const auto out = sources - in_rotation;
  return d.to_string() + ": " + std::to_string(used) + " of " + std::to_string(capacity(d)) +
         " in use, " + std::to_string(quarantined) + " quarantined (" +
         std::to_string(in_rotation) + " sources x " + std::to_string(core_->ports.size()) +
         " ports" + (out ? ", " + std::to_string(out) + " sources out of rotation" : "") +
         "); add source addresses or ports";
}

bool source_allocator::set_source_enabled(const ip_address& source, bool enabled) {
  const auto index = core_->index_of(source);
  if (!index) return false;
  std::lock_guard serial(core_->enable_mutex);
  core_->enabled[*index].store(enabled, std::memory_order_relaxed);
  for (auto* s : core_->all_states())
    if (const auto alert = detail::apply_source_state(*s, *index)) {
      try {
        core_->deliver({alert, std::nullopt});
      } catch (...) {
      }
    }
  return true;
}

bool source_allocator::source_enabled(const ip_address& source) const noexcept {
  const auto index = core_->index_of(source);
  return index && core_->is_enabled(*index);
}

usage_snapshot source_allocator::snapshot() const {
  const auto states = core_->all_states();
  usage_snapshot out;
  out.destinations.reserve(states.size());
  for (auto* s : states)
    out.destinations.push_back(detail::copy_usage(*s));
  std::sort(out.destinations.begin(), out.destinations.end(),
            [](const auto& a, const auto& b) { return a.destination < b.destination; });
  return out;
}

std::optional<destination_usage> source_allocator::usage(const endpoint& d) const {
  auto* s = core_->find(d);
  if (!s) return std::nullopt;
  return detail::copy_usage(*s);
}

const allocator_options& source_allocator::options() const noexcept { return core_->options; }

} // namespace portpool
