#pragma once
// Setup shared by hold and churn: this worker's slice of the source slots, the connect
// options and the targets.

#include "options.hpp"

#include "portpool/allocator.hpp"
#include "portpool/connect.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>

#include <vector>

namespace portpool::load {

/// The allocator of worker `index` of `count`: the pool's sources and ports, partition
/// (K*count + index) of (N*count) where K/N is --partition, so no two workers (nor two
/// runs given different K) ever pick the same slot. In kernel mode a placeholder that the
/// connect path never touches. Destination-wide usage alerts go to stderr. Throws
/// bad_input when the slice is empty.
source_allocator make_worker_allocator(const load_options& o, unsigned index, unsigned count);

/// The library's connect options from ours.
connect_options make_connect_options(const load_options& o);

/// The targets as Asio endpoints.
std::vector<boost::asio::ip::tcp::endpoint> asio_targets(const load_options& o);

/// {"partition":"k/n","ports_per_source":P,"slots_per_target":S} for the report.
boost::json::object describe_slice(const load_options& o, const source_allocator& pool,
                                   unsigned index, unsigned count);

} // namespace portpool::load
