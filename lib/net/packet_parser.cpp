#include "net/packet_parser.hpp"

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "net/byte_cursor.hpp"
#include "net/checksum.hpp"
#include "net/wire.hpp"

namespace egress::net {

namespace {

using stats::drop_reason;

constexpr std::size_t mac_pair_length = 12;
constexpr std::size_t tcp_min_header = 20;
constexpr std::size_t udp_header = 8;

constexpr uint8_t ipv4_option_eol = 0;
constexpr uint8_t ipv4_option_nop = 1;
constexpr uint16_t ipv4_more_fragments_and_offset = 0x3fff;
constexpr uint16_t ipv4_dont_fragment = 0x4000;
constexpr uint16_t ipv4_more_fragments = 0x2000;
constexpr uint16_t ipv4_offset_mask = 0x1fff;

constexpr uint8_t ipv6_hop_by_hop = 0;
constexpr uint8_t ipv6_routing = 43;
constexpr uint8_t ipv6_fragment_header = 44;
constexpr uint8_t ipv6_destination_options = 60;


// Ethernet header and VLAN tags; leaves `c` at the L3 header.
drop_reason parse_l2(byte_cursor& c, packet_view& out, uint16_t& ethertype) noexcept {
    if (!c.skip(mac_pair_length) || !c.read_be16(ethertype)) return drop_reason::l2_truncated;
    for (std::size_t tags = 0; ethertype == ethertype_vlan || (tags == 0 && ethertype == ethertype_qinq); ++tags) {
        if (tags == max_vlan_tags) return drop_reason::ethertype_unsupported;
        if (!c.read_be16(out.vlan_tci) || !c.read_be16(ethertype)) return drop_reason::vlan_truncated;
        out.has_vlan = true;
    }
    return stats::no_drop;
}

bool ipv4_options_valid(byte_cursor options) noexcept {
    uint8_t type = 0;
    while (options.read_u8(type)) {
        if (type == ipv4_option_eol) return true; // the rest is padding
        if (type == ipv4_option_nop) continue;
        uint8_t length = 0;
        if (!options.read_u8(length) || length < 2 || !options.skip(length - 2u)) return false;
    }
    return true;
}

bool ipv4_source_valid(uint32_t a) noexcept {
    return a != 0 && a != 0xffffffffu && (a >> 28) != 0xe;
}

bool all_zero(std::span<const uint8_t> bytes) noexcept {
    for (const uint8_t b : bytes) {
        if (b != 0) return false;
    }
    return true;
}

// Neither unspecified nor IPv4-mapped (which would alias an IPv4 ip_address).
bool ipv6_unicast_like(const ip_address& a) noexcept {
    return !a.is_v4() && !all_zero(a.bytes);
}

// IPv4 header at the front of `c`; on success `l4` spans the L4 bytes of the datagram.
drop_reason parse_ipv4(const byte_cursor& c, packet_view& out, byte_cursor& l4, l3_checksum device) noexcept {
    byte_cursor h = c;
    uint8_t version_ihl = 0;
    uint16_t total_length = 0;
    uint16_t identification = 0;
    uint16_t fragment = 0;
    uint32_t src = 0;
    uint32_t dst = 0;
    const bool complete = h.read_u8(version_ihl) && h.skip(1) && h.read_be16(total_length) &&
                          h.read_be16(identification) &&
                          h.read_be16(fragment) && h.read_u8(out.ttl) && h.read_u8(out.proto) && h.skip(2) &&
                          h.read_be32(src) && h.read_be32(dst);
    if (!complete) return drop_reason::ipv4_truncated;

    const std::size_t header_length = std::size_t{version_ihl & 0x0fu} * 4;
    if ((version_ihl >> 4) != 4 || header_length < ipv4_min_header) return drop_reason::ipv4_bad_header;
    if (!c.has(header_length)) return drop_reason::ipv4_truncated;
    if (device != l3_checksum::device_good && fold(ones_sum(c.peek(header_length))) != 0xffff)
        return drop_reason::ipv4_bad_checksum;
    if (total_length < header_length || !c.has(total_length)) return drop_reason::ipv4_bad_length;

    byte_cursor datagram(c.peek(total_length));
    byte_cursor options(datagram);
    // Options are checked only where there are some: the call with its cursor
    // copy cost ~10 clocks on every 20-byte header (perf, egress-bench --same-core).
    if (!datagram.skip(ipv4_min_header) || !datagram.sub(header_length - ipv4_min_header, options) ||
        (header_length != ipv4_min_header && !ipv4_options_valid(options))) {
        return drop_reason::ipv4_bad_options;
    }
    datagram.skip(header_length - ipv4_min_header);
    if ((fragment & ipv4_more_fragments_and_offset) != 0) {
        // A fragment: non-empty, a multiple of 8 bytes unless it is the last,
        // and not reaching past the largest possible datagram.
        const std::size_t data_length = total_length - header_length;
        const std::size_t offset = static_cast<std::size_t>(fragment & ipv4_offset_mask) * 8;
        const bool more = (fragment & ipv4_more_fragments) != 0;
        if (data_length == 0 || (more && data_length % 8 != 0) || header_length + offset + data_length > 0xffff)
            return drop_reason::ipv4_bad_fragment;
        out.fragment = static_cast<uint8_t>(fragment_present | (more ? fragment_more : 0));
        out.frag_offset = static_cast<uint16_t>(offset);
        out.frag_length = static_cast<uint16_t>(data_length);
        out.frag_id = identification;
    }
    out.dont_fragment = (fragment & ipv4_dont_fragment) != 0;

    out.family = ip_family::v4;
    out.src = ip_address::from_v4(src);
    out.dst = ip_address::from_v4(dst);
    if (!ipv4_source_valid(src) || dst == 0) return drop_reason::bad_address;
    if (out.proto != proto_tcp && out.proto != proto_udp && out.proto != proto_icmp) {
        return drop_reason::l4_proto_unsupported;
    }
    out.l3_length = total_length;
    out.l4_offset = static_cast<uint16_t>(out.l3_offset + header_length);
    out.l4_length = static_cast<uint16_t>(total_length - header_length);
    l4 = datagram;
    return stats::no_drop;
}

bool is_ipv6_extension(uint8_t next_header) noexcept {
    return next_header == ipv6_hop_by_hop || next_header == ipv6_routing || next_header == ipv6_destination_options;
}

// The IPv6 Fragment header at the front of `payload` (RFC 8200 4.5); leaves
// `payload` after it and next_header at the header that follows. An atomic
// fragment (offset 0, M clear: RFC 6946) is treated as a whole datagram.
drop_reason parse_ipv6_fragment(byte_cursor& payload, packet_view& out, uint8_t& next_header) noexcept {
    uint16_t offset_flags = 0;
    uint32_t identification = 0;
    if (!payload.read_u8(next_header) || !payload.skip(1) || !payload.read_be16(offset_flags) ||
        !payload.read_be32(identification))
        return drop_reason::ipv6_bad_fragment;
    const std::size_t offset = offset_flags & 0xfff8u;
    const bool more = (offset_flags & 1u) != 0;
    if (offset == 0 && !more) return stats::no_drop;
    const std::size_t data_length = payload.remaining();
    if (data_length == 0 || (more && data_length % 8 != 0) || offset + data_length > 0xffff)
        return drop_reason::ipv6_bad_fragment;
    out.fragment = static_cast<uint8_t>(fragment_present | (more ? fragment_more : 0));
    out.frag_offset = static_cast<uint16_t>(offset);
    out.frag_length = static_cast<uint16_t>(data_length);
    out.frag_id = identification;
    return stats::no_drop;
}

// A Routing header (its 8 bytes are known to be there). Type 0 (RFC 5095:
// deprecated, an amplification and filter-evasion tool) is refused outright.
// Any other with segments left names a later destination than the header's:
// policy would be checked against a hop, not the final destination, so it is
// refused too; with none left the header's destination is the final one and
// the header is ignored, as RFC 8200 §4.4 says a node does.
drop_reason check_routing_header(byte_cursor h) noexcept {
    uint8_t type = 0;
    uint8_t segments_left = 0;
    if (!h.skip(2) || !h.read_u8(type) || !h.read_u8(segments_left)) return drop_reason::ipv6_ext_header_malformed;
    if (type == 0) return drop_reason::ipv6_routing_type0;
    if (segments_left != 0) return drop_reason::ipv6_source_routed;
    return stats::no_drop;
}

// IPv6 header and extension chain at the front of `c`; on success `l4` spans the
// upper-layer bytes of the datagram.
drop_reason parse_ipv6(const byte_cursor& c, packet_view& out, byte_cursor& l4) noexcept {
    byte_cursor h = c;
    uint32_t version_class_flow = 0;
    uint16_t payload_length = 0;
    uint8_t next_header = 0;
    const bool fixed = h.read_be32(version_class_flow) && h.read_be16(payload_length) && h.read_u8(next_header) &&
                       h.read_u8(out.ttl);
    const auto src = h.take(16);
    const auto dst = h.take(16);
    if (!fixed || src.empty() || dst.empty()) return drop_reason::ipv6_truncated;
    if ((version_class_flow >> 28) != 6) return drop_reason::ipv6_bad_header;
    const std::size_t total_length = ipv6_header + payload_length;
    if (!c.has(total_length) || total_length > 0xffff) return drop_reason::ipv6_bad_length;

    byte_cursor payload(h.peek(payload_length));
    bool fragment_seen = false;
    for (std::size_t count = 1; is_ipv6_extension(next_header) || next_header == ipv6_fragment_header; ++count) {
        if (count > max_ipv6_ext_headers) return drop_reason::ipv6_ext_chain_too_long;
        if (next_header == ipv6_hop_by_hop && count != 1) return drop_reason::ipv6_ext_header_malformed;
        if (next_header == ipv6_fragment_header) {
            if (fragment_seen) return drop_reason::ipv6_bad_fragment; // one Fragment header per packet
            fragment_seen = true;
            if (const drop_reason r = parse_ipv6_fragment(payload, out, next_header); r != stats::no_drop) return r;
            if (out.is_later_fragment()) break; // no header chain in this fragment, just data
            continue;
        }
        const uint8_t kind = next_header;
        const byte_cursor header = payload;
        uint8_t units = 0; // header length in 8-octet units, not counting the first 8
        if (!payload.read_u8(next_header) || !payload.read_u8(units) || !payload.skip(std::size_t{units} * 8 + 6)) {
            // A first fragment must carry the whole header chain (RFC 7112).
            return out.is_fragment() ? drop_reason::fragment_tiny_first : drop_reason::ipv6_ext_header_malformed;
        }
        if (kind == ipv6_routing)
            if (const drop_reason r = check_routing_header(header); r != stats::no_drop) return r;
    }

    out.family = ip_family::v6;
    out.proto = next_header;
    out.src = ip_address::from_v6_bytes(src.data());
    out.dst = ip_address::from_v6_bytes(dst.data());
    if (src[0] == 0xff || !ipv6_unicast_like(out.src) || !ipv6_unicast_like(out.dst)) return drop_reason::bad_address;
    if (out.is_later_fragment()) { // the upper layer is in the first fragment only
        out.l3_length = static_cast<uint16_t>(total_length);
        out.l4_offset = static_cast<uint16_t>(out.l3_offset + ipv6_header + payload.offset());
        out.l4_length = static_cast<uint16_t>(payload.remaining());
        return stats::no_drop;
    }
    if (next_header != proto_tcp && next_header != proto_udp && next_header != proto_icmpv6) {
        return drop_reason::l4_proto_unsupported;
    }
    out.l3_length = static_cast<uint16_t>(total_length);
    out.l4_offset = static_cast<uint16_t>(out.l3_offset + ipv6_header + payload.offset());
    out.l4_length = static_cast<uint16_t>(payload.remaining());
    l4 = payload;
    return stats::no_drop;
}

drop_reason parse_tcp(byte_cursor c, packet_view& out) noexcept {
    uint8_t data_offset = 0;
    const bool complete = c.read_be16(out.src_port) && c.read_be16(out.dst_port) && c.skip(8) &&
                          c.read_u8(data_offset) && c.read_u8(out.tcp_flags) && c.skip(6);
    // A first fragment must hold the whole TCP header, options included (RFC 1858).
    if (!complete) return out.is_fragment() ? drop_reason::fragment_tiny_first : drop_reason::tcp_truncated;
    const std::size_t header_length = (std::size_t{data_offset} >> 4) * 4;
    if (header_length < tcp_min_header) return drop_reason::tcp_bad_offset;
    if (header_length > out.l4_length)
        return out.is_fragment() ? drop_reason::fragment_tiny_first : drop_reason::tcp_bad_offset;
    return stats::no_drop;
}

drop_reason parse_udp(byte_cursor c, packet_view& out) noexcept {
    uint16_t length = 0;
    if (!c.read_be16(out.src_port) || !c.read_be16(out.dst_port) || !c.read_be16(length) || !c.skip(2)) {
        return out.is_fragment() ? drop_reason::fragment_tiny_first : drop_reason::udp_truncated;
    }
    // A first fragment carries only the start of the datagram its length covers.
    const bool fits = out.is_fragment() ? length > out.l4_length : length <= out.l4_length;
    if (length < udp_header || !fits) return drop_reason::udp_bad_length;
    return stats::no_drop;
}

constexpr std::size_t icmp_header = 8;
constexpr std::size_t quoted_l4_minimum = 8;

bool is_icmp_error(bool v4, uint8_t type) noexcept {
    if (v4) return type == icmp_dest_unreachable || type == icmp_time_exceeded || type == icmp_parameter_problem;
    return type == icmpv6_dest_unreachable || type == icmpv6_packet_too_big || type == icmpv6_time_exceeded ||
           type == icmpv6_parameter_problem;
}

// Echo identifier placed on the initiator's side (see packet_view); false for any
// other ICMP type.
bool place_echo_identifier(bool v4, uint8_t type, uint16_t identifier, uint16_t& src_port,
                           uint16_t& dst_port) noexcept {
    if (type == (v4 ? icmp_echo_request : icmpv6_echo_request)) {
        src_port = identifier;
    } else if (type == (v4 ? icmp_echo_reply : icmpv6_echo_reply)) {
        dst_port = identifier;
    } else {
        return false;
    }
    return true;
}

// The quoted IPv4 header at the front of `q`; `l4` spans the quoted L4 bytes
// present (never more than the quoted header's total length allows).
bool parse_quoted_ipv4(byte_cursor q, quoted_packet& out, byte_cursor& l4) noexcept {
    const byte_cursor start = q;
    uint8_t version_ihl = 0;
    uint16_t total_length = 0;
    uint16_t fragment = 0;
    uint32_t src = 0;
    uint32_t dst = 0;
    if (!(q.read_u8(version_ihl) && q.skip(1) && q.read_be16(total_length) && q.skip(2) && q.read_be16(fragment) &&
          q.skip(1) && q.read_u8(out.proto) && q.skip(2) && q.read_be32(src) && q.read_be32(dst))) {
        return false;
    }
    const std::size_t header_length = std::size_t{version_ihl & 0x0fu} * 4;
    if ((version_ihl >> 4) != 4 || header_length < ipv4_min_header || total_length < header_length) return false;
    byte_cursor options(std::span<const uint8_t>{});
    if (!q.sub(header_length - ipv4_min_header, options) || !ipv4_options_valid(options)) return false;
    q.skip(header_length - ipv4_min_header);
    if ((fragment & ipv4_offset_mask) != 0) return false; // a later fragment: no ports to match
    out.src = ip_address::from_v4(src);
    out.dst = ip_address::from_v4(dst);
    const std::size_t l4_length = total_length - header_length;
    l4 = byte_cursor(q.peek(l4_length < q.remaining() ? l4_length : q.remaining()));
    out.l4_offset = static_cast<uint16_t>(out.l3_offset + (q.offset() - start.offset()));
    return true;
}

bool parse_quoted_ipv6(byte_cursor q, quoted_packet& out, byte_cursor& l4) noexcept {
    uint32_t version_class_flow = 0;
    uint16_t payload_length = 0;
    uint8_t next_header = 0;
    if (!(q.read_be32(version_class_flow) && q.read_be16(payload_length) && q.read_u8(next_header) && q.skip(1))) {
        return false;
    }
    const auto src = q.take(16);
    const auto dst = q.take(16);
    if (src.empty() || dst.empty() || (version_class_flow >> 28) != 6) return false;
    byte_cursor payload(q.peek(payload_length < q.remaining() ? payload_length : q.remaining()));
    for (std::size_t count = 1;; ++count) {
        if (count > max_ipv6_ext_headers) return false;
        if (next_header == ipv6_fragment_header) {
            uint16_t offset_flags = 0;
            if (!payload.read_u8(next_header) || !payload.skip(1) || !payload.read_be16(offset_flags) ||
                !payload.skip(4) || (offset_flags >> 3) != 0) {
                return false; // truncated, or a later fragment: no ports to match
            }
            continue;
        }
        if (!is_ipv6_extension(next_header)) break;
        if (next_header == ipv6_hop_by_hop && count != 1) return false;
        uint8_t units = 0;
        if (!payload.read_u8(next_header) || !payload.read_u8(units) || !payload.skip(std::size_t{units} * 8 + 6)) {
            return false;
        }
    }
    out.proto = next_header;
    out.src = ip_address::from_v6_bytes(src.data());
    out.dst = ip_address::from_v6_bytes(dst.data());
    out.l4_offset = static_cast<uint16_t>(out.l3_offset + ipv6_header + payload.offset());
    l4 = byte_cursor(payload.peek(payload.remaining()));
    return true;
}

// The quoted packet of an ICMP error: its IP header (same family as the error)
// and at least 8 bytes of TCP / UDP / echo. An error quoting an error, a later
// fragment, or a length field that contradicts the bytes is refused.
drop_reason parse_quoted(byte_cursor q, packet_view& out) noexcept {
    quoted_packet& inner = out.quoted;
    inner = quoted_packet{};
    inner.l3_offset = static_cast<uint16_t>(out.l4_offset + icmp_header);
    const bool v4 = out.family == ip_family::v4;
    byte_cursor l4(std::span<const uint8_t>{});
    if (!(v4 ? parse_quoted_ipv4(q, inner, l4) : parse_quoted_ipv6(q, inner, l4))) {
        return drop_reason::icmp_quote_malformed;
    }
    if (!l4.has(quoted_l4_minimum)) return drop_reason::icmp_quote_malformed;
    inner.l4_present = static_cast<uint16_t>(l4.remaining());
    if (inner.proto == proto_tcp || inner.proto == proto_udp) {
        l4.read_be16(inner.src_port);
        l4.read_be16(inner.dst_port);
        return stats::no_drop;
    }
    uint16_t identifier = 0;
    if (inner.proto != (v4 ? proto_icmp : proto_icmpv6) || !l4.read_u8(inner.icmp_type) || !l4.skip(3) ||
        !l4.read_be16(identifier) ||
        !place_echo_identifier(v4, inner.icmp_type, identifier, inner.src_port, inner.dst_port)) {
        return drop_reason::icmp_quote_malformed;
    }
    return stats::no_drop;
}

drop_reason parse_icmp(byte_cursor c, packet_view& out) noexcept {
    uint16_t identifier = 0;
    if (!c.read_u8(out.icmp_type) || !c.read_u8(out.icmp_code) || !c.skip(2) || !c.read_be16(identifier) ||
        !c.skip(2)) {
        return out.is_fragment() ? drop_reason::fragment_tiny_first : drop_reason::icmp_truncated;
    }
    const bool v4 = out.proto == proto_icmp;
    if (place_echo_identifier(v4, out.icmp_type, identifier, out.src_port, out.dst_port)) return stats::no_drop;
    if (!is_icmp_error(v4, out.icmp_type)) return drop_reason::icmp_type_unsupported;
    out.icmp_error = true;
    return parse_quoted(c, out);
}

// Every member back to its default but the quote (see packet_view::quoted):
// a fixed-size clear the compiler inlines, not a whole packet_view per packet.
inline void clear_view(packet_view& out) noexcept {
    static_assert(std::is_standard_layout_v<packet_view> && std::is_trivially_copyable_v<packet_view>);
    std::memset(static_cast<void*>(&out), 0, offsetof(packet_view, quoted));
    out.family = ip_family::v4;
}

// Every frame the fast path does not take: byte by byte through byte_cursor.
drop_reason parse_general(std::span<const uint8_t> frame, packet_view& out, l3_checksum device) noexcept {
    byte_cursor c(frame);
    uint16_t ethertype = 0;
    if (const auto r = parse_l2(c, out, ethertype); r != stats::no_drop) return r;
    out.l3_offset = static_cast<uint16_t>(c.offset());

    byte_cursor l4(std::span<const uint8_t>{});
    drop_reason r = stats::no_drop;
    if (ethertype == ethertype_ipv4) {
        r = parse_ipv4(c, out, l4, device);
    } else if (ethertype == ethertype_ipv6) {
        r = parse_ipv6(c, out, l4);
    } else {
        return drop_reason::ethertype_unsupported;
    }
    if (r != stats::no_drop) return r;
    if (out.is_later_fragment()) return stats::no_drop; // its L4 header is in the first fragment

    switch (out.proto) {
    case proto_tcp: return parse_tcp(l4, out);
    case proto_udp: return parse_udp(l4, out);
    default: return parse_icmp(l4, out);
    }
}

// The one's-complement sum of a 20-byte IPv4 header is 0xffff (valid). The
// five 32-bit words are summed as loaded (any byte order: 0xffff reads the
// same both ways), folded to 32 bits and then by checksum.hpp's fold: a fixed
// handful of instructions instead of the general ones_sum loop.
bool ipv4_header_sum_valid(const uint8_t* h) noexcept {
    uint64_t sum = 0;
    for (int i = 0; i < 5; ++i) {
        uint32_t word = 0;
        std::memcpy(&word, h + 4 * i, sizeof word);
        sum += word;
    }
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    return fold(static_cast<uint32_t>(sum)) == 0xffff;
}

// The frame almost every packet is: untagged Ethernet, a 20-byte IPv4 header,
// not a fragment, TCP or UDP with its header all there, every check the
// general parse makes passing. Read at fixed offsets after one length check;
// fills `out` exactly as the general parse does (tests/fuzz/parse_fuzz.cpp
// and the unit tests compare the two). Anything else, including every frame
// the general parse would refuse, returns false before it writes anything
// and goes the general way, which names the reason.
[[gnu::always_inline]] inline bool parse_plain_ipv4(std::span<const uint8_t> frame, packet_view& out,
                                                    l3_checksum device) noexcept {
    constexpr std::size_t l3 = 14;
    constexpr std::size_t l4 = l3 + ipv4_min_header;
    if (frame.size() < l4 + udp_header) return false;
    const uint8_t* f = frame.data();
    if (f[12] != 0x08 || f[13] != 0x00 || f[l3] != 0x45) return false;
    const uint16_t total_length = static_cast<uint16_t>(f[l3 + 2] << 8 | f[l3 + 3]);
    const uint16_t fragment = static_cast<uint16_t>(f[l3 + 6] << 8 | f[l3 + 7]);
    const uint8_t proto = f[l3 + 9];
    if ((fragment & ipv4_more_fragments_and_offset) != 0 || (proto != proto_tcp && proto != proto_udp)) return false;
    if (total_length < ipv4_min_header + udp_header || total_length > frame.size() - l3) return false;
    const std::size_t l4_length = total_length - ipv4_min_header;
    const uint32_t src = wire::load_be32(frame, l3 + 12);
    const uint32_t dst = wire::load_be32(frame, l3 + 16);
    if (!ipv4_source_valid(src) || dst == 0) return false;
    if (device != l3_checksum::device_good && !ipv4_header_sum_valid(f + l3)) return false;
    if (proto == proto_udp) {
        const uint16_t length = static_cast<uint16_t>(f[l4 + 4] << 8 | f[l4 + 5]);
        if (length < udp_header || length > l4_length) return false;
    } else {
        if (l4_length < tcp_min_header) return false;
        const std::size_t header_length = std::size_t{f[l4 + 12]} >> 4 << 2;
        if (header_length < tcp_min_header || header_length > l4_length) return false;
        out.tcp_flags = f[l4 + 13];
    }
    out.l3_offset = l3;
    out.l4_offset = l4;
    out.l3_length = total_length;
    out.l4_length = static_cast<uint16_t>(l4_length);
    out.proto = proto;
    out.ttl = f[l3 + 8];
    out.src = ip_address::from_v4(src);
    out.dst = ip_address::from_v4(dst);
    out.src_port = static_cast<uint16_t>(f[l4] << 8 | f[l4 + 1]);
    out.dst_port = static_cast<uint16_t>(f[l4 + 2] << 8 | f[l4 + 3]);
    out.dont_fragment = (fragment & ipv4_dont_fragment) != 0;
    return true;
}

} // namespace

stats::drop_reason parse_frame(std::span<const uint8_t> frame, packet_view& out, l3_checksum device) noexcept {
    clear_view(out);
    if (parse_plain_ipv4(frame, out, device)) return stats::no_drop;
    return parse_general(frame, out, device);
}

stats::drop_reason parse_frame_general(std::span<const uint8_t> frame, packet_view& out, l3_checksum device) noexcept {
    clear_view(out);
    return parse_general(frame, out, device);
}

} // namespace egress::net
