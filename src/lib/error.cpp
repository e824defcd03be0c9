#include "portpool/error.hpp"

namespace portpool {
namespace {

class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "portpool"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
    case errc::exhausted:
      return "no free source slot toward this destination: add source addresses or widen the "
             "port set";
    case errc::no_source_for_family:
      return "the source pool has no address of the destination's family (IPv4/IPv6): add one";
    case errc::retries_exhausted:
      return "every attempt hit a source slot already in use elsewhere: check for other "
             "processes binding the pool's ports";
    case errc::connect_timeout:
      return "connect timed out: the destination did not answer before the deadline";
    case errc::pool_full:
      return "the connection pool has max_total connections open and none idle: return "
             "connections sooner or raise max_total";
    }
    return "unknown portpool error " + std::to_string(value);
  }
};

} // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

} // namespace portpool
