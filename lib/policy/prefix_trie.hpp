// Address classification for the compiled policy: maps an address to the sorted
// list of values (rule indexes) whose prefixes contain it, in a time that does not
// depend on how many prefixes or rules there are.
//
// How: the prefixes of one family partition the address space into regions; each
// region's answer is the union of the values of every prefix containing it, which
// is fully determined by the longest prefix containing it. So build() computes,
// for every distinct prefix, the union over its ancestors and itself (a "prefix
// class", deduplicated), and a longest-prefix-match structure maps an address to
// its class id. A lookup returns a span into one flat array: no rule is scanned.
//
// The LPM structure is a multibit trie with 8-bit strides built by controlled
// prefix expansion with leaf pushing (every one of a node's 256 slots holds either
// the class of its longest prefix or a child), then stored compressed the poptrie
// way (Asai & Ohara, SIGCOMM 2015): per node a 256-bit map of the slots that are
// children and a 256-bit map of where runs of equal classes start; children are
// contiguous (one base index) and so are the node's distinct runs, so a slot's
// child or class is a base plus a popcount. A node is 80 bytes plus 4 per run,
// instead of 1 KiB expanded (bench/policy_bench's 100,000-rule policy: 21 MiB
// in all instead of 94; the expanded form exists only while building).
// Chosen over a path-compressed binary trie because the walk is at most
// key_bytes steps (4 for IPv4, 16 for IPv6) with no per-bit branching, and over
// the plain expanded trie because the expanded one does not stay in cache.
//
// Cost: lookup O(key bytes) = at most 4 (IPv4) / 16 (IPv6) node visits. Build
// O(P log P + expanded nodes * 256 + sum of class sizes) for P prefixes; memory
// O(nodes * 80 bytes + runs * 4 + sum of class sizes * 4). The sum of class sizes
// is at worst P * V (every prefix nested in every other); build() refuses to go
// past max_entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <bit>
#include <span>
#include <string>
#include <vector>

#include "net/ip_address.hpp"
#include "policy/cidr.hpp"

namespace egress::policy {

// One family's trie. Keys are the family's bytes in network order: 4 for IPv4
// (the last 4 of the v4-mapped form), 16 for IPv6.
class prefix_trie {
public:
    struct entry {
        std::array<uint8_t, 16> key{}; // first key_bytes used, host bits zero
        uint8_t len = 0;               // 0..8*key_bytes
        uint32_t value = 0;
    };

    prefix_trie() = default;
    // Values of an entry may repeat; each class lists a value once, ascending.
    // Returns false (and leaves *this empty) if the classes would hold more than
    // max_entries values in total.
    bool build(unsigned key_bytes, std::vector<entry> entries, std::size_t max_entries);

    // The sorted values whose prefixes contain key (key_bytes bytes).
    std::span<const uint32_t> lookup(const uint8_t* key) const noexcept {
        if (nodes_.empty()) return {};
        const node* n = &nodes_[0];
        for (unsigned i = 0;; ++i) {
            const unsigned slot = key[i];
            const unsigned word = slot >> 6;
            const unsigned bit = slot & 63;
            if (((n->children[word] >> bit) & 1) != 0) {
                // The child's rank among the node's children (slots below this one).
                n = &nodes_[n->child_base + n->children_before[word] + rank_in_word(n->children[word], bit)];
                continue;
            }
            // The run holding this slot: the last run start at or below it.
            const uint32_t run = n->run_base + n->runs_before[word] + rank_in_word(n->run_starts[word], bit) +
                                 static_cast<uint32_t>((n->run_starts[word] >> bit) & 1) - 1;
            return class_span(runs_[run]);
        }
    }

    std::size_t class_count() const noexcept { return class_offsets_.empty() ? 0 : class_offsets_.size() - 1; }
    std::size_t node_count() const noexcept { return nodes_.size(); }
    std::size_t memory_bytes() const noexcept {
        return nodes_.size() * sizeof(node) + runs_.size() * 4 + class_offsets_.size() * 4 +
               class_values_.size() * 4;
    }

private:
    // Turns the expanded trie (256 slots per node) into nodes_ and runs_.
    void compress(const std::vector<uint32_t>& expanded);

    struct node {
        uint64_t children[4];   // slot s is a child: bit s
        uint64_t run_starts[4]; // slot s is a class slot starting a new run: bit s
        uint32_t child_base;    // index of the first child in nodes_
        uint32_t run_base;      // index of the first run in runs_
        uint8_t children_before[4]; // set bits of children[0..w-1] (at most 192)
        uint8_t runs_before[4];     // set bits of run_starts[0..w-1]
    };

    // Set bits of word below bit.
    static uint32_t rank_in_word(uint64_t word, unsigned bit) noexcept {
        return static_cast<uint32_t>(std::popcount(word & ((uint64_t{1} << bit) - 1)));
    }

    std::span<const uint32_t> class_span(uint32_t id) const noexcept {
        return {class_values_.data() + class_offsets_[id], class_values_.data() + class_offsets_[id + 1]};
    }

    unsigned key_bytes_ = 4;
    std::vector<node> nodes_;             // node 0 the root; each node's children contiguous
    std::vector<uint32_t> runs_;          // class id of each run
    std::vector<uint32_t> class_offsets_; // class i is class_values_[off[i] .. off[i+1]); class 0 is empty
    std::vector<uint32_t> class_values_;
};

// Both families: CIDRs in, ip_address lookups. IPv4 addresses (v4-mapped) are
// looked up in the IPv4 trie only, everything else in the IPv6 trie.
class address_classifier {
public:
    struct entry {
        cidr prefix;
        uint32_t value;
    };
    bool build(const std::vector<entry>& entries, std::size_t max_entries);

    std::span<const uint32_t> lookup(const net::ip_address& a) const noexcept {
        return a.is_v4() ? v4_.lookup(a.v4_bytes()) : v6_.lookup(a.bytes.data());
    }
    std::size_t class_count() const noexcept { return v4_.class_count() + v6_.class_count(); }
    std::size_t memory_bytes() const noexcept { return v4_.memory_bytes() + v6_.memory_bytes(); }

private:
    prefix_trie v4_;
    prefix_trie v6_;
};

} // namespace egress::policy
