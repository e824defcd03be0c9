#include "latency_histogram.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace portpool::load {

// Values below 2 * sub_buckets map to themselves; above, a value keeps its top 7 bits
// (64..127 after shifting) and the shift picks the power of two: index = shift*64 + top.
unsigned latency_histogram::bucket_of(std::uint64_t ns) noexcept {
  if (ns < 2 * sub_buckets) return static_cast<unsigned>(ns);
  const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(ns));
  const unsigned shift = msb - 6;
  return shift * sub_buckets + static_cast<unsigned>(ns >> shift);
}

std::uint64_t latency_histogram::bucket_top(unsigned index) noexcept {
  if (index < 2 * sub_buckets) return index;
  const unsigned shift = index / sub_buckets - 1;
  const std::uint64_t top = index - shift * sub_buckets;
  return ((top + 1) << shift) - 1;
}

void latency_histogram::record(std::chrono::nanoseconds d) noexcept {
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0));
  ++counts_[std::min(bucket_of(ns), bucket_count - 1)];
  ++count_;
  max_ = std::max(max_, ns);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (unsigned i = 0; i < bucket_count; ++i)
    counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::chrono::nanoseconds latency_histogram::quantile(double q) const noexcept {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  const auto rank = std::max<std::uint64_t>(
      1,
      static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (unsigned i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::chrono::nanoseconds(static_cast<std::int64_t>(std::min(bucket_top(i), max_)));
  }
  return std::chrono::nanoseconds(static_cast<std::int64_t>(max_));
}

boost::json::value latency_histogram::to_json() const {
  boost::json::array buckets;
  for (unsigned i = 0; i < bucket_count; ++i)
    if (counts_[i] != 0) buckets.push_back(boost::json::array{i, counts_[i]});
  return boost::json::object{{"n", count_}, {"max", max_}, {"b", std::move(buckets)}};
}

latency_histogram latency_histogram::from_json(const boost::json::value& v) {
  latency_histogram h;
  const auto& o = v.as_object();
  for (const auto& pair : o.at("b").as_array()) {
    const auto& p = pair.as_array();
    const auto index = p.at(0).to_number<std::uint64_t>();
    if (index >= bucket_count) throw std::runtime_error("latency bucket out of range");
    h.counts_[index] += p.at(1).to_number<std::uint64_t>();
  }
  h.count_ = o.at("n").to_number<std::uint64_t>();
  h.max_ = o.at("max").to_number<std::uint64_t>();
  return h;
}

} // namespace portpool::load
