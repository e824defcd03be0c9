// /metrics: the Prometheus text exposition format.
#include "stats.hpp"

#include <fmt/format.h>

namespace portpool::proxy {

namespace {

// Writes HELP and TYPE once, then one sample per call.
class exposition {
public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP portpool_proxy_{} {}\n", name, help);
    fmt::format_to(std::back_inserter(out_), "# TYPE portpool_proxy_{} {}\n", name, type);
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
    if (labels.empty())
      fmt::format_to(std::back_inserter(out_), "portpool_proxy_{} {}\n", name, value);
    else
      fmt::format_to(std::back_inserter(out_), "portpool_proxy_{}{{{}}} {}\n", name, labels, value);
  }
  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

std::string backend_label(const destination_figures& d) {
  return fmt::format("backend=\"{}\"", d.destination);
}

} // namespace

std::string render_prometheus(const proxy_figures& f) {
  exposition e;
  using field = std::uint64_t destination_figures::*;
  struct per_backend {
    const char *name, *type, *help;
    field value;
  };
  static constexpr per_backend backend_series[] = {
      {"backend_used", "gauge",
       "Source slots in use toward the backend (kernel mode: upstream connections).",
       &destination_figures::used},
      {"backend_capacity", "gauge",
       "Source slots toward the backend (kernel mode: the kernel's ephemeral range).",
       &destination_figures::capacity},
      {"backend_high_water", "gauge", "Most source slots in use at once.",
       &destination_figures::high_water},
      {"backend_active_connections", "gauge", "Upstream connections open now.",
       &destination_figures::active},
      {"backend_connections_total", "counter", "Upstream connections made.",
       &destination_figures::connections},
      {"backend_exhaustions_total", "counter", "Connects refused because no source slot was free.",
       &destination_figures::exhausted},
      {"backend_conflicts_total", "counter", "Source slots found taken by another socket.",
       &destination_figures::conflicts},
  };
  for (const auto& s : backend_series) {
    e.family(s.name, s.type, s.help);
    for (const auto& d : f.destinations)
      e.sample(s.name, backend_label(d), d.*s.value);
  }
  e.family("backend_up", "gauge", "1 while health checks reach the backend.");
  for (const auto& d : f.destinations)
    e.sample("backend_up", backend_label(d), d.up ? 1 : 0);
  e.family("backend_failures_total", "counter", "Failed upstream connects by reason.");
  for (const auto& d : f.destinations)
    for (std::size_t i = 0; i < failure_reason_count; ++i)
      e.sample("backend_failures_total",
               fmt::format("{},reason=\"{}\"", backend_label(d),
                           to_string(static_cast<failure_reason>(i))),
               d.failures[i]);
  e.family("backend_bytes_total", "counter", "Bytes relayed, by direction.");
  for (const auto& d : f.destinations) {
    e.sample("backend_bytes_total", backend_label(d) + ",direction=\"to_backend\"",
             d.bytes_to_backend);
    e.sample("backend_bytes_total", backend_label(d) + ",direction=\"to_client\"",
             d.bytes_to_client);
  }
  struct per_source {
    const char *name, *type, *help;
    std::uint64_t source_figures::*value;
  };
  static constexpr per_source source_series[] = {
      {"source_used", "gauge", "Ports in use from one source address toward the backend.",
       &source_figures::used},
      {"source_capacity", "gauge", "Ports one source address offers toward the backend.",
       &source_figures::capacity},
      {"source_high_water", "gauge", "Most ports in use at once from the source.",
       &source_figures::high_water},
      {"source_conflicts_total", "counter", "Slots of the source found taken by another socket.",
       &source_figures::conflicts},
      {"source_quarantined", "gauge", "Slots of the source skipped now after a conflict.",
       &source_figures::quarantined},
  };
  for (const auto& s : source_series) {
    e.family(s.name, s.type, s.help);
    for (const auto& d : f.destinations)
      for (const auto& src : d.sources)
        e.sample(s.name, fmt::format("{},source=\"{}\"", backend_label(d), src.source),
                 src.*s.value);
  }
  e.family("source_up", "gauge", "1 while health checks from the source address succeed.");
  for (const auto& d : f.destinations)
    for (const auto& src : d.sources)
      e.sample("source_up", fmt::format("{},source=\"{}\"", backend_label(d), src.source),
               src.up ? 1 : 0);

  e.family("client_connections", "gauge", "Client connections open now.");
  e.sample("client_connections", "", f.clients_active);
  e.family("client_connections_total", "counter", "Client connections accepted.");
  e.sample("client_connections_total", "", f.clients_total);
  e.family("client_failures_total", "counter",
           "Clients closed because no backend could be reached.");
  e.sample("client_failures_total", "", f.clients_failed);
  e.family("idle_timeouts_total", "counter", "Connections closed by --idle-timeout.");
  e.sample("idle_timeouts_total", "", f.idle_timeouts);
  e.family("spliced_bytes_total", "counter",
           "Bytes relayed with splice(2) through a pipe (also in the per-backend byte counts).");
  e.sample("spliced_bytes_total", "", f.bytes_spliced);
  e.family("accept_errors_total", "counter",
           "Failed accepts (EMFILE...), each followed by a pause.");
  e.sample("accept_errors_total", "", f.accept_errors);
  e.family("maxconn_pauses_total", "counter", "Times accepting paused at --maxconn.");
  e.sample("maxconn_pauses_total", "", f.maxconn_waits);
  e.family("maxconn", "gauge", "Most client connections at once.");
  e.sample("maxconn", "", f.maxconn);
  e.family("process_open_fds", "gauge", "Open file descriptors of the proxy.");
  e.sample("process_open_fds", "", f.open_fds);
  e.family("draining", "gauge", "1 after SIGTERM/SIGINT, while connections drain.");
  e.sample("draining", "", f.draining ? 1 : 0);
  return e.take();
}

} // namespace portpool::proxy
