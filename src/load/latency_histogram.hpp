#pragma once
// A log-linear latency histogram in the manner of HdrHistogram: exact below 128 ns, then 64
// buckets per power of two (at most 1.6% relative error), from 1 ns to hours. Mergeable, so
// worker processes ship theirs to the parent, which sums them.

#include <boost/json/value.hpp>

#include <array>
#include <chrono>
#include <cstdint>

namespace portpool::load {

/// Counts of durations in nanoseconds. A value type (30 KiB); thread-compatible.
class latency_histogram {
public:
  /// Counts one duration (negative counts as 0).
  void record(std::chrono::nanoseconds d) noexcept;
  /// Adds every count of `other`.
  void merge(const latency_histogram& other) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  /// The largest value recorded, exactly; 0 when empty.
  std::chrono::nanoseconds max() const noexcept { return std::chrono::nanoseconds(max_); }
  /// The value at quantile q (0..1): the top of the bucket holding the ceil(q*count)-th
  /// smallest value, never above max(). 0 when empty.
  std::chrono::nanoseconds quantile(double q) const noexcept;

  /// Sparse form for the workers' pipe: {"n":count,"max":ns,"b":[[bucket,count],...]}.
  boost::json::value to_json() const;
  /// Inverse of to_json(); throws std::runtime_error on a malformed value.
  static latency_histogram from_json(const boost::json::value& v);

  static constexpr unsigned sub_buckets = 64;
  static constexpr unsigned bucket_count = 59 * sub_buckets;
  /// The bucket of a value in nanoseconds, and the largest value in bucket `index`.
  static unsigned bucket_of(std::uint64_t ns) noexcept;
  static std::uint64_t bucket_top(unsigned index) noexcept;

private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

} // namespace portpool::load
