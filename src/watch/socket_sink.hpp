#pragma once
// Where the socket table readers deliver what they decode, one socket at a time: at
// 100,000 sockets, building the table first costs more page faults than the grouping.

#include "tcp_socket.hpp"

#include <vector>

namespace portpool::watch {

/// Receives sockets from a reader. Not thread-safe; one reader at a time.
class socket_sink {
public:
  virtual ~socket_sink() = default;
  /// One socket of the table.
  virtual void add(const tcp_socket& socket) = 0;
  /// Forget every socket added so far: the reading failed half-way and another source
  /// will deliver the whole table again.
  virtual void discard() = 0;
};

/// A sink that keeps the table, for tests and tools that compare readers.
class socket_list final : public socket_sink {
public:
  void add(const tcp_socket& socket) override { sockets.push_back(socket); }
  void discard() override { sockets.clear(); }

  std::vector<tcp_socket> sockets;
};

} // namespace portpool::watch
