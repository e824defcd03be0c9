#pragma once
/// A free-slot bitmap with a summary hierarchy: find-next-free in O(log64 n) word reads.

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
  bool is_free(std::size_t slot) const noexcept;

  /// Marks `slot` free; no-op when it already is. Precondition: slot < size().
  void set_free(std::size_t slot) noexcept;
  /// Marks `slot` used; no-op when it already is. Precondition: slot < size().
  void set_used(std::size_t slot) noexcept;

  /// The first free slot at or after `from`, wrapping past the end to 0; nullopt when
  /// no slot is free. `from` may be >= size() (treated as 0).
  std::optional<std::size_t> find_free_from(std::size_t from) const noexcept;

private:
  std::optional<std::size_t> find_at_or_after(std::size_t slot) const noexcept;

  std::vector<std::vector<std::uint64_t>> levels_; // [0] leaves, back() a single word
  std::size_t size_ = 0;
  std::size_t free_ = 0;
};

} // namespace portpool
