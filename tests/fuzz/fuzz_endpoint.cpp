// libFuzzer: endpoint::parse and partition::parse never crash; accepted endpoints
// round-trip through to_string().
#include "portpool/address.hpp"
#include "portpool/allocator.hpp"
#include "portpool/error.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto e = portpool::endpoint::parse(text);
    if (!(portpool::endpoint::parse(e.to_string()) == e) || e.port == 0) std::abort();
  } catch (const portpool::bad_input&) {
    // rejected with a message: fine
  }
  try {
    const auto p = portpool::partition::parse(text);
    if (p.index >= p.count) std::abort();
  } catch (const portpool::bad_input&) {
    // rejected with a message: fine
  }
  return 0;
}
