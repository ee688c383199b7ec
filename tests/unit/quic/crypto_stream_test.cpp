// lib/quic/crypto_stream: CRYPTO pieces in any order, duplicated, overlapping
// (same bytes: accepted; different bytes: refused), with gaps, too large, and
// more separate pieces than the bound.
#include <algorithm>
#include <numeric>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "quic/crypto_stream.hpp"
#include "quic_test_util.hpp"

namespace {

using namespace egress::quic;
using namespace egress::quic::test;

bytes pattern(std::size_t n) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + 3);
    return b;
}

struct piece {
    uint32_t offset;
    uint32_t length;
    bool corrupt = false; // flip the piece's first byte
};

struct row {
    const char* description;
    std::vector<piece> pieces;
    crypto_add last;         // the result of the last piece (all before it: ok)
    uint32_t contiguous;     // bytes from offset 0 afterwards
    std::size_t ranges;      // disjoint ranges kept afterwards
};

TEST(crypto_stream, table) {
    const auto stream_bytes = pattern(4096);
    const row rows[] = {
        {"one piece", {{0, 100}}, crypto_add::ok, 100, 1},
        {"in order", {{0, 50}, {50, 50}, {100, 20}}, crypto_add::ok, 120, 1},
        {"reversed", {{100, 20}, {50, 50}, {0, 50}}, crypto_add::ok, 120, 1},
        {"gap at the start", {{10, 90}}, crypto_add::ok, 0, 1},
        {"gap in the middle", {{0, 40}, {60, 40}}, crypto_add::ok, 40, 2},
        {"gap filled", {{0, 40}, {60, 40}, {40, 20}}, crypto_add::ok, 100, 1},
        {"duplicate", {{0, 40}, {0, 40}}, crypto_add::ok, 40, 1},
        {"overlap, same bytes", {{0, 40}, {20, 40}, {10, 70}}, crypto_add::ok, 80, 1},
        {"covering piece", {{10, 10}, {30, 10}, {50, 10}, {0, 100}}, crypto_add::ok, 100, 1},
        {"overlap, different byte", {{0, 40}, {20, 40, true}}, crypto_add::conflict, 40, 1},
        {"covering, different byte", {{10, 10}, {30, 10}, {10, 50, true}}, crypto_add::conflict, 0, 2},
        {"touching pieces merge", {{20, 10}, {30, 10}, {10, 10}}, crypto_add::ok, 0, 1},
        {"ends at the maximum", {{4000, 96}}, crypto_add::ok, 0, 1},
        {"one byte past the maximum", {{4000, 97}}, crypto_add::too_large, 0, 0},
        {"offset past the maximum", {{5000, 1}}, crypto_add::too_large, 0, 0},
        {"empty piece", {{0, 0}}, crypto_add::ok, 0, 0},
    };
    for (const auto& r : rows) {
        std::vector<uint8_t> storage(4096);
        crypto_stream s(storage);
        crypto_add result = crypto_add::ok;
        for (std::size_t i = 0; i < r.pieces.size(); ++i) {
            const auto& p = r.pieces[i];
            bytes data(stream_bytes.begin() + std::min<uint32_t>(p.offset, 4096),
                       stream_bytes.begin() + std::min<uint32_t>(p.offset + p.length, 4096));
            data.resize(p.length, 0xee);
            if (p.corrupt) data[0] ^= 0xff;
            result = s.add(p.offset, data);
            if (i + 1 < r.pieces.size()) {
                EXPECT_EQ(result, crypto_add::ok) << r.description << " piece " << i;
            }
        }
        EXPECT_EQ(result, r.last) << r.description;
        EXPECT_EQ(s.contiguous().size(), r.contiguous) << r.description;
        EXPECT_EQ(s.range_count(), r.ranges) << r.description;
        EXPECT_TRUE(std::equal(s.contiguous().begin(), s.contiguous().end(), stream_bytes.begin())) << r.description;
    }
}

TEST(crypto_stream, a_refused_piece_changes_nothing) {
    const auto data = pattern(200);
    std::vector<uint8_t> storage(1024);
    crypto_stream s(storage);
    ASSERT_EQ(s.add(0, std::span(data).first(100)), crypto_add::ok);
    auto bad = bytes(data.begin() + 50, data.begin() + 150);
    bad[0] ^= 1; // offset 50: already held, different
    EXPECT_EQ(s.add(50, bad), crypto_add::conflict);
    EXPECT_EQ(s.contiguous().size(), 100u);
    EXPECT_EQ(s.high_water(), 100u);
    EXPECT_TRUE(std::equal(s.contiguous().begin(), s.contiguous().end(), data.begin()));
}

TEST(crypto_stream, shuffled_chunks_of_every_size_reassemble) {
    const auto data = pattern(3000);
    std::mt19937 rng(16);
    for (uint32_t chunk : {1u, 7u, 64u, 333u, 1200u}) {
        std::vector<uint32_t> offsets;
        for (uint32_t o = 0; o < data.size(); o += chunk) offsets.push_back(o);
        std::shuffle(offsets.begin(), offsets.end(), rng);
        // Every chunk twice, the second time shifted to overlap its neighbours.
        std::vector<uint8_t> storage(4096);
        crypto_stream s(storage);
        bool bounded = false;
        for (uint32_t o : offsets) {
            const uint32_t n = std::min<uint32_t>(chunk, static_cast<uint32_t>(data.size()) - o);
            const auto r = s.add(o, std::span(data).subspan(o, n));
            if (r == crypto_add::too_large) {
                bounded = true; // more separate pieces than kept: refused, not lost silently
                break;
            }
            ASSERT_EQ(r, crypto_add::ok) << chunk;
            const uint32_t b = o > chunk / 2 ? o - chunk / 2 : 0;
            const uint32_t e = std::min<uint32_t>(o + n + chunk / 2, static_cast<uint32_t>(data.size()));
            ASSERT_EQ(s.add(b, std::span(data).subspan(b, e - b)), crypto_add::ok) << chunk;
            EXPECT_LE(s.range_count(), crypto_stream::max_ranges);
        }
        if (bounded) {
            EXPECT_LE(chunk, 64u) << "only tiny shuffled chunks may exceed the range bound";
            continue;
        }
        ASSERT_EQ(s.contiguous().size(), data.size()) << chunk;
        EXPECT_TRUE(std::equal(data.begin(), data.end(), s.contiguous().begin())) << chunk;
        EXPECT_EQ(s.range_count(), 1u);
    }
}

TEST(crypto_stream, more_separate_pieces_than_the_bound_is_too_large) {
    const auto data = pattern(1000);
    std::vector<uint8_t> storage(1024);
    crypto_stream s(storage);
    for (uint32_t i = 0; i < crypto_stream::max_ranges; ++i)
        ASSERT_EQ(s.add(10 + i * 20, std::span(data).subspan(10 + i * 20, 5)), crypto_add::ok) << i;
    EXPECT_EQ(s.range_count(), crypto_stream::max_ranges);
    EXPECT_EQ(s.add(900, std::span(data).subspan(900, 5)), crypto_add::too_large);
    // A piece joining two kept ones still fits (it lowers the count).
    EXPECT_EQ(s.add(15, std::span(data).subspan(15, 15)), crypto_add::ok);
    EXPECT_EQ(s.range_count(), crypto_stream::max_ranges - 1);
    EXPECT_EQ(s.add(0, std::span(data).first(10)), crypto_add::ok);
    EXPECT_EQ(s.contiguous().size(), 35u);
}

} // namespace
