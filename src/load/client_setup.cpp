#include "client_setup.hpp"

#include <iostream>

namespace portpool::load {

namespace {
partition worker_slice(const load_options& o, unsigned index, unsigned count) {
  return {o.slice.index * count + index, o.slice.count * count};
}
} // namespace

source_allocator make_worker_allocator(const load_options& o, unsigned index, unsigned count) {
  if (o.sources_mode == source_mode::kernel)
    return source_allocator(
        {.sources = address_pool::parse("127.0.0.1"), .ports = port_set::range(1, 1)});
  return source_allocator({.sources = *o.sources,
                           .ports = o.ports,
                           .slice = worker_slice(o, index, count),
                           .on_alert = [index](const usage_alert& alert) {
                             // Per-source alerts would repeat this for every address.
                             if (!alert.source)
                               std::cerr << "worker " << index << ": " << alert.message() << '\n';
                           }});
}

connect_options make_connect_options(const load_options& o) {
  return {.mode = o.sources_mode, .timeout = o.connect_timeout};
}

std::vector<boost::asio::ip::tcp::endpoint> asio_targets(const load_options& o) {
  std::vector<boost::asio::ip::tcp::endpoint> out;
  for (const auto& t : o.targets)
    out.push_back(to_asio(t));
  return out;
}

boost::json::object describe_slice(const load_options& o, const source_allocator& pool,
                                   unsigned index, unsigned count) {
  boost::json::object info;
  info["index"] = index;
  if (o.sources_mode == source_mode::kernel) {
    info["source_mode"] = "kernel";
    return info;
  }
  info["source_mode"] = "pool";
  info["partition"] = worker_slice(o, index, count).to_string();
  info["ports_per_source"] = pool.ports_per_source();
  info["slots_per_target"] = pool.capacity(o.targets.front());
  return info;
}

} // namespace portpool::load
