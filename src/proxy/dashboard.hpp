#pragma once
// The admin endpoint's GET /: one self-contained HTML page (inline CSS and JS, no external
// assets) that polls /stats every second and draws each backend's and each (source,
// backend) group's usage against its capacity and thresholds, health, and rates.

#include "portpool/usage.hpp"

#include <string>
#include <string_view>

namespace portpool::proxy {

/// The dashboard page with `thresholds` (the proxy's --warn and --crit) written in, since
/// /stats does not carry them. Thread-safe (pure).
std::string render_dashboard(const usage_thresholds& thresholds);

/// The Content-Security-Policy to send with the page: its own inline style and script,
/// fetches to its own origin, nothing else.
inline constexpr std::string_view dashboard_content_security_policy =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

} // namespace portpool::proxy
