// dns_observer: see dns_observer.hpp.
#include "gateway/dns_observer.hpp"

#include <algorithm>

#include "net/packet_parser.hpp"
#include "net/tcp_segment.hpp"

namespace egress::gateway {

namespace {
constexpr uint16_t dns_port = 53;
constexpr std::size_t udp_header = 8;
} // namespace

namespace {
constexpr uint32_t answers_per_call = 32; // answers taken per loop (each is one response recorded)
const net::ip_address own_scope{};        // the scope of egressd's own lookups in resolved_

// The cache of egressd's own lookups: one scope holds every binding; memory
// only when resolvers are configured.
dns::observed_limits resolved_limits(const dns_settings& s) noexcept {
    dns::observed_limits l = s.observed;
    l.max_bindings = s.resolve.resolvers.empty() ? 1 : s.resolve.cache_bindings;
    l.max_bindings_per_scope = l.max_bindings;
    l.max_scopes = 1;
    return l;
}
} // namespace

dns_observer::dns_observer(const dns_settings& s, stats::worker_counters& counters)
    : names_(s.observed, s.hash_key), resolved_(resolved_limits(s), s.hash_key),
      lookups_(s.resolve.resolvers.empty() ? 1 : s.resolve.pending_per_worker, s.resolve.timeout_ms),
      resolvers_(s.inside_resolvers), servers_(s.servers), counters_(counters) {}

uint32_t dns_observer::seconds(uint32_t now_ms) noexcept {
    if (!started_) {
        started_ = true;
        last_ms_ = now_ms;
        elapsed_ms_ = now_ms; // the first call's time counts from 0, like the gateway's clock
    }
    // Modular difference: right across the clock's wrap. A time before the
    // last one seen (a caller's clock read earlier) leaves the clock as it is;
    // tick() from every sweep keeps the gaps far below 2^31 ms.
    const auto delta = static_cast<int32_t>(now_ms - last_ms_);
    if (delta > 0) {
        elapsed_ms_ += static_cast<uint32_t>(delta);
        last_ms_ = now_ms;
    }
    return static_cast<uint32_t>(elapsed_ms_ / 1000);
}

bool dns_observer::from_server(const net::ip_address& remote) const noexcept {
    return servers_.empty() || std::find(servers_.begin(), servers_.end(), remote) != servers_.end();
}

uint32_t dns_observer::read(const net::ip_address& scope, std::span<const uint8_t> frame,
                           const net::packet_view& view, uint32_t now_ms, bool& unread) noexcept {
    const uint32_t now = seconds(now_ms);
    if (view.proto == net::proto_udp) {
        if (view.l4_length <= udp_header) return 0;
        names_.record(scope, frame.subspan(view.l4_offset + udp_header, view.l4_length - udp_header), now);
        return 1;
    }
    // TCP: whole length-prefixed messages from the segment's first byte.
    std::span<const uint8_t> payload = net::tcp_payload(frame, view);
    uint32_t n = 0;
    while (payload.size() >= 2) {
        const std::size_t length = std::size_t{payload[0]} << 8 | payload[1];
        if (payload.size() - 2 < length) break;
        names_.record(scope, payload.subspan(2, length), now);
        payload = payload.subspan(2 + length);
        ++n;
    }
    unread = !payload.empty();
    return n;
}

bool dns_observer::observe(const net::ip_address& scope, const net::ip_address& remote, std::span<const uint8_t> frame,
                           const net::packet_view& view, uint32_t now_ms) noexcept {
    if (view.is_later_fragment()) return false; // no DNS header in it
    if (!from_server(remote)) {
        ++counters_.dns_not_from_server;
        return false;
    }
    bool unread = false;
    const uint32_t n = read(scope, frame, view, now_ms, unread);
    counters_.dns_responses += n;
    if (unread) ++counters_.dns_tcp_unread;
    return n != 0;
}

bool dns_observer::observe_copy(std::span<const uint8_t> frame, uint32_t now_ms) noexcept {
    net::packet_view view;
    if (net::parse_frame(frame, view) != stats::no_drop) return false;
    if ((view.proto != net::proto_udp && view.proto != net::proto_tcp) || view.src_port != dns_port) return false;
    // The owner checked the server and counted the response; a copy is counted once here.
    bool unread = false;
    if (!view.is_later_fragment()) counters_.dns_copies_learned += read(view.dst, frame, view, now_ms, unread);
    return true;
}

bool dns_observer::verified(const net::ip_address& inside, std::string_view name, const net::ip_address& destination,
                            uint32_t now_ms) noexcept {
    const uint32_t now = seconds(now_ms);
    bool ok = names_.verified(inside, name, destination, now);
    for (std::size_t i = 0; !ok && i < resolvers_.size(); ++i) ok = names_.verified(resolvers_[i], name, destination, now);
    ++(ok ? counters_.sni_verified : counters_.sni_unverified);
    return ok;
}

std::size_t dns_observer::said(const net::ip_address& inside, std::string_view name, uint32_t now_ms,
                               std::span<net::ip_address> out) noexcept {
    const uint32_t now = seconds(now_ms);
    std::size_t n = names_.addresses(inside, name, now, out);
    for (std::size_t i = 0; n < out.size() && i < resolvers_.size(); ++i)
        n += names_.addresses(resolvers_[i], name, now, out.subspan(n));
    return n;
}

resolve_result dns_observer::resolve(std::string_view name, const net::ip_address& destination,
                                     uint32_t now_ms) noexcept {
    if (resolved_.verified(own_scope, name, destination, seconds(now_ms))) {
        ++counters_.sni_verified;
        return resolve_result::verified;
    }
    const auto family = destination.is_v4() ? dns::lookup_family::v4 : dns::lookup_family::v6;
    const uint64_t hash = resolved_.name_hash(name);
    switch (lookups_.state(hash, family, now_ms)) {
    case dns::lookup_state::waiting: return resolve_result::waiting;
    case dns::lookup_state::answered: ++counters_.sni_unverified; return resolve_result::unverified;
    case dns::lookup_state::failed: return resolve_result::failed;
    case dns::lookup_state::timed_out: return resolve_result::timed_out;
    case dns::lookup_state::none: break;
    }
    dns::lookup_request request;
    if (requests_ == nullptr || !dns::make_request(name, family, request)) return resolve_result::failed;
    if (!lookups_.start(hash, family, now_ms)) {
        ++counters_.resolve_pending_full;
        return resolve_result::failed;
    }
    if (!requests_->try_push(request)) {
        ++counters_.resolve_ring_full;
        lookups_.finish(hash, family, dns::lookup_status::failed, now_ms);
        return resolve_result::failed;
    }
    ++counters_.resolve_lookups;
    return resolve_result::waiting;
}

std::size_t dns_observer::resolved(std::string_view name, uint32_t now_ms, std::span<net::ip_address> out) noexcept {
    return resolved_.addresses(own_scope, name, seconds(now_ms), out);
}

uint32_t dns_observer::take_answers(uint32_t now_ms) noexcept {
    if (answers_ == nullptr) return 0;
    uint32_t i = 0;
    for (; i < answers_per_call && answers_->pop_burst(&answer_, 1) == 1; ++i) {
        if (answer_.status == dns::lookup_status::answered)
            resolved_.record(own_scope, answer_.message(), seconds(now_ms));
        lookups_.finish(resolved_.name_hash(answer_.text()), answer_.family, answer_.status, now_ms);
        ++counters_.resolve_answers;
        if (answer_.status == dns::lookup_status::failed || answer_.status == dns::lookup_status::timed_out)
            ++counters_.resolve_failures;
    }
    return i;
}

} // namespace egress::gateway
