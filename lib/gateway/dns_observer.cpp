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

dns_observer::dns_observer(const dns_settings& s, stats::worker_counters& counters)
    : names_(s.observed, s.hash_key), resolvers_(s.inside_resolvers), servers_(s.servers), counters_(counters) {}

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

} // namespace egress::gateway
