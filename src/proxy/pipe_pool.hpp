#pragma once
// Pipes of one worker thread for the splice(2) relay path. A direction borrows a pipe
// only while a bulk transfer moves bytes and gives it back empty, so idle connections
// hold no pipe (and no descriptors beyond their two sockets); the pipes kept for reuse
// are closed when the worker has no session left.

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <optional>
#include <vector>

namespace portpool::proxy {

/// Non-blocking pipes recycled within one thread. Not thread-safe: one per worker.
class pipe_pool {
public:
  struct pipe {
    int read = -1;
    int write = -1;
  };

  /// At most `keep` empty pipes are kept for reuse.
  explicit pipe_pool(std::size_t keep = 16) : keep_(keep) { free_.reserve(keep); }
  pipe_pool(const pipe_pool&) = delete;
  pipe_pool& operator=(const pipe_pool&) = delete;
  ~pipe_pool() { clear(); }

  /// Closes the pipes kept for reuse (the worker went idle: descriptors back to baseline).
  void clear() noexcept {
    for (const auto& p : free_)
      close(p);
    free_.clear();
  }

  /// A pipe, or nullopt when none can be made (e.g. EMFILE): the caller copies instead.
  std::optional<pipe> take() {
    if (!free_.empty()) {
      const auto p = free_.back();
      free_.pop_back();
      return p;
    }
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return std::nullopt;
    ::fcntl(fds[1], F_SETPIPE_SZ, capacity); // best effort: 64 KiB when refused
    return pipe{fds[0], fds[1]};
  }

  /// Returns a pipe; `empty` false (bytes left in it) closes it instead. Never
  /// allocates (the free list is reserved up front).
  void give_back(pipe p, bool empty) noexcept {
    if (empty && free_.size() < keep_)
      free_.push_back(p);
    else
      close(p);
  }

  /// Bytes asked of the kernel per pipe.
  static constexpr int capacity = 256 * 1024;

private:
  static void close(const pipe& p) {
    ::close(p.read);
    ::close(p.write);
  }

  std::size_t keep_;
  std::vector<pipe> free_;
};

} // namespace portpool::proxy
