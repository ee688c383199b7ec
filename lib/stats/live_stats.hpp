// What a worker publishes while it runs (for the metrics endpoint): its counters,
// its flow count and the NAT usage per pool address. Only 64-bit words, so it can
// travel through base::seqlock_box.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "stats/counters.hpp"

namespace egress::stats {

inline constexpr std::size_t max_pool_addresses = 64; // the config allows at most 64

struct pool_address_live {
    uint64_t mappings_active = 0;
    uint64_t mappings_created = 0;
    uint64_t exhausted = 0;
};

struct live_stats {
    worker_counters counters;
    uint64_t flows_active = 0;
    uint64_t pool_size = 0;
    uint64_t fragment_datagrams_active = 0; // fragmented datagrams tracked now
    uint64_t fragments_held_now = 0;        // fragments waiting for their first fragment now
    std::array<pool_address_live, max_pool_addresses> pool{};
    uint64_t sources_tracked = 0;           // inside sources the [limits] tables count now
};

// Adds one worker's published stats into a total (metrics, telemetry, summary
// and egressctl show the sum over the workers). Every field is a 64-bit count
// that adds up, except pool_size, the same for every worker.
inline void add_worker(live_stats& total, const live_stats& w) noexcept {
    static_assert(std::is_trivially_copyable_v<live_stats> && sizeof(live_stats) % sizeof(uint64_t) == 0);
    constexpr std::size_t words = sizeof(live_stats) / sizeof(uint64_t);
    uint64_t a[words], b[words];
    std::memcpy(a, &total, sizeof a);
    std::memcpy(b, &w, sizeof b);
    for (std::size_t i = 0; i < words; ++i) a[i] += b[i];
    std::memcpy(&total, a, sizeof a);
    total.pool_size = w.pool_size;
}

} // namespace egress::stats
