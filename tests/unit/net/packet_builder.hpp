// A small fluent builder for test frames, shared by every test that needs packets.
//
//   auto frame = frame_builder()
//                    .eth(mac("02:00:00:00:00:01"), mac("02:00:00:00:00:02"))
//                    .vlan(100)
//                    .ipv4("10.0.0.1", "198.51.100.7").ttl(64)
//                    .tcp(40000, 443, net::tcp_syn)
//                    .payload("hello")
//                    .build();
//
// Layers: Ethernet (default MACs if eth() is not called), any number of VLAN tags,
// then IPv4 (with options, fragment field) or IPv6 (with extension headers), then
// TCP, UDP, ICMP/ICMPv6 (family-aware) or raw bytes of any protocol, then payload
// and optional trailing Ethernet padding. Lengths and all checksums are computed
// here, independently of lib/net/checksum, so tests of the library have an oracle.
// Misuse (a TCP header without an IP layer, ...) throws std::logic_error.
//
// Helpers below (be16, put16, fix_ipv4_checksum, ...) let a test corrupt one field
// of a built frame and keep the rest consistent.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "net/ip_address.hpp"
#include "net/packet_view.hpp"

namespace egress::test {

using bytes = std::vector<uint8_t>;

inline net::ip_address ip(std::string_view text) {
    const auto a = net::ip_address::parse(text);
    if (!a) throw std::invalid_argument("bad ip address in test: " + std::string(text));
    return *a;
}

inline net::mac_address mac(std::string_view text) {
    const auto m = net::mac_address::parse(text);
    if (!m) throw std::invalid_argument("bad mac address in test: " + std::string(text));
    return *m;
}

inline uint16_t be16(std::span<const uint8_t> b, std::size_t at) {
    return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}
inline void put16(std::span<uint8_t> b, std::size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
inline void put32(std::span<uint8_t> b, std::size_t at, uint32_t v) {
    put16(b, at, static_cast<uint16_t>(v >> 16));
    put16(b, at + 2, static_cast<uint16_t>(v));
}

// RFC 1071, written out plainly: the oracle for the library's checksum code.
inline uint16_t internet_checksum(std::span<const uint8_t> data, uint64_t initial = 0) {
    uint64_t sum = initial;
    for (std::size_t i = 0; i < data.size(); i += 2) {
        sum += uint64_t{data[i]} << 8;
        if (i + 1 < data.size()) sum += data[i + 1];
    }
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

// Recomputes the IPv4 header checksum of the header at l3_offset (after a test
// changed a header field on purpose).
inline void fix_ipv4_checksum(bytes& frame, std::size_t l3_offset) {
    const std::size_t header_length = std::size_t{frame.at(l3_offset) & 0x0fu} * 4;
    put16(frame, l3_offset + 10, 0);
    put16(frame, l3_offset + 10,
          internet_checksum(std::span<const uint8_t>(frame).subspan(l3_offset, header_length)));
}

inline constexpr uint8_t ipv6_hop_by_hop = 0;
inline constexpr uint8_t ipv6_routing = 43;
inline constexpr uint8_t ipv6_fragment = 44;
inline constexpr uint8_t ipv6_no_next_header = 59;
inline constexpr uint8_t ipv6_destination_options = 60;

class frame_builder {
public:
    frame_builder& eth(const net::mac_address& src, const net::mac_address& dst) {
        src_mac_ = src;
        dst_mac_ = dst;
        return *this;
    }
    // Pushes a tag; call twice for QinQ (outer first, e.g. vlan(10, 0x88a8).vlan(20)).
    frame_builder& vlan(uint16_t tci, uint16_t tpid = net::ethertype_vlan) {
        tags_.push_back({tpid, tci});
        return *this;
    }
    // An explicit ethertype: with no IP layer, the payload follows it directly
    // (0x0800 if none is given, for hand-made IPv4 bytes);
    // with one, it overrides the IP ethertype (to mislabel a header).
    frame_builder& ethertype(uint16_t type) {
        ethertype_ = type;
        return *this;
    }

    frame_builder& ipv4(const net::ip_address& src, const net::ip_address& dst) {
        family_ = net::ip_family::v4;
        src_ip_ = src;
        dst_ip_ = dst;
        return *this;
    }
    frame_builder& ipv4(std::string_view src, std::string_view dst) { return ipv4(ip(src), ip(dst)); }
    frame_builder& ipv6(const net::ip_address& src, const net::ip_address& dst) {
        family_ = net::ip_family::v6;
        src_ip_ = src;
        dst_ip_ = dst;
        return *this;
    }
    frame_builder& ipv6(std::string_view src, std::string_view dst) { return ipv6(ip(src), ip(dst)); }

    // IPv4 TTL or IPv6 hop limit.
    frame_builder& ttl(uint8_t value) {
        ttl_ = value;
        return *this;
    }
    frame_builder& tos(uint8_t value) {
        tos_ = value;
        return *this;
    }
    frame_builder& ip_id(uint16_t value) {
        ip_id_ = value;
        return *this;
    }
    // The IPv4 flags + fragment offset field as on the wire (0x4000 = DF, 0x2000 = MF).
    frame_builder& ipv4_fragment_field(uint16_t value) {
        fragment_field_ = value;
        return *this;
    }
    // Raw IPv4 option bytes, padded with EOL (0) to a multiple of 4.
    frame_builder& ipv4_options(bytes options) {
        ipv4_options_ = std::move(options);
        return *this;
    }
    // Appends an IPv6 extension header of type `next_header_type` (0, 43, 44, 60, ...)
    // whose hdr ext len field is `length_units` ((length_units + 1) * 8 bytes). The
    // body is PadN padding for options headers and zeros otherwise. A fragment
    // header (44) is always 8 bytes: offset 0, M clear.
    frame_builder& ipv6_ext(uint8_t type, uint8_t length_units = 0) {
        ext_headers_.push_back({type, type == ipv6_fragment ? uint8_t{0} : length_units});
        return *this;
    }

    frame_builder& tcp(uint16_t sport, uint16_t dport, uint8_t flags = net::tcp_syn) {
        set_l4(l4_kind::tcp);
        sport_ = sport;
        dport_ = dport;
        tcp_flags_ = flags;
        return *this;
    }
    frame_builder& tcp_seq(uint32_t seq, uint32_t ack = 0) {
        seq_ = seq;
        ack_ = ack;
        ack_set_ = true;
        return *this;
    }
    frame_builder& tcp_window(uint16_t window) {
        window_ = window;
        return *this;
    }
    // Raw TCP option bytes, padded with EOL to a multiple of 4.
    frame_builder& tcp_options(bytes options) {
        tcp_options_ = std::move(options);
        return *this;
    }
    frame_builder& udp(uint16_t sport, uint16_t dport) {
        set_l4(l4_kind::udp);
        sport_ = sport;
        dport_ = dport;
        return *this;
    }
    // Sends UDP with checksum 0 ("no checksum", IPv4 only).
    frame_builder& udp_zero_checksum() {
        udp_zero_checksum_ = true;
        return *this;
    }
    // ICMP over IPv4 or ICMPv6 over IPv6, by the family chosen. `rest` is the
    // second 32-bit word (identifier and sequence for echo).
    frame_builder& icmp(uint8_t type, uint8_t code = 0, uint32_t rest = 0) {
        set_l4(l4_kind::icmp);
        icmp_type_ = type;
        icmp_code_ = code;
        icmp_rest_ = rest;
        icmp_echo_ = echo::none;
        return *this;
    }
    frame_builder& echo_request(uint16_t id, uint16_t seq = 1) {
        icmp(0, 0, (uint32_t{id} << 16) | seq);
        icmp_echo_ = echo::request;
        return *this;
    }
    frame_builder& echo_reply(uint16_t id, uint16_t seq = 1) {
        icmp(0, 0, (uint32_t{id} << 16) | seq);
        icmp_echo_ = echo::reply;
        return *this;
    }
    // Any upper-layer protocol as raw bytes (no checksum is computed).
    frame_builder& l4_raw(uint8_t proto, bytes content) {
        set_l4(l4_kind::raw);
        raw_proto_ = proto;
        raw_l4_ = std::move(content);
        return *this;
    }

    frame_builder& payload(bytes data) {
        payload_ = std::move(data);
        return *this;
    }
    frame_builder& payload(std::string_view text) { return payload(bytes(text.begin(), text.end())); }
    // `size` bytes of a recognisable pattern.
    frame_builder& payload_size(std::size_t size) {
        payload_.resize(size);
        for (std::size_t i = 0; i < size; ++i) payload_[i] = static_cast<uint8_t>(i * 7 + 1);
        return *this;
    }
    // Trailing Ethernet padding: zeros after the datagram up to `min_frame_size`.
    frame_builder& pad_to(std::size_t min_frame_size) {
        pad_to_ = min_frame_size;
        return *this;
    }

    // Offsets the built frame will have (valid once the layers are chosen).
    std::size_t l3_offset() const { return 14 + 4 * tags_.size(); }
    std::size_t l4_offset() const {
        if (family_ == net::ip_family::v4) return l3_offset() + 20 + padded4(ipv4_options_).size();
        std::size_t n = l3_offset() + 40;
        for (const auto& e : ext_headers_) n += (std::size_t{e.length_units} + 1) * 8;
        return n;
    }

    bytes build() const {
        bytes frame;
        const auto dst = dst_mac_.value_or(mac("02:00:00:00:00:02")).bytes;
        const auto src = src_mac_.value_or(mac("02:00:00:00:00:01")).bytes;
        frame.insert(frame.end(), dst.begin(), dst.end());
        frame.insert(frame.end(), src.begin(), src.end());
        for (const auto& t : tags_) {
            push16(frame, t.tpid);
            push16(frame, t.tci);
        }
        if (!family_) {
            if (l4_ != l4_kind::none) throw std::logic_error("frame_builder: an L4 layer needs ipv4() or ipv6()");
            push16(frame, ethertype_.value_or(0x0800));
            frame.insert(frame.end(), payload_.begin(), payload_.end());
            return pad(std::move(frame));
        }
        const bool v4 = *family_ == net::ip_family::v4;
        push16(frame, ethertype_.value_or(v4 ? net::ethertype_ipv4 : net::ethertype_ipv6));

        const bytes upper = build_l4(v4);
        if (v4) {
            append_ipv4(frame, upper.size());
        } else {
            append_ipv6(frame, upper.size());
        }
        frame.insert(frame.end(), upper.begin(), upper.end());
        return pad(std::move(frame));
    }

private:
    enum class l4_kind : uint8_t { none, tcp, udp, icmp, raw };
    enum class echo : uint8_t { none, request, reply };
    struct tag {
        uint16_t tpid;
        uint16_t tci;
    };
    struct ext_header {
        uint8_t type;
        uint8_t length_units;
    };

    static void push16(bytes& b, uint16_t v) {
        b.push_back(static_cast<uint8_t>(v >> 8));
        b.push_back(static_cast<uint8_t>(v));
    }
    static void push32(bytes& b, uint32_t v) {
        push16(b, static_cast<uint16_t>(v >> 16));
        push16(b, static_cast<uint16_t>(v));
    }
    static bytes padded4(bytes b) {
        while (b.size() % 4 != 0) b.push_back(0);
        return b;
    }
    // The address as on the wire: 4 bytes for IPv4, 16 for IPv6.
    static void push_address(bytes& b, const net::ip_address& a, bool v4) {
        b.insert(b.end(), a.bytes.begin() + (v4 ? 12 : 0), a.bytes.end());
    }
    void set_l4(l4_kind kind) {
        if (l4_ != l4_kind::none) throw std::logic_error("frame_builder: only one L4 layer per frame");
        l4_ = kind;
    }
    bytes pad(bytes frame) const {
        if (frame.size() < pad_to_) frame.resize(pad_to_, 0);
        return frame;
    }

    uint8_t upper_proto(bool v4) const {
        switch (l4_) {
        case l4_kind::tcp: return net::proto_tcp;
        case l4_kind::udp: return net::proto_udp;
        case l4_kind::icmp: return v4 ? net::proto_icmp : net::proto_icmpv6;
        case l4_kind::raw: return raw_proto_;
        case l4_kind::none: break;
        }
        return ipv6_no_next_header;
    }

    bytes build_l4(bool v4) const {
        bytes l4;
        std::size_t checksum_at = 0;
        bool with_pseudo_header = true;
        switch (l4_) {
        case l4_kind::none: return payload_;
        case l4_kind::raw:
            l4 = raw_l4_;
            l4.insert(l4.end(), payload_.begin(), payload_.end());
            return l4;
        case l4_kind::tcp: {
            const bytes options = padded4(tcp_options_);
            push16(l4, sport_);
            push16(l4, dport_);
            push32(l4, seq_);
            // Unless told otherwise a SYN+ACK acks the default SYN (seq 1000):
            // the gateway's window tracking drops one that does not ack the SYN.
            constexpr uint8_t syn_ack = net::tcp_syn | net::tcp_ack;
            push32(l4, ack_set_ || (tcp_flags_ & syn_ack) != syn_ack ? ack_ : default_seq + 1);
            l4.push_back(static_cast<uint8_t>(((20 + options.size()) / 4) << 4));
            l4.push_back(tcp_flags_);
            push16(l4, window_);
            push32(l4, 0); // checksum, urgent pointer
            l4.insert(l4.end(), options.begin(), options.end());
            checksum_at = 16;
            break;
        }
        case l4_kind::udp:
            push16(l4, sport_);
            push16(l4, dport_);
            push16(l4, static_cast<uint16_t>(8 + payload_.size()));
            push16(l4, 0);
            checksum_at = 6;
            break;
        case l4_kind::icmp: {
            uint8_t type = icmp_type_;
            if (icmp_echo_ == echo::request) type = v4 ? 8 : 128;
            if (icmp_echo_ == echo::reply) type = v4 ? 0 : 129;
            l4.push_back(type);
            l4.push_back(icmp_code_);
            push16(l4, 0);
            push32(l4, icmp_rest_);
            checksum_at = 2;
            with_pseudo_header = !v4;
            break;
        }
        }
        l4.insert(l4.end(), payload_.begin(), payload_.end());
        if (l4_ == l4_kind::udp && udp_zero_checksum_) return l4;

        uint64_t pseudo = 0;
        if (with_pseudo_header) {
            bytes header; // the pseudo-header; zero bytes placed differently from v4 do not change the sum
            push_address(header, src_ip_, v4);
            push_address(header, dst_ip_, v4);
            push32(header, static_cast<uint32_t>(l4.size()));
            push32(header, upper_proto(v4));
            pseudo = static_cast<uint16_t>(~internet_checksum(header));
        }
        uint16_t checksum = internet_checksum(l4, pseudo);
        if (l4_ == l4_kind::udp && checksum == 0) checksum = 0xffff;
        put16(l4, checksum_at, checksum);
        return l4;
    }

    void append_ipv4(bytes& frame, std::size_t upper_size) const {
        const bytes options = padded4(ipv4_options_);
        const std::size_t start = frame.size();
        const std::size_t header_length = 20 + options.size();
        frame.push_back(static_cast<uint8_t>(0x40 | (header_length / 4)));
        frame.push_back(tos_);
        push16(frame, static_cast<uint16_t>(header_length + upper_size));
        push16(frame, ip_id_);
        push16(frame, fragment_field_);
        frame.push_back(ttl_);
        frame.push_back(upper_proto(true));
        push16(frame, 0);
        push_address(frame, src_ip_, true);
        push_address(frame, dst_ip_, true);
        frame.insert(frame.end(), options.begin(), options.end());
        fix_ipv4_checksum(frame, start);
    }

    void append_ipv6(bytes& frame, std::size_t upper_size) const {
        std::size_t ext_size = 0;
        for (const auto& e : ext_headers_) ext_size += (std::size_t{e.length_units} + 1) * 8;
        push32(frame, 0x60000000u | (uint32_t{tos_} << 20));
        push16(frame, static_cast<uint16_t>(ext_size + upper_size));
        frame.push_back(ext_headers_.empty() ? upper_proto(false) : ext_headers_.front().type);
        frame.push_back(ttl_);
        push_address(frame, src_ip_, false);
        push_address(frame, dst_ip_, false);
        for (std::size_t i = 0; i < ext_headers_.size(); ++i) {
            const auto& e = ext_headers_[i];
            const std::size_t length = (std::size_t{e.length_units} + 1) * 8;
            frame.push_back(i + 1 < ext_headers_.size() ? ext_headers_[i + 1].type : upper_proto(false));
            frame.push_back(e.length_units);
            const bool options_header = e.type == ipv6_hop_by_hop || e.type == ipv6_destination_options;
            if (options_header) { // one PadN option filling the body
                frame.push_back(1);
                frame.push_back(static_cast<uint8_t>(length - 4));
                frame.insert(frame.end(), length - 4, 0);
            } else if (e.type == ipv6_routing) {
                // Routing type 253 (RFC 4727, experimental) with no segments
                // left: a header the gateway ignores (type 0 it refuses).
                frame.push_back(253);
                frame.insert(frame.end(), length - 3, 0);
            } else {
                frame.insert(frame.end(), length - 2, 0);
            }
        }
    }

    std::optional<net::mac_address> src_mac_;
    std::optional<net::mac_address> dst_mac_;
    std::vector<tag> tags_;
    std::optional<uint16_t> ethertype_;
    std::optional<net::ip_family> family_;
    net::ip_address src_ip_;
    net::ip_address dst_ip_;
    uint8_t ttl_ = 64;
    uint8_t tos_ = 0;
    uint16_t ip_id_ = 0x1234;
    uint16_t fragment_field_ = 0x4000; // DF
    bytes ipv4_options_;
    std::vector<ext_header> ext_headers_;
    l4_kind l4_ = l4_kind::none;
    uint16_t sport_ = 0;
    uint16_t dport_ = 0;
    uint8_t tcp_flags_ = 0;
    static constexpr uint32_t default_seq = 1000;
    uint32_t seq_ = default_seq;
    uint32_t ack_ = 0;
    bool ack_set_ = false;
    uint16_t window_ = 65535;
    bytes tcp_options_;
    bool udp_zero_checksum_ = false;
    uint8_t icmp_type_ = 0;
    uint8_t icmp_code_ = 0;
    uint32_t icmp_rest_ = 0;
    echo icmp_echo_ = echo::none;
    uint8_t raw_proto_ = 0;
    bytes raw_l4_;
    bytes payload_;
    std::size_t pad_to_ = 0;
};

} // namespace egress::test
