// libFuzzer: port_set::parse and the kernel-list parser never crash, and what parse
// accepts round-trips through to_string().
#include "portpool/error.hpp"
#include "portpool/port_range.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  if (const auto set = portpool::port_set::try_parse(text, error)) {
    if (set->empty() || !(portpool::port_set::parse(set->to_string()) == *set)) std::abort();
  } else if (error.rfind("bad port range \"", 0) != 0) {
    std::abort();
  }
  try {
    (void)portpool::port_set::parse_kernel_list(text);
  } catch (const portpool::bad_input&) {
    // rejected with a message: fine
  }
  return 0;
}
