#pragma once
/// A free-slot bitmap with a summary hierarchy: find-next-free in O(log64 n) word reads.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace portpool {

/// One bit per slot, 1 = free. Above the leaf words sit summary levels (one bit per
/// word of the level below, set when that word has any free slot), so finding the next
/// free slot reads at most two words per level: 4 levels cover 16M slots.
/// Not thread-safe: the allocator guards each bitmap with its destination's mutex.
class port_bitmap {
public:
  /// `slots` slots, all free (or all used when `all_free` is false).
  explicit port_bitmap(std::size_t slots, bool all_free = true);

  std::size_t size() const noexcept { return size_; }
  std::size_t free_count() const noexcept { return free_; }
  bool is_free(std::size_t slot) const noexcept { return (words_[slot >> 6] >> (slot & 63)) & 1; }

  /// Marks `slot` free; no-op when it already is. Precondition: slot < size().
  void set_free(std::size_t slot) noexcept {
    auto& word = words_[slot >> 6];
    const auto bit = std::uint64_t{1} << (slot & 63);
    if (word & bit) return;
    ++free_;
    const bool was_empty = word == 0;
    word |= bit;
    if (was_empty) mark_nonempty_above(slot >> 6);
  }

  /// Marks `slot` used; no-op when it already is. Precondition: slot < size().
  void set_used(std::size_t slot) noexcept {
    auto& word = words_[slot >> 6];
    const auto bit = std::uint64_t{1} << (slot & 63);
    if (!(word & bit)) return;
    --free_;
    word &= ~bit;
    if (word == 0) mark_empty_above(slot >> 6);
  }

  /// The first free slot at or after `from`, wrapping past the end to 0; nullopt when
  /// no slot is free. `from` may be >= size() (treated as 0).
  std::optional<std::size_t> find_free_from(std::size_t from) const noexcept {
    if (free_ == 0) return std::nullopt;
    if (from >= size_) from = 0;
    // Fast path: a free slot later in the same leaf word (the common case under churn).
    const std::uint64_t bits = words_[from >> 6] & (~std::uint64_t{0} << (from & 63));
    if (bits != 0)
      return (from & ~std::size_t{63}) | static_cast<std::size_t>(std::countr_zero(bits));
    if (auto found = find_at_or_after(from)) return found;
    return find_at_or_after(0);
  }

private:
  std::optional<std::size_t> find_at_or_after(std::size_t slot) const noexcept;
  // Summary upkeep when leaf word `word` became non-empty / empty.
  void mark_nonempty_above(std::size_t word) noexcept;
  void mark_empty_above(std::size_t word) noexcept;

  // Every level's words in one array, leaves first: level L starts at offset_[L] and
  // has count_[L] words; the last level is a single word.
  std::vector<std::uint64_t> words_;
  std::vector<std::size_t> offset_;
  std::vector<std::size_t> count_;
  std::size_t size_ = 0;
  std::size_t free_ = 0;
};

} // namespace portpool
