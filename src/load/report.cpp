#include "report.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace portpool::load {
namespace json = boost::json;

namespace {

double micros(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1000.0; }

std::string fixed(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// "45us", "1.2ms", "3.4s": latency for humans.
std::string human(std::chrono::nanoseconds d) {
  const double us = micros(d);
  if (us < 1000) return fixed(us, us < 10 ? 1 : 0) + "us";
  if (us < 1e6) return fixed(us / 1000, 1) + "ms";
  return fixed(us / 1e6, 2) + "s";
}

json::object percentiles(const latency_histogram& h) {
  // Microseconds rounded to 0.1 us keep the JSON readable; the histogram is coarser.
  const auto us = [](std::chrono::nanoseconds d) { return std::round(micros(d) * 10) / 10; };
  return {{"p50", us(h.quantile(0.5))},  {"p90", us(h.quantile(0.9))},
          {"p99", us(h.quantile(0.99))}, {"p999", us(h.quantile(0.999))},
          {"max", us(h.max())},          {"count", h.count()}};
}

std::string percentile_line(const latency_histogram& h) {
  if (h.count() == 0) return "none";
  return "p50 " + human(h.quantile(0.5)) + "  p90 " + human(h.quantile(0.9)) + "  p99 " +
         human(h.quantile(0.99)) + "  p99.9 " + human(h.quantile(0.999)) + "  max " +
         human(h.max()) + "  (" + std::to_string(h.count()) + ")";
}

json::object tally_json(const error_tally& t) {
  json::object o;
  for (const auto& [name, n] : t)
    o[name] = n;
  return o;
}

} // namespace

double run_report::conn_per_s() const {
  const double seconds = mode == run_mode::hold ? ramp_seconds : elapsed_seconds;
  return seconds > 0 ? static_cast<double>(total.ok) / seconds : 0;
}

int run_report::exit_code() const {
  if (!problems.empty()) return 1;
  if (total.failed != 0 || total.echo_mismatch != 0) return 1;
  if (mode == run_mode::hold && total.dropped != 0) return 1;
  return 0;
}

std::string format_tally(const error_tally& t) {
  if (t.empty()) return "none";
  std::string out;
  for (const auto& [name, n] : t) {
    if (!out.empty()) out += ", ";
    out += name + " " + std::to_string(n);
  }
  return out;
}

std::string progress_line(run_mode mode, double elapsed_s, const run_stats& now,
                          std::uint64_t interval_ok, double interval_s) {
  char head[32];
  std::snprintf(head, sizeof head, "[%6.1fs]", elapsed_s);
  std::ostringstream line;
  line << head;
  const auto per_s = interval_s > 0 ? static_cast<double>(interval_ok) / interval_s : 0.0;
  if (mode == run_mode::serve) {
    line << " open " << now.established << "  accepted " << now.ok << " (+" << fixed(per_s, 0)
         << "/s)  echoed " << now.bytes_sent << " B";
    if (now.failed) line << "  accept errors: " << format_tally(now.errors);
    if (now.dropped) line << "  resets: " << format_tally(now.drop_errors);
  } else {
    line << " open " << now.open << "  est " << now.established << "  "
         << (mode == run_mode::hold ? "new " : "cycles ") << fixed(per_s, 0) << "/s  ok " << now.ok
         << "  failed " << now.failed;
    if (now.failed) line << " (" << format_tally(now.errors) << ")";
    if (now.dropped)
      line << "  dropped " << now.dropped << " (" << format_tally(now.drop_errors) << ")";
    if (now.connect_latency.count())
      line << "  connect p50 " << human(now.connect_latency.quantile(0.5)) << " p99 "
           << human(now.connect_latency.quantile(0.99));
    if (now.echo_mismatch) line << "  ECHO MISMATCHES " << now.echo_mismatch;
  }
  line << "  rss " << now.rss_kb / 1024 << " MiB";
  return line.str();
}

std::string summary(const run_report& r) {
  const auto& t = r.total;
  std::ostringstream out;
  out << to_string(r.mode) << " with " << r.workers << " worker(s), " << fixed(r.elapsed_seconds, 2)
      << "s\n";
  if (r.mode == run_mode::serve) {
    out << "  accepted " << t.ok << ", accept errors " << t.failed << " (" << format_tally(t.errors)
        << ")\n  most sessions at once " << r.peak_established << ", ended by error " << t.dropped
        << " (" << format_tally(t.drop_errors) << ")\n  echoed " << t.bytes_sent << " of "
        << t.bytes_received << " bytes received\n";
  } else {
    out << "  attempted " << t.attempted << ", ok " << t.ok << ", failed " << t.failed << " ("
        << format_tally(t.errors) << ")\n";
    if (r.mode == run_mode::hold) {
      if (r.hold_seconds > 0)
        out << "  held " << t.held << " at once for " << fixed(r.hold_seconds, 1) << "s";
      else
        out << "  stopped during the ramp with " << t.held << " open";
      out << ", dropped " << t.dropped << " (" << format_tally(t.drop_errors) << ")\n";
      out << "  setup: " << t.ok << " in " << fixed(r.ramp_seconds, 2)
          << "s = " << fixed(r.conn_per_s(), 0) << " conn/s\n";
    } else {
      out << "  rate: " << fixed(r.conn_per_s(), 0) << " ok cycles/s, "
          << fixed(r.elapsed_seconds > 0 ? static_cast<double>(t.attempted) / r.elapsed_seconds : 0,
                   0)
          << " attempted/s\n";
    }
    out << "  connect latency: " << percentile_line(t.connect_latency) << '\n';
    out << "  echo: " << t.echoes << " round trips, " << t.bytes_sent << " bytes sent, "
        << t.bytes_received << " received, " << t.echo_mismatch << " mismatches";
    if (t.echo_latency.count()) out << "; latency " << percentile_line(t.echo_latency);
    out << '\n';
    if (t.slot_conflicts)
      out << "  source slots found taken elsewhere: " << t.slot_conflicts << '\n';
  }
  out << "  memory: " << t.rss_kb / 1024 << " MiB resident over the workers";
  if (r.peak_established)
    out << " ("
        << fixed(static_cast<double>(t.rss_kb) * 1024.0 / static_cast<double>(r.peak_established),
                 0)
        << " B per connection)";
  out << '\n';
  for (const auto& p : r.problems)
    out << "  problem: " << p << '\n';
  return out.str();
}

json::object report_json(const run_report& r) {
  const auto& t = r.total;
  json::object o;
  o["mode"] = to_string(r.mode);
  o["workers"] = r.workers;
  o["attempted"] = t.attempted;
  o["ok"] = t.ok;
  o["failed"] = t.failed;
  o["errors"] = tally_json(t.errors);
  o["connect_us"] = percentiles(t.connect_latency);
  o["conn_per_s"] = std::round(r.conn_per_s() * 10) / 10;
  o["echo_mismatch"] = t.echo_mismatch;
  o["echoes"] = t.echoes;
  o["echo_us"] = percentiles(t.echo_latency);
  o["bytes_sent"] = t.bytes_sent;
  o["bytes_received"] = t.bytes_received;
  o["held"] = t.held;
  o["dropped"] = t.dropped;
  o["drop_errors"] = tally_json(t.drop_errors);
  o["peak_established"] = r.peak_established;
  o["slot_conflicts"] = t.slot_conflicts;
  o["rss_kb"] = t.rss_kb;
  o["ramp_seconds"] = r.ramp_seconds;
  o["hold_seconds"] = r.hold_seconds;
  o["elapsed_seconds"] = r.elapsed_seconds;
  json::array workers;
  for (const auto& w : r.per_worker) {
    json::object wo = w.info;
    wo["index"] = w.index;
    wo["finished"] = w.finished;
    wo["attempted"] = w.stats.attempted;
    wo["ok"] = w.stats.ok;
    wo["failed"] = w.stats.failed;
    wo["held"] = w.stats.held;
    wo["slot_conflicts"] = w.stats.slot_conflicts;
    wo["rss_kb"] = w.stats.rss_kb;
    workers.push_back(std::move(wo));
  }
  o["per_worker"] = std::move(workers);
  json::array problems;
  for (const auto& p : r.problems)
    problems.push_back(json::string(p));
  o["problems"] = std::move(problems);
  return o;
}

} // namespace portpool::load
