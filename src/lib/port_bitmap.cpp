#include "portpool/port_bitmap.hpp"

#include <bit>

namespace portpool {

port_bitmap::port_bitmap(std::size_t slots, bool all_free) : size_(slots) {
  std::size_t bits = slots;
  do {
    const std::size_t words = (bits + 63) / 64;
    offset_.push_back(words_.size());
    count_.push_back(words);
    words_.resize(words_.size() + words, 0);
    bits = words;
  } while (bits > 1);
  if (all_free)
    for (std::size_t i = 0; i < slots; ++i)
      set_free(i);
}

void port_bitmap::mark_nonempty_above(std::size_t index) noexcept {
  for (std::size_t level = 1; level < offset_.size(); ++level) {
    auto& word = words_[offset_[level] + (index >> 6)];
    const bool was_empty = word == 0;
    word |= std::uint64_t{1} << (index & 63);
    if (!was_empty) return; // the levels above already say this word has a free slot
    index >>= 6;
  }
}

void port_bitmap::mark_empty_above(std::size_t index) noexcept {
  for (std::size_t level = 1; level < offset_.size(); ++level) {
    auto& word = words_[offset_[level] + (index >> 6)];
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
    if (level == offset_.size()) return std::nullopt;
    const std::size_t w = index >> 6;
    if (w >= count_[level]) return std::nullopt;
    const std::uint64_t bits = words_[offset_[level] + w] & (~std::uint64_t{0} << (index & 63));
    if (bits != 0) {
      index = (w << 6) | static_cast<std::size_t>(std::countr_zero(bits));
      break;
    }
    index = w + 1;
    ++level;
  }
  while (level > 0) {
    --level;
    index =
        (index << 6) | static_cast<std::size_t>(std::countr_zero(words_[offset_[level] + index]));
  }
  return index;
}

} // namespace portpool
