#include "portpool/port_bitmap.hpp"

#include <bit>

namespace portpool {

port_bitmap::port_bitmap(std::size_t slots, bool all_free) : size_(slots) {
  std::size_t bits = slots;
  do {
    const std::size_t words = (bits + 63) / 64;
    levels_.emplace_back(words, 0);
    bits = words;
  } while (bits > 1);
  if (all_free)
    for (std::size_t i = 0; i < slots; ++i)
      set_free(i);
}

bool port_bitmap::is_free(std::size_t slot) const noexcept {
  return (levels_[0][slot >> 6] >> (slot & 63)) & 1;
}

void port_bitmap::set_free(std::size_t slot) noexcept {
  if (is_free(slot)) return;
  ++free_;
  std::size_t index = slot;
  for (auto &level : levels_) {
    auto &word = level[index >> 6];
    const bool was_empty = word == 0;
    word |= std::uint64_t{1} << (index & 63);
    if (!was_empty) return; // the levels above already say this word has a free slot
    index >>= 6;
  }
}

void port_bitmap::set_used(std::size_t slot) noexcept {
  if (!is_free(slot)) return;
  --free_;
  std::size_t index = slot;
  for (auto &level : levels_) {
    auto &word = level[index >> 6];
    word &= ~(std::uint64_t{1} << (index & 63));
    if (word != 0) return; // still a free slot under this word: the summary stays set
    index >>= 6;
  }
}

std::optional<std::size_t> port_bitmap::find_at_or_after(std::size_t slot) const noexcept {
  // Climb while the rest of the current word is empty, then descend along first set bits.
  std::size_t level = 0;
  std::size_t index = slot;
  for (;;) {
    if (level == levels_.size()) return std::nullopt;
    const auto &words = levels_[level];
    const std::size_t w = index >> 6;
    if (w >= words.size()) return std::nullopt;
    const std::uint64_t bits = words[w] & (~std::uint64_t{0} << (index & 63));
    if (bits != 0) {
      index = (w << 6) | static_cast<std::size_t>(std::countr_zero(bits));
      break;
    }
    index = w + 1;
    ++level;
  }
  while (level > 0) {
    --level;
    index = (index << 6) | static_cast<std::size_t>(std::countr_zero(levels_[level][index]));
  }
  return index;
}

std::optional<std::size_t> port_bitmap::find_free_from(std::size_t from) const noexcept {
  if (free_ == 0) return std::nullopt;
  if (from >= size_) from = 0;
  if (auto found = find_at_or_after(from)) return found;
  return find_at_or_after(0);
}

} // namespace portpool
