// A small DNS response builder for the lib/dns tests: names written label by
// label (no compression unless a test writes a pointer itself).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace egress::dns::test {

using bytes = std::vector<uint8_t>;

inline void put16(bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
inline void put32(bytes& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}
inline bytes name(std::string_view dotted) {
    bytes b;
    while (!dotted.empty()) {
        const auto dot = dotted.find('.');
        const auto label = dotted.substr(0, dot);
        b.push_back(static_cast<uint8_t>(label.size()));
        b.insert(b.end(), label.begin(), label.end());
        dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
    }
    b.push_back(0);
    return b;
}
inline bytes pointer(uint16_t offset) { return {static_cast<uint8_t>(0xc0 | (offset >> 8)), static_cast<uint8_t>(offset)}; }

struct response_builder {
    uint16_t id = 0x1234;
    uint16_t flags = 0x8180; // response, RD, RA, NOERROR
    bytes question_name = name("example.com");
    uint16_t qtype = 1;
    std::vector<bytes> answers;

    response_builder& record(const bytes& owner, uint16_t type, uint32_t ttl, const bytes& rdata, uint16_t klass = 1) {
        bytes r = owner;
        put16(r, type);
        put16(r, klass);
        put32(r, ttl);
        put16(r, static_cast<uint16_t>(rdata.size()));
        r.insert(r.end(), rdata.begin(), rdata.end());
        answers.push_back(r);
        return *this;
    }
    response_builder& a(std::string_view owner, uint32_t ttl, uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3) {
        return record(name(owner), 1, ttl, {a0, a1, a2, a3});
    }
    response_builder& aaaa(std::string_view owner, uint32_t ttl, const bytes& addr16) {
        return record(name(owner), 28, ttl, addr16);
    }
    response_builder& cname(std::string_view owner, uint32_t ttl, std::string_view target) {
        return record(name(owner), 5, ttl, name(target));
    }
    bytes build() const {
        bytes b;
        put16(b, id);
        put16(b, flags);
        put16(b, 1);
        put16(b, static_cast<uint16_t>(answers.size()));
        put16(b, 0);
        put16(b, 0);
        b.insert(b.end(), question_name.begin(), question_name.end());
        put16(b, qtype);
        put16(b, 1);
        for (const auto& r : answers) b.insert(b.end(), r.begin(), r.end());
        return b;
    }
};

} // namespace egress::dns::test
