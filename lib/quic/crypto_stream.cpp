// CRYPTO stream reassembly: see crypto_stream.hpp.
#include "quic/crypto_stream.hpp"

#include <algorithm>
#include <cstring>

namespace egress::quic {

bool crypto_stream::same_as_stored(uint32_t begin, uint32_t end, std::span<const uint8_t> data,
                                   uint32_t data_begin) const noexcept {
    return std::memcmp(storage_.data() + begin, data.data() + (begin - data_begin), end - begin) == 0;
}

crypto_add crypto_stream::add(uint64_t offset, std::span<const uint8_t> data) noexcept {
    if (data.empty()) return offset <= storage_.size() ? crypto_add::ok : crypto_add::too_large;
    if (offset > storage_.size() || data.size() > storage_.size() - offset) return crypto_add::too_large;
    const auto b = static_cast<uint32_t>(offset);
    const auto e = static_cast<uint32_t>(offset + data.size());

    // Ranges [first, last) overlap or touch [b, e); they merge into one.
    std::size_t first = 0;
    while (first < count_ && ranges_[first].end < b) ++first;
    std::size_t last = first;
    uint32_t merged_begin = b;
    uint32_t merged_end = e;
    for (; last < count_ && ranges_[last].begin <= e; ++last) {
        const uint32_t ob = std::max(b, ranges_[last].begin);
        const uint32_t oe = std::min(e, ranges_[last].end);
        if (ob < oe && !same_as_stored(ob, oe, data, b)) return crypto_add::conflict;
        merged_begin = std::min(merged_begin, ranges_[last].begin);
        merged_end = std::max(merged_end, ranges_[last].end);
    }
    const std::size_t new_count = count_ - (last - first) + 1;
    if (new_count > max_ranges) return crypto_add::too_large;

    std::memcpy(storage_.data() + b, data.data(), data.size());
    if (last - first != 1) {
        // Shift the ranges after the merged ones to sit right after `first`.
        const std::size_t tail = count_ - last;
        std::memmove(ranges_.data() + first + 1, ranges_.data() + last, tail * sizeof(range));
    }
    ranges_[first] = {merged_begin, merged_end};
    count_ = new_count;
    return crypto_add::ok;
}

} // namespace egress::quic
