// Aggregates refused flow attempts (unsolicited inbound packets, NAT or table
// exhaustion) so that a flood becomes a bounded number of records: one per
// (source, destination, destination port, protocol, reason) per flush interval,
// with a count. Fixed memory; when its slots are full, further attempts are
// merged into one "other sources" entry per reason, so nothing is lost silently
// and the cost per attempt stays bounded (one hash, at most 8 probes).
#pragma once

#include <cstdint>
#include <vector>

#include "base/hash.hpp"
#include "net/packet_view.hpp"
#include "stats/drop_reason.hpp"

namespace egress::flow {

struct denied_entry {
    net::ip_address src; // all-zero in an "other sources" entry
    net::ip_address dst; // all-zero in an "other sources" entry
    uint16_t dst_port = 0;
    uint8_t proto = 0;
    stats::drop_reason reason = stats::drop_reason::inbound_unsolicited;
    uint32_t count = 0;
    uint32_t first_ms = 0; // gateway clock
    uint32_t last_ms = 0;
};

class denied_aggregator {
public:
    static constexpr uint32_t max_probes = 8;

    explicit denied_aggregator(uint32_t slots = 1024) : slots_(slots), other_(stats::drop_reason_count) {}

    void add(const net::packet_view& v, stats::drop_reason reason, uint32_t now) noexcept {
        const uint64_t h = base::mum(base::load64(v.src.bytes.data() + 8) ^ base::load64(v.dst.bytes.data() + 8),
                                     (uint64_t{v.dst_port} << 16 | uint64_t{v.proto} << 8 |
                                      static_cast<uint8_t>(reason)) ^ 0x9e3779b97f4a7c15ULL);
        const auto n = static_cast<uint32_t>(slots_.size());
        uint32_t i = base::reduce(static_cast<uint32_t>(h), n);
        for (uint32_t probe = 0; probe < max_probes && probe < n; ++probe, i = (i + 1 == n ? 0 : i + 1)) {
            denied_entry& e = slots_[i];
            if (e.count == 0) {
                e = denied_entry{v.src, v.dst, v.dst_port, v.proto, reason, 1, now, now};
                ++used_;
                return;
            }
            if (e.reason == reason && e.dst_port == v.dst_port && e.proto == v.proto && e.src == v.src &&
                e.dst == v.dst) {
                ++e.count;
                e.last_ms = now;
                return;
            }
        }
        denied_entry& o = other_[static_cast<std::size_t>(reason)];
        if (o.count == 0) o = denied_entry{{}, {}, 0, 0, reason, 0, now, now};
        ++o.count;
        o.last_ms = now;
    }

    bool empty() const noexcept {
        if (used_ != 0) return false;
        for (const auto& o : other_)
            if (o.count != 0) return false;
        return true;
    }

    // Hands every entry to emit(const denied_entry&) and starts over.
    template <class F>
    void flush(F&& emit) noexcept {
        if (used_ != 0) {
            for (auto& e : slots_) {
                if (e.count == 0) continue;
                emit(static_cast<const denied_entry&>(e));
                e.count = 0;
            }
            used_ = 0;
        }
        for (auto& o : other_) {
            if (o.count == 0) continue;
            emit(static_cast<const denied_entry&>(o));
            o.count = 0;
        }
    }

private:
    std::vector<denied_entry> slots_;
    std::vector<denied_entry> other_; // one per drop reason
    uint32_t used_ = 0;
};

} // namespace egress::flow
