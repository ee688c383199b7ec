// Reassembly of the CRYPTO stream of a client's first flight (RFC 9000 §19.6):
// CRYPTO frames carry pieces of the TLS handshake at explicit offsets, in any
// order, possibly repeated or overlapping (Chromium chops the ClientHello and
// shuffles the pieces across its Initial packets on purpose). The stream is kept
// in a buffer the caller owns (so the gateway can hand in pooled memory) up to a
// configured maximum; the pieces received are a short sorted list of disjoint
// byte ranges.
//
// Rules (why): a byte received twice must be the same byte both times, else the
// piece is refused (`conflict`): a server keeps one version and an inspector that
// kept the other would be reading a different hello than the server. A piece
// that would end past the maximum is `too_large`, as is a stream cut into more
// than `max_ranges` separate pieces before its gaps are filled (a bound on the
// state per flow; honest clients send a handful).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace egress::quic {

enum class crypto_add : uint8_t { ok, conflict, too_large };

class crypto_stream {
public:
    static constexpr std::size_t max_ranges = 32;

    crypto_stream() = default;
    // Uses `storage` (its size is the maximum stream length) and forgets all data.
    explicit crypto_stream(std::span<uint8_t> storage) noexcept : storage_(storage) {}

    crypto_add add(uint64_t offset, std::span<const uint8_t> data) noexcept;

    // The bytes from offset 0 up to the first gap.
    std::span<const uint8_t> contiguous() const noexcept {
        return storage_.first(count_ > 0 && ranges_[0].begin == 0 ? ranges_[0].end : 0);
    }
    // One past the highest byte received (0 when empty).
    uint32_t high_water() const noexcept { return count_ > 0 ? ranges_[count_ - 1].end : 0; }
    std::size_t range_count() const noexcept { return count_; }
    std::size_t capacity() const noexcept { return storage_.size(); }

private:
    struct range {
        uint32_t begin;
        uint32_t end; // exclusive
    };
    bool same_as_stored(uint32_t begin, uint32_t end, std::span<const uint8_t> data, uint32_t data_begin) const noexcept;

    std::span<uint8_t> storage_;
    std::array<range, max_ranges> ranges_{};
    std::size_t count_ = 0;
};

} // namespace egress::quic
