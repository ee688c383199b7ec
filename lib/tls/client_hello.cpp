// The ClientHello parser; the rules are in client_hello.hpp.
#include "tls/client_hello.hpp"

#include <algorithm>
#include <cstring>

namespace egress::tls {

std::string_view to_string(hello_status s) noexcept {
    switch (s) {
    case hello_status::need_more: return "need_more";
    case hello_status::complete: return "complete";
    case hello_status::not_tls: return "not_tls";
    case hello_status::too_large: return "too_large";
    case hello_status::malformed: return "malformed";
    }
    return "unknown";
}

namespace {

constexpr uint8_t content_handshake = 22;
constexpr uint8_t handshake_client_hello = 1;
constexpr std::size_t record_header = 5;

constexpr uint16_t ext_server_name = 0;
constexpr uint16_t ext_alpn = 16;
constexpr uint16_t ext_ech = 0xfe0d;

constexpr bool host_char(uint8_t c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

// Reads the handshake message's bytes out of consecutive handshake records (the
// record headers are checked and stepped over in place). Every read either
// delivers all its bytes or fails with the status in `status`; a parse step that
// finds an inconsistency fails the same way through fail().
class hello_parser {
public:
    hello_parser(std::span<const uint8_t> stream, uint32_t max_bytes, client_hello_info& info) noexcept
        : stream_(stream), max_bytes_(max_bytes), info_(info) {}

    bool parse() noexcept;

    hello_status status = hello_status::need_more;

private:
    bool fail(hello_status s) noexcept {
        status = s;
        return false;
    }

    // Steps over the record header at pos_ (== rec_end_), deciding not_tls as
    // soon as one of its present bytes is wrong.
    bool next_record() noexcept {
        const std::size_t avail = stream_.size() - pos_;
        if (avail >= 1 && stream_[pos_] != content_handshake) return fail(hello_status::not_tls);
        if (avail >= 2 && stream_[pos_ + 1] != 3) return fail(hello_status::not_tls);
        if (avail < record_header) return fail(hello_status::need_more);
        const std::size_t length = (std::size_t{stream_[pos_ + 3]} << 8) | stream_[pos_ + 4];
        if (length == 0 || length > max_record_payload) return fail(hello_status::malformed);
        pos_ += record_header;
        rec_end_ = pos_ + length;
        if (rec_end_ > max_bytes_) return fail(hello_status::too_large);
        return true;
    }

    // n handshake bytes into dst (or skipped when dst is null).
    bool read(uint8_t* dst, std::size_t n) noexcept {
        while (n > 0) {
            if (pos_ == rec_end_ && !next_record()) return false;
            const std::size_t avail = std::min(rec_end_, stream_.size()) - pos_;
            if (avail == 0) return fail(hello_status::need_more);
            const std::size_t k = std::min(n, avail);
            if (dst != nullptr) {
                std::memcpy(dst, stream_.data() + pos_, k);
                dst += k;
            }
            pos_ += k;
            off_ += k;
            n -= k;
        }
        return true;
    }
    bool skip(std::size_t n) noexcept { return read(nullptr, n); }
    bool u8(uint8_t& v) noexcept { return read(&v, 1); }
    bool u16(uint16_t& v) noexcept {
        uint8_t b[2];
        if (!read(b, 2)) return false;
        v = static_cast<uint16_t>((b[0] << 8) | b[1]);
        return true;
    }
    bool u24(uint32_t& v) noexcept {
        uint8_t b[3];
        if (!read(b, 3)) return false;
        v = (uint32_t{b[0]} << 16) | (uint32_t{b[1]} << 8) | b[2];
        return true;
    }
    // The next n handshake bytes must lie before `end` (a logical offset).
    bool fits(std::size_t n, std::size_t end) noexcept {
        return off_ + n <= end ? true : fail(hello_status::malformed);
    }

    bool parse_extensions(std::size_t end) noexcept;
    bool parse_server_name(std::size_t end) noexcept;
    bool parse_alpn(std::size_t end) noexcept;
    bool parse_ech(std::size_t end) noexcept;

    std::span<const uint8_t> stream_;
    std::size_t max_bytes_;
    client_hello_info& info_;
    std::size_t pos_ = 0;      // next stream byte
    std::size_t rec_end_ = 0;  // end of the current record's payload in the stream
    std::size_t off_ = 0;      // handshake bytes read so far
};

bool hello_parser::parse() noexcept {
    uint8_t type = 0;
    if (!u8(type)) return false;
    if (type != handshake_client_hello) return fail(hello_status::not_tls);
    uint32_t length = 0;
    if (!u24(length)) return false;
    const std::size_t end = 4 + std::size_t{length};
    const std::size_t records = (end + max_record_payload - 1) / max_record_payload;
    if (end + records * record_header > max_bytes_) return fail(hello_status::too_large);

    // legacy_version, random
    if (!fits(2 + 32, end) || !u16(info_.legacy_version) || !skip(32)) return false;
    uint8_t session_id = 0;
    if (!fits(1, end) || !u8(session_id)) return false;
    if (session_id > 32) return fail(hello_status::malformed);
    if (!fits(session_id, end) || !skip(session_id)) return false;
    uint16_t suites = 0;
    if (!fits(2, end) || !u16(suites)) return false;
    if (suites == 0 || suites % 2 != 0) return fail(hello_status::malformed);
    if (!fits(suites, end) || !skip(suites)) return false;
    uint8_t compression = 0;
    if (!fits(1, end) || !u8(compression)) return false;
    if (compression == 0) return fail(hello_status::malformed);
    if (!fits(compression, end) || !skip(compression)) return false;
    if (off_ < end && !parse_extensions(end)) return false;

    if (pos_ != rec_end_) return fail(hello_status::malformed); // the hello must end its record
    info_.consumed = static_cast<uint32_t>(pos_);
    status = hello_status::complete;
    return true;
}

bool hello_parser::parse_extensions(std::size_t end) noexcept {
    uint16_t total = 0;
    if (!fits(2, end) || !u16(total)) return false;
    if (off_ + total != end) return fail(hello_status::malformed);
    std::array<uint16_t, max_hello_extensions> seen{};
    std::size_t seen_count = 0;
    while (off_ < end) {
        uint16_t type = 0;
        uint16_t length = 0;
        if (!fits(4, end) || !u16(type) || !u16(length) || !fits(length, end)) return false;
        const std::size_t ext_end = off_ + length;
        if (is_grease(type)) {
            if (!skip(length)) return false;
            continue;
        }
        if (std::find(seen.begin(), seen.begin() + seen_count, type) != seen.begin() + seen_count)
            return fail(hello_status::malformed);
        if (seen_count == seen.size()) return fail(hello_status::malformed);
        seen[seen_count++] = type;
        bool ok = true;
        switch (type) {
        case ext_server_name: ok = parse_server_name(ext_end); break;
        case ext_alpn: ok = parse_alpn(ext_end); break;
        case ext_ech: ok = parse_ech(ext_end); break;
        default: ok = skip(length); break;
        }
        if (!ok) return false;
    }
    return true;
}

bool hello_parser::parse_server_name(std::size_t end) noexcept {
    uint16_t list = 0;
    if (!fits(2, end) || !u16(list)) return false;
    if (list == 0 || off_ + list != end) return fail(hello_status::malformed);
    while (off_ < end) {
        uint8_t name_type = 0;
        uint16_t length = 0;
        if (!fits(3, end) || !u8(name_type) || !u16(length) || !fits(length, end)) return false;
        if (name_type != 0) {
            if (!skip(length)) return false;
            continue;
        }
        if (info_.has_sni || length == 0 || length > info_.sni.size()) return fail(hello_status::malformed);
        auto* name = reinterpret_cast<uint8_t*>(info_.sni.data());
        if (!read(name, length)) return false;
        if (!std::all_of(name, name + length, host_char)) return fail(hello_status::malformed);
        info_.sni_length = length;
        info_.has_sni = true;
    }
    return true;
}

bool hello_parser::parse_alpn(std::size_t end) noexcept {
    uint16_t list = 0;
    if (!fits(2, end) || !u16(list)) return false;
    if (list < 2 || off_ + list != end) return fail(hello_status::malformed);
    while (off_ < end) {
        uint8_t length = 0;
        if (!fits(1, end) || !u8(length)) return false;
        if (length == 0) return fail(hello_status::malformed);
        if (!fits(length, end)) return false;
        std::array<uint8_t, 255> name;
        if (!read(name.data(), length)) return false;
        if (length == 2 && name[0] == name[1] && (name[0] & 0x0f) == 0x0a) continue; // GREASE
        const std::size_t need = (info_.alpn_length > 0 ? 1 : 0) + std::size_t{length};
        if (info_.alpn_truncated || info_.alpn_length + need > info_.alpn.size()) {
            info_.alpn_truncated = true;
            continue;
        }
        if (info_.alpn_length > 0) info_.alpn[info_.alpn_length++] = ',';
        std::memcpy(info_.alpn.data() + info_.alpn_length, name.data(), length);
        info_.alpn_length = static_cast<uint16_t>(info_.alpn_length + length);
    }
    return true;
}

bool hello_parser::parse_ech(std::size_t end) noexcept {
    uint8_t type = 0;
    if (!fits(1, end) || !u8(type)) return false;
    info_.ech = true;
    if (type == 1) return off_ == end ? true : fail(hello_status::malformed); // inner: nothing follows
    if (type != 0) return fail(hello_status::malformed);
    info_.ech_outer = true;
    uint16_t enc = 0;
    uint16_t payload = 0;
    if (!fits(4 + 1 + 2, end) || !skip(4 + 1) || !u16(enc) || !fits(enc, end) || !skip(enc)) return false;
    if (!fits(2, end) || !u16(payload)) return false;
    if (payload == 0 || off_ + payload != end) return fail(hello_status::malformed);
    return skip(payload);
}

} // namespace

client_hello_info parse_client_hello(std::span<const uint8_t> stream, uint32_t max_bytes) noexcept {
    client_hello_info info;
    hello_parser parser(stream, max_bytes, info);
    parser.parse();
    info.status = parser.status;
    return info;
}

} // namespace egress::tls
