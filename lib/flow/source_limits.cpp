#include "flow/source_limits.hpp"

#include <bit>

#include "base/hash.hpp"

namespace egress::flow {

namespace {

constexpr uint32_t milli = 1000; // a bucket level unit: a thousandth of a new flow

// Table slots for `entries` at most 80 % full, a power of two.
uint32_t slots_for(uint32_t entries) noexcept {
    const uint64_t want = uint64_t{entries} * 5 / 4 + 1;
    return static_cast<uint32_t>(std::bit_ceil(want < 8 ? uint64_t{8} : want));
}

uint32_t hash_address(const net::ip_address& a, uint64_t salt) noexcept {
    const uint64_t lo = base::load64(a.bytes.data());
    const uint64_t hi = base::load64(a.bytes.data() + 8);
    return static_cast<uint32_t>(base::mum(lo ^ salt, hi ^ 0x9e3779b97f4a7c15ull));
}

uint32_t hash_pair(const net::ip_address& s, const net::ip_address& d) noexcept {
    return hash_address(d, hash_address(s, 0x2545f4914f6cdd1dull));
}

// A bucket of `v`'s size, in thousandths of a new flow.
uint32_t burst_milli_of(const source_limit_values& v) noexcept {
    const uint32_t burst = v.new_flow_burst != 0 ? v.new_flow_burst : v.new_flows_per_s;
    return burst > UINT32_MAX / milli ? UINT32_MAX : burst * milli;
}

// Linear-probing distance of the entry at `slot` from its home slot.
uint32_t distance(uint32_t home, uint32_t slot, uint32_t mask) noexcept { return (slot - home) & mask; }

} // namespace

source_limits::source_limits(const source_limit_settings& s) : settings_(s) {
    if (settings_.v6_prefix == 0 || settings_.v6_prefix > 128) settings_.v6_prefix = 64;
    if (!settings_.any() && !settings_.group_limits) return; // nothing to track: no memory
    sources_.resize(slots_for(settings_.max_sources));
    source_mask_ = static_cast<uint32_t>(sources_.size() - 1);
    if (settings_.max_per_destination != 0 || settings_.group_limits_per_destination) {
        destinations_.resize(slots_for(settings_.max_destinations));
        destination_mask_ = static_cast<uint32_t>(destinations_.size() - 1);
    }
}

net::ip_address source_limits::source_key(const net::ip_address& a) const noexcept {
    if (a.is_v4()) return a;
    net::ip_address k = a;
    const unsigned bits = settings_.v6_prefix;
    for (unsigned i = 0; i < 16; ++i) {
        const unsigned keep = bits > i * 8 ? bits - i * 8 : 0;
        if (keep >= 8) continue;
        k.bytes[i] = static_cast<uint8_t>(k.bytes[i] & (0xff00u >> keep));
    }
    return k;
}

uint32_t source_limits::find_source(const net::ip_address& key) const noexcept {
    for (uint32_t slot = hash_address(key, 0) & source_mask_;; slot = (slot + 1) & source_mask_) {
        const source_entry& e = sources_[slot];
        if (!e.used) return UINT32_MAX;
        if (e.key == key) return slot;
    }
}

uint32_t source_limits::find_destination(const net::ip_address& src, const net::ip_address& dst) const noexcept {
    for (uint32_t slot = hash_pair(src, dst) & destination_mask_;; slot = (slot + 1) & destination_mask_) {
        const destination_entry& e = destinations_[slot];
        if (!e.used) return UINT32_MAX;
        if (e.source == src && e.destination == dst) return slot;
    }
}

uint32_t source_limits::add_source(const net::ip_address& key, uint32_t now_ms,
                                  const source_limit_values& v) noexcept {
    if (source_count_ >= settings_.max_sources) return UINT32_MAX;
    uint32_t slot = hash_address(key, 0) & source_mask_;
    while (sources_[slot].used) slot = (slot + 1) & source_mask_;
    const uint32_t burst = burst_milli_of(v);
    sources_[slot] = source_entry{key, 0, burst, now_ms, 0, 0, v.new_flows_per_s, burst, true, false};
    ++source_count_;
    return slot;
}

uint32_t source_limits::add_destination(const net::ip_address& src, const net::ip_address& dst) noexcept {
    if (destination_count_ >= settings_.max_destinations) return UINT32_MAX;
    uint32_t slot = hash_pair(src, dst) & destination_mask_;
    while (destinations_[slot].used) slot = (slot + 1) & destination_mask_;
    destinations_[slot] = destination_entry{src, dst, 0, true};
    ++destination_count_;
    return slot;
}

// Backward-shift deletion: later entries of the probe run move up so that
// every entry stays reachable from its home slot without tombstones.
void source_limits::erase_source(uint32_t slot) noexcept {
    sources_[slot].used = false;
    --source_count_;
    for (uint32_t next = (slot + 1) & source_mask_; sources_[next].used; next = (next + 1) & source_mask_) {
        const uint32_t home = hash_address(sources_[next].key, 0) & source_mask_;
        if (distance(home, next, source_mask_) >= distance(home, slot, source_mask_)) {
            sources_[slot] = sources_[next];
            sources_[next].used = false;
            slot = next;
        }
    }
}

void source_limits::erase_destination(uint32_t slot) noexcept {
    destinations_[slot].used = false;
    --destination_count_;
    for (uint32_t next = (slot + 1) & destination_mask_; destinations_[next].used;
         next = (next + 1) & destination_mask_) {
        const destination_entry& e = destinations_[next];
        const uint32_t home = hash_pair(e.source, e.destination) & destination_mask_;
        if (distance(home, next, destination_mask_) >= distance(home, slot, destination_mask_)) {
            destinations_[slot] = destinations_[next];
            destinations_[next].used = false;
            slot = next;
        }
    }
}

void source_limits::refill(source_entry& e, uint32_t now_ms) noexcept {
    const auto elapsed = static_cast<int32_t>(now_ms - e.refill_ms);
    if (elapsed <= 0) return; // the clock did not move (or went back): nothing earned
    const uint64_t earned = uint64_t(static_cast<uint32_t>(elapsed)) * e.rate;
    e.level = e.level >= e.burst_milli || earned >= e.burst_milli - e.level ? e.burst_milli
                                                                           : e.level + static_cast<uint32_t>(earned);
    e.refill_ms = now_ms;
}

// The host's rate may have changed since its last flow (a reload moved it to
// another group): the bucket takes the new rate and size, keeping its level
// (at most the new size), so a move never hands out a fresh burst.
bool source_limits::take_token(source_entry& e, uint32_t now_ms, const source_limit_values& v) noexcept {
    if (e.rate != v.new_flows_per_s || e.burst_milli != burst_milli_of(v)) {
        refill(e, now_ms);
        e.rate = v.new_flows_per_s;
        e.burst_milli = burst_milli_of(v);
        if (e.level > e.burst_milli) e.level = e.burst_milli;
    }
    if (e.rate == 0) return true;
    refill(e, now_ms);
    if (e.level < milli) return false;
    e.level -= milli;
    return true;
}

bool source_limits::bucket_full(const source_entry& e) noexcept { return e.rate == 0 || e.level >= e.burst_milli; }

// Destinations are counted whenever their table exists (even for a host whose
// limits set no max_per_destination), so release() can always take back what
// admit() counted, whichever group the host is in by then.
source_verdict source_limits::admit(const net::ip_address& src, const net::ip_address& dst, uint32_t now_ms,
                                    const source_limit_values& v) noexcept {
    if (!enabled()) return source_verdict::untracked;
    const net::ip_address key = source_key(src);
    uint32_t s = find_source(key);
    if (s == UINT32_MAX) s = add_source(key, now_ms, v);
    if (s == UINT32_MAX) return source_verdict::untracked;
    source_entry& e = sources_[s];
    const auto refuse = [&e](source_verdict v) {
        ++e.refused;
        return v;
    };
    if (v.max_flows != 0 && e.flows >= v.max_flows) return refuse(source_verdict::flow_limit);
    uint32_t d = UINT32_MAX;
    if (counts_destinations()) {
        d = find_destination(key, dst);
        if (v.max_per_destination != 0 && d != UINT32_MAX && destinations_[d].flows >= v.max_per_destination)
            return refuse(source_verdict::port_limit);
    }
    if (!take_token(e, now_ms, v)) return refuse(source_verdict::rate_limit);
    if (counts_destinations()) {
        if (d == UINT32_MAX) d = add_destination(key, dst);
        if (d == UINT32_MAX) {
            // The pair table is full: admitted, but neither count moves, so
            // release() (not called for untracked flows) stays balanced.
            return source_verdict::untracked;
        }
        ++destinations_[d].flows;
    }
    ++e.flows;
    return source_verdict::admitted;
}

void source_limits::release(const net::ip_address& src, const net::ip_address& dst) noexcept {
    if (!enabled()) return;
    const net::ip_address key = source_key(src);
    if (counts_destinations()) {
        const uint32_t d = find_destination(key, dst);
        if (d != UINT32_MAX && destinations_[d].flows != 0 && --destinations_[d].flows == 0) erase_destination(d);
    }
    const uint32_t s = find_source(key);
    if (s == UINT32_MAX || sources_[s].flows == 0) return;
    if (--sources_[s].flows == 0 && bucket_full(sources_[s])) erase_source(s);
}

bool source_limits::report_due(const net::ip_address& src, uint32_t now_ms) noexcept {
    const uint32_t s = enabled() ? find_source(source_key(src)) : UINT32_MAX;
    if (s == UINT32_MAX) return false;
    source_entry& e = sources_[s];
    if (e.reported && now_ms - e.reported_ms < settings_.report_interval_ms) return false;
    e.reported = true;
    e.reported_ms = now_ms;
    return true;
}

void source_limits::sweep(uint32_t now_ms, uint32_t budget) noexcept {
    if (sources_.empty()) return;
    for (uint32_t n = 0; n < budget && n < sources_.size(); ++n) {
        const uint32_t slot = sweep_cursor_;
        sweep_cursor_ = (sweep_cursor_ + 1) & source_mask_;
        source_entry& e = sources_[slot];
        if (!e.used || e.flows != 0) continue;
        if (e.rate != 0) refill(e, now_ms);
        if (bucket_full(e)) erase_source(slot);
    }
}

uint32_t source_limits::flows_of(const net::ip_address& src) const noexcept {
    if (!enabled()) return 0;
    const uint32_t s = find_source(source_key(src));
    return s == UINT32_MAX ? 0 : sources_[s].flows;
}

std::size_t source_limits::memory_bytes() const noexcept {
    return sources_.size() * sizeof(source_entry) + destinations_.size() * sizeof(destination_entry);
}

std::string_view to_string(source_verdict v) noexcept {
    switch (v) {
    case source_verdict::admitted: return "admitted";
    case source_verdict::untracked: return "untracked";
    case source_verdict::flow_limit: return "source_flow_limit";
    case source_verdict::rate_limit: return "source_rate_limit";
    case source_verdict::port_limit: return "source_port_limit";
    }
    return "unknown";
}

} // namespace egress::flow
