#include "output_format.hpp"

namespace portpool::watch {

std::string_view to_string(output_format format) noexcept {
  switch (format) {
  case output_format::table: return "table";
  case output_format::nagios: return "nagios";
  case output_format::prometheus: return "prometheus";
  case output_format::json: return "json";
  }
  return "unknown";
}

std::optional<output_format> parse_output_format(std::string_view text) noexcept {
  for (auto f : {output_format::table, output_format::nagios, output_format::prometheus,
                 output_format::json})
    if (text == to_string(f)) return f;
  return std::nullopt;
}

} // namespace portpool::watch
