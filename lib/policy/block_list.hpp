// Emergency blocks: destination CIDRs an operator blocks at run time
// (`egressctl block`), outside the policy file. A block_list is an immutable
// snapshot of the blocks in force, published with the policy (see
// active_policy.hpp); adding, removing or expiring a block builds a new one.
//
// Lookup is the policy's longest-prefix-match classifier: O(address bytes),
// whatever the number of blocks. Blocks are checked before every rule: a
// blocked destination is denied whatever the policy says.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "policy/cidr.hpp"
#include "policy/prefix_trie.hpp"

namespace egress::policy {

struct block_entry {
    cidr prefix;
    uint64_t created_unix_ms = 0;
    uint64_t expires_unix_ms = 0; // 0: never
    bool expired_at(uint64_t now_unix_ms) const noexcept {
        return expires_unix_ms != 0 && now_unix_ms >= expires_unix_ms;
    }
};

class block_list {
public:
    static constexpr uint32_t none = UINT32_MAX;

    // entries: distinct prefixes (the control plane keeps them so).
    explicit block_list(std::vector<block_entry> entries);

    // The index of the most specific block containing a, or none.
    uint32_t match(const net::ip_address& a) const noexcept {
        const auto hits = classifier_.lookup(a);
        return hits.empty() ? none : hits.back(); // values are ordered by prefix length
    }
    std::span<const block_entry> entries() const noexcept { return entries_; }
    bool empty() const noexcept { return entries_.empty(); }

private:
    std::vector<block_entry> entries_; // sorted by prefix length, shortest first
    address_classifier classifier_;
};

} // namespace egress::policy
