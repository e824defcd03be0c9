// libFuzzer: address_pool::parse never crashes, and what it accepts round-trips through
// to_string() to the same addresses.
#include "portpool/address.hpp"
#include "portpool/error.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto pool = portpool::address_pool::try_parse(text, error);
  if (!pool) {
    if (error.rfind("bad address pool \"", 0) != 0) std::abort(); // every error names the token
    return 0;
  }
  const auto again = portpool::address_pool::parse(pool->to_string());
  if (again.size() != pool->size()) std::abort();
  for (std::size_t i = 0; i < pool->size(); ++i)
    if (!((*pool)[i] == again[i])) std::abort();
  return 0;
}
