// Test oracle for fragments, written independently of lib/net: splits a frame
// built by frame_builder into IPv4 or IPv6 fragments the way a sending kernel
// does, and puts forwarded fragments back together to check what a receiver
// would get (the whole upper-layer message and its checksum).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <vector>

#include "packet_builder.hpp"

namespace egress::test {

// The Ethernet header and the IPv4 header (20 bytes + options) of `frame`,
// then its payload split in pieces of `sizes` bytes (the last piece takes
// what is left, so sizes may be shorter than the number of fragments - 1).
// Each fragment gets identification `id`, MF on all but the last, DF clear.
inline std::vector<bytes> fragment_ipv4(const bytes& frame, std::vector<std::size_t> sizes, uint16_t id,
                                        std::size_t l3 = 14) {
    const std::size_t header = std::size_t{frame.at(l3) & 0x0fu} * 4;
    const std::size_t total = be16(frame, l3 + 2);
    const bytes payload(frame.begin() + static_cast<long>(l3 + header), frame.begin() + static_cast<long>(l3 + total));
    std::vector<bytes> out;
    std::size_t at = 0;
    for (std::size_t k = 0; at < payload.size(); ++k) {
        const std::size_t n = k < sizes.size() ? std::min(sizes[k], payload.size() - at) : payload.size() - at;
        bytes f(frame.begin(), frame.begin() + static_cast<long>(l3 + header));
        f.insert(f.end(), payload.begin() + static_cast<long>(at), payload.begin() + static_cast<long>(at + n));
        const bool more = at + n < payload.size();
        put16(f, l3 + 2, static_cast<uint16_t>(header + n));
        put16(f, l3 + 4, id);
        put16(f, l3 + 6, static_cast<uint16_t>((more ? 0x2000 : 0) | (at / 8)));
        fix_ipv4_checksum(f, l3);
        out.push_back(std::move(f));
        at += n;
    }
    return out;
}

// The same for IPv6 (a frame without extension headers): each fragment is the
// IPv6 header (next header 44) and a Fragment header carrying the original
// next header, offset, M and `id`.
inline std::vector<bytes> fragment_ipv6(const bytes& frame, std::vector<std::size_t> sizes, uint32_t id,
                                        std::size_t l3 = 14) {
    const uint8_t next = frame.at(l3 + 6);
    const std::size_t length = be16(frame, l3 + 4);
    const bytes payload(frame.begin() + static_cast<long>(l3 + 40), frame.begin() + static_cast<long>(l3 + 40 + length));
    std::vector<bytes> out;
    std::size_t at = 0;
    for (std::size_t k = 0; at < payload.size(); ++k) {
        const std::size_t n = k < sizes.size() ? std::min(sizes[k], payload.size() - at) : payload.size() - at;
        const bool more = at + n < payload.size();
        bytes f(frame.begin(), frame.begin() + static_cast<long>(l3 + 40));
        f[l3 + 6] = 44;
        put16(f, l3 + 4, static_cast<uint16_t>(8 + n));
        f.insert(f.end(), {next, 0, 0, 0, 0, 0, 0, 0});
        put16(f, l3 + 42, static_cast<uint16_t>(at | (more ? 1 : 0)));
        put32(f, l3 + 44, id);
        f.insert(f.end(), payload.begin() + static_cast<long>(at), payload.begin() + static_cast<long>(at + n));
        out.push_back(std::move(f));
        at += n;
    }
    return out;
}

// What a receiver reassembles from fragments (IPv4 without options, or IPv6
// with the Fragment header right after the fixed header).
struct reassembled {
    bool complete = false;
    bool v4 = true;
    bytes src;   // 4 or 16 bytes
    bytes dst;
    uint8_t proto = 0;
    bytes upper; // the upper-layer message (TCP/UDP/ICMP header and data)

    // Is the upper layer's checksum right for the whole message? (ICMPv4 has
    // no pseudo-header; a UDP-over-IPv4 checksum of 0 means "none".)
    bool checksum_ok() const {
        if (!complete || upper.size() < 8) return false;
        if (proto == 17 && v4 && be16(upper, 6) == 0) return true;
        uint64_t pseudo = 0;
        if (proto != 1) {
            bytes h = src;
            h.insert(h.end(), dst.begin(), dst.end());
            h.insert(h.end(), {static_cast<uint8_t>(upper.size() >> 24), static_cast<uint8_t>(upper.size() >> 16),
                               static_cast<uint8_t>(upper.size() >> 8), static_cast<uint8_t>(upper.size()), 0, 0, 0,
                               proto});
            pseudo = static_cast<uint16_t>(~internet_checksum(h));
        }
        return internet_checksum(upper, pseudo) == 0;
    }
};

inline reassembled reassemble(const std::vector<bytes>& fragments, std::size_t l3 = 14) {
    reassembled r;
    std::map<std::size_t, bytes> pieces;
    std::size_t end = 0;
    bool last_seen = false;
    for (const bytes& f : fragments) {
        r.v4 = (f.at(l3) >> 4) == 4;
        std::size_t offset = 0;
        bool more = false;
        bytes data;
        if (r.v4) {
            const std::size_t header = std::size_t{f[l3] & 0x0fu} * 4;
            const std::size_t total = be16(f, l3 + 2);
            offset = std::size_t{be16(f, l3 + 6) & 0x1fffu} * 8;
            more = (be16(f, l3 + 6) & 0x2000) != 0;
            r.src.assign(f.begin() + static_cast<long>(l3 + 12), f.begin() + static_cast<long>(l3 + 16));
            r.dst.assign(f.begin() + static_cast<long>(l3 + 16), f.begin() + static_cast<long>(l3 + 20));
            r.proto = f[l3 + 9];
            data.assign(f.begin() + static_cast<long>(l3 + header), f.begin() + static_cast<long>(l3 + total));
        } else {
            if (f.at(l3 + 6) != 44) throw std::logic_error("reassemble: no Fragment header");
            const std::size_t length = be16(f, l3 + 4);
            offset = be16(f, l3 + 42) & 0xfff8u;
            more = (be16(f, l3 + 42) & 1) != 0;
            r.src.assign(f.begin() + static_cast<long>(l3 + 8), f.begin() + static_cast<long>(l3 + 24));
            r.dst.assign(f.begin() + static_cast<long>(l3 + 24), f.begin() + static_cast<long>(l3 + 40));
            r.proto = f[l3 + 40];
            data.assign(f.begin() + static_cast<long>(l3 + 48), f.begin() + static_cast<long>(l3 + 40 + length));
        }
        if (!more) {
            last_seen = true;
            end = offset + data.size();
        }
        pieces[offset] = std::move(data);
    }
    std::size_t at = 0;
    for (const auto& [offset, data] : pieces) {
        if (offset != at) return r; // a hole (or an overlap)
        r.upper.insert(r.upper.end(), data.begin(), data.end());
        at += data.size();
    }
    r.complete = last_seen && at == end;
    return r;
}

} // namespace egress::test
