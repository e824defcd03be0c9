#include "balancer.hpp"

#include <algorithm>

namespace portpool::proxy {

namespace {

bool contains(std::span<backend* const> tried, const backend* b) {
  return std::find(tried.begin(), tried.end(), b) != tried.end();
}

// Nginx's smooth weighted round robin, unrolled once: weights 5,1,1 give a,a,b,a,c,a,a
// rather than a,a,a,a,a,b,c, so a heavy backend never takes a burst alone.
std::vector<std::size_t> smooth_sequence(const std::vector<unsigned>& weights) {
  std::vector<std::size_t> out;
  long total = 0;
  for (auto w : weights)
    total += w;
  std::vector<long> current(weights.size(), 0);
  for (long step = 0; step < total; ++step) {
    std::size_t best = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      current[i] += weights[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    out.push_back(best);
  }
  return out;
}

} // namespace

balancer::balancer(const std::vector<backend_spec>& specs, balance_mode mode) : mode_(mode) {
  std::vector<unsigned> weights;
  for (const auto& s : specs) {
    auto b = std::make_unique<backend>();
    b->spec = s;
    b->address = to_asio(s.address);
    b->name = s.address.to_string();
    backends_.push_back(std::move(b));
    weights.push_back(s.weight);
  }
  sequence_ = smooth_sequence(weights);
}

backend* balancer::pick(cursor& c, std::span<backend* const> tried) const {
  for (const bool want_up : {true, false}) {
    auto* b = mode_ == balance_mode::roundrobin ? pick_roundrobin(c, tried, want_up)
                                                : pick_leastconn(c, tried, want_up);
    if (b) return b;
  }
  return nullptr;
}

backend* balancer::pick_roundrobin(cursor& c, std::span<backend* const> tried, bool want_up) const {
  for (std::size_t step = 0; step < sequence_.size(); ++step) {
    auto* b = backends_[sequence_[c.next++ % sequence_.size()]].get();
    if (b->up.load(std::memory_order_relaxed) == want_up && !contains(tried, b)) return b;
  }
  return nullptr;
}

backend* balancer::pick_leastconn(cursor& c, std::span<backend* const> tried, bool want_up) const {
  // Least active per unit of weight; the rotating start spreads ties.
  backend* best = nullptr;
  double best_load = 0;
  const auto n = backends_.size();
  const auto start = c.next++;
  for (std::size_t i = 0; i < n; ++i) {
    auto* b = backends_[(start + i) % n].get();
    if (b->spec.weight == 0 || b->up.load(std::memory_order_relaxed) != want_up ||
        contains(tried, b))
      continue;
    const auto load = static_cast<double>(portpool::proxy::load(b->counters.active)) /
                      static_cast<double>(b->spec.weight);
    if (!best || load < best_load) {
      best = b;
      best_load = load;
    }
  }
  return best;
}

} // namespace portpool::proxy
