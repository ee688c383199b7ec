// DNS response parsing: see dns_message.hpp.
#include "dns/dns_message.hpp"

namespace egress::dns {

namespace {

constexpr std::size_t header_length = 12;
constexpr std::size_t max_wire_name = 255;

char lower(uint8_t c) noexcept { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c); }

bool label_byte_ok(uint8_t c) noexcept { return c > 0x20 && c < 0x7f && c != '.'; }

} // namespace

std::string_view to_string(dns_status s) noexcept {
    switch (s) {
    case dns_status::ok: return "ok";
    case dns_status::end: return "end";
    case dns_status::truncated: return "truncated";
    case dns_status::malformed: return "malformed";
    case dns_status::not_response: return "not_response";
    case dns_status::not_query: return "not_query";
    case dns_status::no_question: return "no_question";
    }
    return "unknown";
}

dns_status read_name(std::span<const uint8_t> message, net::byte_cursor& cursor, dns_name& out) noexcept {
    out.length = 0;
    std::size_t pos = cursor.offset();
    std::size_t floor = pos;   // every pointer must go below all bytes read for this name
    std::size_t end = 0;       // where the cursor continues: after the first pointer or the root label
    std::size_t wire = 0;
    unsigned jumps = 0;
    for (;;) {
        if (pos >= message.size()) return dns_status::truncated;
        const uint8_t len = message[pos];
        if ((len & 0xc0) == 0xc0) {
            if (pos + 1 >= message.size()) return dns_status::truncated;
            const std::size_t target = (std::size_t{len & 0x3fu} << 8) | message[pos + 1];
            if (end == 0) end = pos + 2;
            if (target >= floor || ++jumps > max_pointer_jumps) return dns_status::malformed;
            floor = target;
            pos = target;
            continue;
        }
        if ((len & 0xc0) != 0) return dns_status::malformed; // RFC 6891 extended label types: none in use
        wire += 1 + len;
        if (wire > max_wire_name) return dns_status::malformed;
        if (len == 0) break;
        if (pos + 1 + len > message.size()) return dns_status::truncated;
        if (out.length > 0) out.text[out.length++] = '.';
        for (std::size_t i = 0; i < len; ++i) {
            const uint8_t c = message[pos + 1 + i];
            if (!label_byte_ok(c)) return dns_status::malformed;
            out.text[out.length++] = lower(c);
        }
        pos += 1 + len;
    }
    if (end == 0) end = pos + 1;
    cursor.skip(end - cursor.offset());
    return dns_status::ok;
}

dns_status dns_response::open(std::span<const uint8_t> message) noexcept {
    message_ = message;
    cursor_ = net::byte_cursor(message);
    answers_read_ = 0;
    uint16_t flags = 0;
    uint16_t qdcount = 0;
    if (!cursor_.read_be16(id_) || !cursor_.read_be16(flags) || !cursor_.read_be16(qdcount) ||
        !cursor_.read_be16(ancount_) || !cursor_.skip(header_length - 8))
        return dns_status::truncated;
    tc_ = (flags & 0x0200) != 0;
    rcode_ = static_cast<uint8_t>(flags & 0x0f);
    if ((flags & 0x8000) == 0) return dns_status::not_response;
    if (((flags >> 11) & 0x0f) != 0) return dns_status::not_query;
    if (qdcount != 1) return dns_status::no_question;
    const dns_status st = read_name(message_, cursor_, question_);
    if (st != dns_status::ok) return st;
    uint16_t qclass = 0;
    if (!cursor_.read_be16(qtype_) || !cursor_.read_be16(qclass)) return dns_status::truncated;
    return dns_status::ok;
}

dns_status dns_response::next_answer(dns_answer& out) noexcept {
    while (answers_read_ < ancount_) {
        ++answers_read_;
        dns_status st = read_name(message_, cursor_, out.owner);
        if (st != dns_status::ok) return st;
        uint16_t type = 0;
        uint16_t klass = 0;
        uint32_t ttl = 0;
        uint16_t rdlength = 0;
        if (!cursor_.read_be16(type) || !cursor_.read_be16(klass) || !cursor_.read_be32(ttl) ||
            !cursor_.read_be16(rdlength))
            return dns_status::truncated;
        const std::size_t rdata_at = cursor_.offset();
        const auto rdata = cursor_.take(rdlength);
        if (rdata.size() != rdlength) return dns_status::truncated;
        if (klass != class_in) continue;
        out.type = type;
        out.ttl = (ttl & 0x80000000u) != 0 ? 0 : ttl; // RFC 2181 §8: a TTL with the top bit set counts as 0
        if (type == type_a) {
            if (rdlength != 4) return dns_status::malformed;
            out.address = net::ip_address::from_v4_bytes(rdata.data());
        } else if (type == type_aaaa) {
            if (rdlength != 16) return dns_status::malformed;
            out.address = net::ip_address::from_v6_bytes(rdata.data());
        } else if (type == type_cname) {
            // The target may point back into the message; it must fill the data exactly.
            net::byte_cursor target(message_.first(rdata_at + rdlength));
            target.skip(rdata_at);
            st = read_name(message_.first(rdata_at + rdlength), target, out.target);
            if (st == dns_status::truncated || (st == dns_status::ok && target.offset() != rdata_at + rdlength))
                return dns_status::malformed;
            if (st != dns_status::ok) return st;
        } else {
            continue;
        }
        return dns_status::ok;
    }
    return dns_status::end;
}

} // namespace egress::dns
