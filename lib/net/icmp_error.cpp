#include "net/icmp_error.hpp"

#include <algorithm>
#include <cstring>

#include "net/checksum.hpp"
#include "net/wire.hpp"

namespace egress::net {

namespace {

using namespace wire;

constexpr std::size_t icmp_header = 8;
constexpr uint8_t ipv4_dscp_cs6 = 0xc0; // network control, as routers send their errors

// Writes 16-bit words inside an ICMP message and keeps its checksum in step
// (RFC 1624). Every word the translation touches lies at an even offset from
// the ICMP header (the quote starts 8 bytes in; IP headers are multiples of 4).
class icmp_words {
public:
    icmp_words(std::span<uint8_t> frame, std::size_t icmp_at) noexcept
        : frame_(frame), checksum_at_(icmp_at + icmp_checksum_offset), checksum_(load_be16(frame, checksum_at_)) {}
    ~icmp_words() { store_be16(frame_, checksum_at_, checksum_); }
    icmp_words(const icmp_words&) = delete;
    icmp_words& operator=(const icmp_words&) = delete;

    uint16_t get(std::size_t at) const noexcept { return load_be16(frame_, at); }
    void put(std::size_t at, uint16_t value) noexcept {
        checksum_ = checksum_update16(checksum_, load_be16(frame_, at), value);
        store_be16(frame_, at, value);
    }

private:
    std::span<uint8_t> frame_;
    std::size_t checksum_at_;
    uint16_t checksum_;
};

} // namespace

void set_quoted_endpoint(std::span<uint8_t> frame, packet_view& view, quoted_side which,
                         const ip_address& new_address, uint16_t new_port) noexcept {
    quoted_packet& q = view.quoted;
    if (!view.icmp_error || view.family != ip_family::v4 || !new_address.is_v4()) return;
    if (q.l4_offset < q.l3_offset + ipv4_min_header || q.l4_present < 8 ||
        std::size_t{q.l4_offset} + q.l4_present > frame.size() || view.l4_offset + icmp_header > q.l3_offset) {
        return;
    }
    const bool source = which == quoted_side::source;
    icmp_words w(frame, view.l4_offset);

    // Address, and the quoted IP header checksum over it.
    const std::size_t address_at = q.l3_offset + (source ? ipv4_src_offset : ipv4_dst_offset);
    const uint32_t old_address = load_be32(frame, address_at);
    const uint32_t address = new_address.v4();
    const std::size_t ip_checksum_at = q.l3_offset + ipv4_checksum_offset;
    w.put(ip_checksum_at, checksum_update32(w.get(ip_checksum_at), old_address, address));
    w.put(address_at, static_cast<uint16_t>(address >> 16));
    w.put(address_at + 2, static_cast<uint16_t>(address));
    (source ? q.src : q.dst) = new_address;

    // Port or identifier, and the quoted L4 checksum where the quote holds it.
    uint16_t& view_port = source ? q.src_port : q.dst_port;
    const std::size_t l4 = q.l4_offset;
    if (q.proto == proto_tcp || q.proto == proto_udp) {
        const std::size_t port_at = l4 + (source ? 0 : 2);
        const bool tcp = q.proto == proto_tcp;
        const std::size_t checksum_at = l4 + (tcp ? tcp_checksum_offset : udp_checksum_offset);
        const bool has_checksum = tcp ? q.l4_present >= tcp_checksum_offset + 2 : w.get(checksum_at) != 0;
        if (has_checksum) {
            uint16_t checksum = checksum_update32(w.get(checksum_at), old_address, address);
            checksum = checksum_update16(checksum, w.get(port_at), new_port);
            if (!tcp && checksum == 0) checksum = 0xffff;
            w.put(checksum_at, checksum);
        }
        w.put(port_at, new_port);
        view_port = new_port;
    } else if (q.icmp_type == (source ? icmp_echo_request : icmp_echo_reply)) {
        const std::size_t id_at = l4 + icmp_identifier_offset;
        const std::size_t checksum_at = l4 + icmp_checksum_offset;
        w.put(checksum_at, checksum_update16(w.get(checksum_at), w.get(id_at), new_port));
        w.put(id_at, new_port);
        view_port = new_port;
    }
}

bool icmp_error_forbidden(std::span<const uint8_t> frame, const packet_view& view) noexcept {
    if (view.icmp_error) return true;
    if (view.is_later_fragment()) return true; // RFC 1812 4.3.2.7: only about a first fragment
    if (frame.empty() || (frame[0] & 0x01) != 0) return true; // group MAC (broadcast or multicast)
    if (view.family == ip_family::v4) {
        const uint32_t dst = view.dst.v4();
        return dst == 0xffffffffu || (dst >> 28) == 0xe;
    }
    return view.dst.bytes[0] == 0xff;
}

std::size_t build_icmp_error(std::span<uint8_t> out, std::span<const uint8_t> frame, const packet_view& view,
                             const icmp_error_spec& spec) noexcept {
    const bool v4 = view.family == ip_family::v4;
    if (spec.source.is_v4() != v4) return 0;
    const std::size_t l2 = view.l3_offset;
    if (l2 < 14 || std::size_t{view.l3_offset} + view.l3_length > frame.size()) return 0;
    const std::size_t ip_header = v4 ? ipv4_min_header : ipv6_header;
    const std::size_t limit = v4 ? icmp_error_max_ipv4 : icmp_error_max_ipv6;
    const std::size_t quote = std::min<std::size_t>(view.l3_length, limit - ip_header - icmp_header);
    const std::size_t ip_length = ip_header + icmp_header + quote;
    if (out.size() < l2 + ip_length) return 0;

    std::memcpy(out.data(), frame.data(), l2); // Ethernet header and VLAN tags as they came
    std::memcpy(out.data(), spec.dst_mac.bytes.data(), 6);
    std::memcpy(out.data() + 6, spec.src_mac.bytes.data(), 6);

    uint8_t* ip = out.data() + l2;
    std::memset(ip, 0, ip_header + icmp_header);
    if (v4) {
        ip[0] = 0x45;
        ip[1] = ipv4_dscp_cs6;
        store_be16(out, l2 + 2, static_cast<uint16_t>(ip_length));
        ip[8] = spec.hop_limit;
        ip[9] = proto_icmp;
        const uint32_t src = spec.source.v4();
        const uint32_t dst = view.src.v4();
        for (int i = 0; i < 4; ++i) {
            ip[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
            ip[16 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
        }
    } else {
        ip[0] = 0x60;
        store_be16(out, l2 + 4, static_cast<uint16_t>(icmp_header + quote));
        ip[6] = proto_icmpv6;
        ip[7] = spec.hop_limit;
        std::memcpy(ip + 8, spec.source.bytes.data(), 16);
        std::memcpy(ip + 24, view.src.bytes.data(), 16);
    }
    uint8_t* icmp = ip + ip_header;
    icmp[0] = spec.type;
    icmp[1] = spec.code;
    for (int i = 0; i < 4; ++i) icmp[4 + i] = static_cast<uint8_t>(spec.rest >> (24 - 8 * i));
    std::memcpy(icmp + icmp_header, frame.data() + view.l3_offset, quote);

    packet_view built;
    built.family = view.family;
    built.proto = v4 ? proto_icmp : proto_icmpv6;
    built.l3_offset = static_cast<uint16_t>(l2);
    built.l4_offset = static_cast<uint16_t>(l2 + ip_header);
    built.l3_length = static_cast<uint16_t>(ip_length);
    built.l4_length = static_cast<uint16_t>(icmp_header + quote);
    const std::span<uint8_t> result = out.first(l2 + ip_length);
    recompute_checksums(result, built);
    return result.size();
}

} // namespace egress::net
