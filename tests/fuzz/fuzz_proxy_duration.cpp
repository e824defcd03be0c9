// libFuzzer: portpool-proxy's duration parser either returns a duration of at most a week
// that format_duration() writes back to the same value, or throws bad_input naming the
// option.
#include "config.hpp"

#include "portpool/error.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using portpool::proxy::format_duration;
  using portpool::proxy::parse_duration;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::chrono::milliseconds d{};
  try {
    d = parse_duration("fuzz-timeout", text);
  } catch (const portpool::bad_input& e) {
    if (std::string_view(e.what()).find("--fuzz-timeout") == std::string_view::npos) std::abort();
    return 0;
  }
  if (d.count() < 0 || d > std::chrono::hours(24 * 7)) std::abort();
  // What the logs print must read back as the same duration whenever it is a whole unit.
  const auto shown = format_duration(d);
  if (shown.empty()) std::abort();
  if (shown.find('.') == std::string::npos) {
    try {
      if (parse_duration("fuzz-timeout", shown) != d) {
        std::fprintf(stderr, "%s -> %s differs\n", std::string(text).c_str(), shown.c_str());
        std::abort();
      }
    } catch (const portpool::bad_input&) {
      std::fprintf(stderr, "format_duration wrote %s, which does not parse\n", shown.c_str());
      std::abort();
    }
  }
  return 0;
}
