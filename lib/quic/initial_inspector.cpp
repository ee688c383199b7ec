// The client's first QUIC flight -> its ClientHello: see initial_inspector.hpp.
#include "quic/initial_inspector.hpp"

#include <algorithm>
#include <cstring>

#include "net/byte_cursor.hpp"
#include "quic/varint.hpp"

namespace egress::quic {

namespace {

constexpr std::size_t record_header = 5;
constexpr std::size_t hello_header = 4; // handshake type(1) length(3)

std::size_t tls_view_size(uint32_t max_crypto_bytes) {
    const std::size_t records = (max_crypto_bytes + tls::max_record_payload - 1) / tls::max_record_payload;
    return max_crypto_bytes + record_header * std::max<std::size_t>(records, 1);
}

// ACK (RFC 9000 §19.3): largest, delay, range count, first range, the ranges
// (gap, length), and three ECN counts for type 0x03. Values are not checked:
// only the frame's extent matters here.
bool skip_ack(net::byte_cursor& c, bool ecn) noexcept {
    uint64_t v = 0;
    uint64_t ranges = 0;
    if (!read_varint(c, v) || !read_varint(c, v) || !read_varint(c, ranges) || !read_varint(c, v)) return false;
    for (uint64_t i = 0; i < ranges; ++i) {
        if (!read_varint(c, v) || !read_varint(c, v)) return false; // ends at the payload's end
    }
    return !ecn || (read_varint(c, v) && read_varint(c, v) && read_varint(c, v));
}

// CONNECTION_CLOSE of the transport (0x1c, RFC 9000 §19.19): error code, frame
// type, reason phrase. The application variant (0x1d) is not allowed in an Initial.
bool skip_connection_close(net::byte_cursor& c) noexcept {
    uint64_t v = 0;
    uint64_t reason = 0;
    return read_varint(c, v) && read_varint(c, v) && read_varint(c, reason) && reason <= c.remaining() &&
           c.skip(reason);
}

initial_status status_of(tls::hello_status s) noexcept {
    switch (s) {
    case tls::hello_status::need_more: return initial_status::need_more;
    case tls::hello_status::complete: return initial_status::complete;
    case tls::hello_status::too_large: return initial_status::too_large;
    case tls::hello_status::not_tls:
    case tls::hello_status::malformed: break;
    }
    return initial_status::malformed;
}

} // namespace

std::string_view to_string(initial_status s) noexcept {
    switch (s) {
    case initial_status::need_more: return "need_more";
    case initial_status::complete: return "complete";
    case initial_status::not_initial: return "not_initial";
    case initial_status::unknown_version: return "unknown_version";
    case initial_status::version_negotiation: return "version_negotiation";
    case initial_status::retry: return "retry";
    case initial_status::undecryptable: return "undecryptable";
    case initial_status::malformed: return "malformed";
    case initial_status::too_large: return "too_large";
    }
    return "unknown";
}

std::string_view to_string(hello_kind k) noexcept {
    switch (k) {
    case hello_kind::sni: return "sni";
    case hello_kind::no_sni: return "no_sni";
    case hello_kind::ech: return "ech";
    }
    return "unknown";
}

initial_inspector::initial_inspector(uint32_t max_crypto_bytes)
    : max_crypto_bytes_(max_crypto_bytes), plaintext_(65536), tls_view_(tls_view_size(max_crypto_bytes)) {}

initial_status initial_inspector::first_packet_status(const initial_flow& flow, const long_header& h) const noexcept {
    switch (h.kind) {
    case packet_kind::initial: return initial_status::need_more;
    case packet_kind::version_negotiation: return initial_status::version_negotiation;
    case packet_kind::unknown_version: return initial_status::unknown_version;
    case packet_kind::retry: return initial_status::retry;
    // 0-RTT may travel in its own datagram once the first Initial was seen.
    case packet_kind::zero_rtt: return flow.initials > 0 ? initial_status::need_more : initial_status::not_initial;
    case packet_kind::short_header:
    case packet_kind::handshake: break;
    }
    return initial_status::not_initial;
}

initial_result initial_inspector::inspect(initial_flow& flow, std::span<const uint8_t> datagram) noexcept {
    auto decided = [&flow](initial_status s) {
        if (s != initial_status::need_more) flow.status = s;
        return initial_result{s, s == initial_status::complete ? &flow.hello : nullptr};
    };
    if (flow.status != initial_status::need_more) return decided(flow.status);
    std::size_t off = 0;
    bool read_initial = false;
    while (off < datagram.size()) {
        const auto rest = datagram.subspan(off);
        long_header h;
        const header_error err = parse_long_header(rest, h);
        if (off == 0) {
            if (err != header_error::none) return decided(initial_status::malformed);
            const initial_status s = first_packet_status(flow, h);
            if (s != initial_status::need_more) return decided(s);
        } else if (err != header_error::none || h.packet_length == 0 || h.kind == packet_kind::retry) {
            break; // what follows the packets (padding, other data) is not read
        }
        if (h.kind == packet_kind::initial) {
            const initial_status s = read_packet(flow, rest, h);
            if (s != initial_status::need_more) return decided(s);
            read_initial = true;
        }
        off += h.packet_length;
    }
    return decided(read_initial ? parse_hello(flow) : initial_status::need_more);
}

initial_status initial_inspector::read_packet(initial_flow& flow, std::span<const uint8_t> packet,
                                              const long_header& h) noexcept {
    if (h.dcid.size() < min_client_dcid_length) return initial_status::malformed;
    if (!flow.keyed) {
        if (!crypto_.derive(h.version, h.dcid, endpoint_side::client, flow.keys)) return initial_status::undecryptable;
        flow.keyed = true;
        flow.version = h.version;
        flow.dcid_length = static_cast<uint8_t>(h.dcid.size());
        std::memcpy(flow.dcid.data(), h.dcid.data(), h.dcid.size());
    } else if (h.version != flow.version || h.dcid.size() != flow.dcid_length ||
               std::memcmp(h.dcid.data(), flow.dcid.data(), h.dcid.size()) != 0) {
        return initial_status::malformed;
    }
    unprotected_packet up;
    switch (unprotect_initial(crypto_, flow.keys, packet, h, flow.largest_pn, plaintext_, up)) {
    case unprotect_error::none: break;
    case unprotect_error::bad_tag: return initial_status::undecryptable;
    case unprotect_error::buffer_too_small: return initial_status::too_large;
    case unprotect_error::too_short:
    case unprotect_error::reserved_bits: return initial_status::malformed;
    }
    flow.largest_pn = std::max<int64_t>(flow.largest_pn, static_cast<int64_t>(up.packet_number));
    ++flow.initials;
    return read_frames(flow, std::span<const uint8_t>(plaintext_.data(), up.payload_length));
}

initial_status initial_inspector::read_frames(initial_flow& flow, std::span<const uint8_t> payload) noexcept {
    if (payload.empty()) return initial_status::malformed; // RFC 9000 §12.4: at least one frame
    net::byte_cursor c(payload);
    uint8_t type = 0;
    // Frame types are read as one byte: every type allowed in an Initial is
    // below 0x40, so a longer varint encoding of one is not accepted.
    while (c.read_u8(type)) {
        switch (type) {
        case 0x00: { // PADDING: usually a long run (a first flight fills 1200 bytes)
            const auto rest = c.peek(c.remaining());
            c.skip(static_cast<std::size_t>(std::find_if(rest.begin(), rest.end(), [](uint8_t b) { return b != 0; }) -
                                            rest.begin()));
            break;
        }
        case 0x01: // PING
            break;
        case 0x02:
        case 0x03:
            if (!skip_ack(c, type == 0x03)) return initial_status::malformed;
            break;
        case 0x06: { // CRYPTO: offset, length, data
            uint64_t offset = 0;
            uint64_t length = 0;
            if (!read_varint(c, offset) || !read_varint(c, length) || length > c.remaining() ||
                offset + length > max_varint)
                return initial_status::malformed;
            switch (flow.stream.add(offset, c.take(length))) {
            case crypto_add::ok: break;
            case crypto_add::conflict: return initial_status::malformed;
            case crypto_add::too_large: return initial_status::too_large;
            }
            break;
        }
        case 0x1c:
            if (!skip_connection_close(c)) return initial_status::malformed;
            break;
        default: return initial_status::malformed;
        }
    }
    return initial_status::need_more;
}

initial_status initial_inspector::parse_hello(initial_flow& flow) noexcept {
    const auto prefix = flow.stream.contiguous();
    if (prefix.empty()) return initial_status::need_more;
    if (prefix[0] != 1) return initial_status::malformed; // the first message is a ClientHello
    if (prefix.size() < hello_header) return initial_status::need_more;
    const std::size_t total = hello_header + ((std::size_t{prefix[1]} << 16) | (prefix[2] << 8) | prefix[3]);
    if (total > flow.stream.capacity() || total > max_crypto_bytes_) return initial_status::too_large;
    // The client sends nothing after its ClientHello in its Initials.
    if (flow.stream.high_water() > total) return initial_status::malformed;
    // Records of at most 16 KiB covering exactly the hello, each header with its
    // final length, filled with the bytes received so far.
    std::size_t view = 0;
    for (std::size_t at = 0; at < prefix.size(); at += tls::max_record_payload) {
        const std::size_t record = std::min<std::size_t>(tls::max_record_payload, total - at);
        const std::size_t have = std::min(record, prefix.size() - at);
        const uint8_t header[record_header] = {22, 3, 1, static_cast<uint8_t>(record >> 8),
                                               static_cast<uint8_t>(record)};
        std::memcpy(tls_view_.data() + view, header, record_header);
        std::memcpy(tls_view_.data() + view + record_header, prefix.data() + at, have);
        view += record_header + have;
    }
    flow.hello = tls::parse_client_hello(std::span<const uint8_t>(tls_view_.data(), view),
                                         static_cast<uint32_t>(tls_view_.size()));
    return status_of(flow.hello.status);
}

} // namespace egress::quic
