#pragma once
// Relay buffers of one worker thread. A session borrows a buffer only while bytes move
// and gives it back before waiting again, so an idle connection holds none.

#include <cstddef>
#include <memory>
#include <vector>

namespace portpool::proxy {

/// Fixed-size buffers recycled within one thread. Not thread-safe: one per worker.
class buffer_pool {
public:
  /// A borrowed buffer; returns itself to the pool on destruction.
  class buffer {
  public:
    buffer(buffer_pool& pool, std::unique_ptr<std::byte[]> data) noexcept
        : pool_(&pool), data_(std::move(data)) {}
    buffer(buffer&&) noexcept = default;
    buffer& operator=(buffer&&) = delete;
    ~buffer() {
      if (data_) pool_->give_back(std::move(data_));
    }
    std::byte* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return pool_->buffer_size_; }

  private:
    buffer_pool* pool_;
    std::unique_ptr<std::byte[]> data_;
  };

  /// `buffer_size` bytes each; at most `keep` idle buffers are kept for reuse.
  explicit buffer_pool(std::size_t buffer_size, std::size_t keep = 256)
      : buffer_size_(buffer_size), keep_(keep) {}

  buffer take() {
    if (free_.empty())
      return buffer(*this, std::make_unique_for_overwrite<std::byte[]>(buffer_size_));
    auto data = std::move(free_.back());
    free_.pop_back();
    return buffer(*this, std::move(data));
  }

private:
  void give_back(std::unique_ptr<std::byte[]> data) {
    if (free_.size() < keep_) free_.push_back(std::move(data));
  }

  std::size_t buffer_size_;
  std::size_t keep_;
  std::vector<std::unique_ptr<std::byte[]>> free_;
};

} // namespace portpool::proxy
