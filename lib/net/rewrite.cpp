#include "net/rewrite.hpp"

#include "net/checksum.hpp"
#include "net/wire.hpp"

namespace egress::net {

namespace {

using namespace wire;

// Bytes of L4 header the rewrite touches (checksum and ports/identifier).
constexpr std::size_t l4_bytes_needed(uint8_t proto) noexcept {
    switch (proto) {
    case proto_tcp: return tcp_checksum_offset + 2;
    case proto_udp: return udp_checksum_offset + 2;
    case proto_icmp: return icmp_identifier_offset + 2;
    default: return 0;
    }
}

bool view_fits_ipv4(std::span<const uint8_t> frame, const packet_view& view) noexcept {
    if (view.is_later_fragment()) // the IP header only
        return view.family == ip_family::v4 && view.l4_offset >= view.l3_offset + ipv4_min_header &&
               view.l4_offset <= frame.size();
    const std::size_t needed = l4_bytes_needed(view.proto);
    return view.family == ip_family::v4 && needed != 0 && view.l4_offset >= view.l3_offset + ipv4_min_header &&
           view.l4_length >= needed && std::size_t{view.l4_offset} + needed <= frame.size();
}

enum class side : uint8_t { source, destination };

// One address and its port/identifier, with every checksum covering them.
void rewrite_ipv4_endpoint(std::span<uint8_t> frame, packet_view& view, side which, const ip_address& new_address,
                           uint16_t new_port) noexcept {
    if (!new_address.is_v4() || !view_fits_ipv4(frame, view)) return;
    const bool source = which == side::source;
    const std::size_t l3 = view.l3_offset;
    const std::size_t l4 = view.l4_offset;

    const std::size_t address_at = l3 + (source ? ipv4_src_offset : ipv4_dst_offset);
    const uint32_t old_address = load_be32(frame, address_at);
    const uint32_t address = new_address.v4();
    store_be32(frame, address_at, address);
    const std::size_t header_checksum_at = l3 + ipv4_checksum_offset;
    store_be16(frame, header_checksum_at,
               checksum_update32(load_be16(frame, header_checksum_at), old_address, address));
    (source ? view.src : view.dst) = new_address;
    if (view.is_later_fragment()) return; // the ports and L4 checksum are in the first fragment

    uint16_t& view_port = source ? view.src_port : view.dst_port;
    switch (view.proto) {
    case proto_tcp: {
        const std::size_t port_at = l4 + (source ? 0 : 2);
        const std::size_t checksum_at = l4 + tcp_checksum_offset;
        uint16_t checksum = load_be16(frame, checksum_at);
        checksum = checksum_update32(checksum, old_address, address);
        checksum = checksum_update16(checksum, load_be16(frame, port_at), new_port);
        store_be16(frame, port_at, new_port);
        store_be16(frame, checksum_at, checksum);
        view_port = new_port;
        break;
    }
    case proto_udp: {
        const std::size_t port_at = l4 + (source ? 0 : 2);
        const std::size_t checksum_at = l4 + udp_checksum_offset;
        uint16_t checksum = load_be16(frame, checksum_at);
        if (checksum != 0) { // 0: the sender sent no checksum (IPv4 only)
            checksum = checksum_update32(checksum, old_address, address);
            checksum = checksum_update16(checksum, load_be16(frame, port_at), new_port);
            store_be16(frame, checksum_at, checksum == 0 ? uint16_t{0xffff} : checksum);
        }
        store_be16(frame, port_at, new_port);
        view_port = new_port;
        break;
    }
    default: { // ICMP echo: no pseudo-header; the identifier is on one side only
        const uint8_t type_with_id_here = source ? icmp_echo_request : icmp_echo_reply;
        if (view.icmp_type != type_with_id_here) break;
        const std::size_t id_at = l4 + icmp_identifier_offset;
        const std::size_t checksum_at = l4 + icmp_checksum_offset;
        store_be16(frame, checksum_at,
                   checksum_update16(load_be16(frame, checksum_at), load_be16(frame, id_at), new_port));
        store_be16(frame, id_at, new_port);
        view_port = new_port;
        break;
    }
    }
}

} // namespace

void set_ipv4_source(std::span<uint8_t> frame, packet_view& view, const ip_address& new_src,
                     uint16_t new_src_port) noexcept {
    rewrite_ipv4_endpoint(frame, view, side::source, new_src, new_src_port);
}

void set_ipv4_destination(std::span<uint8_t> frame, packet_view& view, const ip_address& new_dst,
                          uint16_t new_dst_port) noexcept {
    rewrite_ipv4_endpoint(frame, view, side::destination, new_dst, new_dst_port);
}

} // namespace egress::net
