#include "policy/block_list.hpp"

#include <algorithm>
#include <stdexcept>

namespace egress::policy {

block_list::block_list(std::vector<block_entry> entries) : entries_(std::move(entries)) {
    // Shortest prefix first: a lookup's candidates come back in index order, so
    // the last one is the most specific block.
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const block_entry& a, const block_entry& b) { return a.prefix.prefix_len < b.prefix.prefix_len; });
    std::vector<address_classifier::entry> prefixes;
    prefixes.reserve(entries_.size());
    for (uint32_t i = 0; i < entries_.size(); ++i) prefixes.push_back({entries_[i].prefix, i});
    // Each address lies in at most 33 (IPv4) or 129 (IPv6) nested prefixes.
    if (!classifier_.build(prefixes, entries_.size() * 130 + 1))
        throw std::length_error("block list: too many nested blocks");
}

} // namespace egress::policy
