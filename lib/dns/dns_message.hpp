// DNS response parsing (RFC 1035 §4.1) for the names egressd verifies: the
// question, then the A, AAAA and CNAME records of the answer section; every
// other record is skipped by its length. Bounds-checked through the byte cursor,
// no allocation: names are decoded into fixed buffers.
//
// Names (RFC 1035 §4.1.4). Compression pointers are followed only backwards
// (to an offset before the pointer itself), which makes loops impossible, and at
// most `max_pointer_jumps` times; a decoded name is at most 255 bytes on the
// wire, labels 1..63 bytes. Names are returned lowercased (DNS compares names
// without case, RFC 4343) in dotted form without the trailing dot ("" for the
// root). A label holding a '.' or a byte outside printable ASCII makes the
// name malformed: once dotted, "a.b" as one label would read like two labels
// and could stand in for another name.
//
// Statuses: ok; end (no more answers); truncated (the message ends inside a
// field or before the records its counts promise: a UDP response cut by the
// sender, a TCP one not yet complete; the records read before stay valid);
// malformed (a rule above, or record data that does not fit its type: A not 4
// bytes, AAAA not 16, a CNAME target not filling its data exactly);
// not_response (QR bit 0: a query); not_query (an opcode other than QUERY);
// no_question (QDCOUNT other than 1).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "net/byte_cursor.hpp"
#include "net/ip_address.hpp"

namespace egress::dns {

enum class dns_status : uint8_t { ok, end, truncated, malformed, not_response, not_query, no_question };
std::string_view to_string(dns_status s) noexcept;

inline constexpr std::size_t max_name_length = 253; // dotted, without the trailing dot
inline constexpr unsigned max_pointer_jumps = 32;

inline constexpr uint16_t type_a = 1;
inline constexpr uint16_t type_cname = 5;
inline constexpr uint16_t type_aaaa = 28;
inline constexpr uint16_t class_in = 1;

struct dns_name {
    std::array<char, max_name_length> text{};
    uint8_t length = 0;
    std::string_view view() const noexcept { return {text.data(), length}; }
    friend bool operator==(const dns_name& a, const dns_name& b) noexcept { return a.view() == b.view(); }
};

// One A, AAAA or CNAME record of the answer section (class IN).
struct dns_answer {
    dns_name owner;
    uint16_t type = 0;
    uint32_t ttl = 0;
    net::ip_address address{}; // A, AAAA
    dns_name target;           // CNAME
};

class dns_response {
public:
    // Reads the header and the question. Anything but ok: the message is not used.
    dns_status open(std::span<const uint8_t> message) noexcept;

    uint16_t id() const noexcept { return id_; }
    uint8_t rcode() const noexcept { return rcode_; }
    bool truncated_flag() const noexcept { return tc_; } // TC: the server cut the answer
    const dns_name& question() const noexcept { return question_; }
    uint16_t question_type() const noexcept { return qtype_; }
    uint16_t answer_count() const noexcept { return ancount_; }

    // The next A, AAAA or CNAME record of class IN in the answer section: ok with
    // `out` filled, end after the last, or an error (then stop reading).
    dns_status next_answer(dns_answer& out) noexcept;

private:
    std::span<const uint8_t> message_;
    net::byte_cursor cursor_{{}};
    uint16_t id_ = 0;
    uint8_t rcode_ = 0;
    bool tc_ = false;
    uint16_t ancount_ = 0;
    uint16_t answers_read_ = 0;
    dns_name question_;
    uint16_t qtype_ = 0;
};

// Decodes the name starting at `cursor` in `message` (the whole message, for
// pointers); the cursor moves past the name's bytes at that position.
dns_status read_name(std::span<const uint8_t> message, net::byte_cursor& cursor, dns_name& out) noexcept;

} // namespace egress::dns
