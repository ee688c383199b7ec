#include "gateway/neighbor_table.hpp"

#include <bit>

#include "base/hash.hpp"

namespace egress::gateway {

neighbor_table::neighbor_table(uint32_t max_entries) : max_entries_(max_entries) {
    const uint32_t slots = std::bit_ceil(std::max<uint32_t>(2 * max_entries, 8));
    slots_.resize(slots);
    mask_ = slots - 1;
}

uint32_t neighbor_table::home(const net::ip_address& a) const noexcept {
    const uint64_t h = base::mum(base::load64(a.bytes.data()) ^ 0x9e3779b97f4a7c15ull,
                                 base::load64(a.bytes.data() + 8) ^ 0xc2b2ae3d27d4eb4full);
    return static_cast<uint32_t>(h ^ (h >> 32)) & mask_;
}

uint32_t neighbor_table::find(const net::ip_address& a) const noexcept {
    for (uint32_t i = home(a);; i = (i + 1) & mask_) {
        const neighbor_entry& e = slots_[i];
        if (e.state == neighbor_state::free) return npos;
        if (e.address == a) return i;
    }
}

uint32_t neighbor_table::insert(const net::ip_address& a) noexcept {
    if (size_ >= max_entries_) return npos;
    uint32_t i = home(a);
    while (slots_[i].state != neighbor_state::free) i = (i + 1) & mask_;
    slots_[i] = neighbor_entry{};
    slots_[i].address = a;
    ++size_;
    return i;
}

// Backward-shift deletion: walk the chain after the hole and move back every
// entry whose home slot does not lie (cyclically) between the hole and it.
void neighbor_table::erase(uint32_t slot) noexcept {
    uint32_t hole = slot;
    for (uint32_t i = (hole + 1) & mask_; slots_[i].state != neighbor_state::free; i = (i + 1) & mask_) {
        const uint32_t h = home(slots_[i].address);
        const bool stays = ((i - h) & mask_) < ((i - hole) & mask_);
        if (stays) continue;
        slots_[hole] = slots_[i];
        hole = i;
    }
    slots_[hole] = neighbor_entry{};
    --size_;
}

} // namespace egress::gateway
