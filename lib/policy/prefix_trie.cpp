#include "policy/prefix_trie.hpp"

#include <algorithm>
#include <map>

namespace egress::policy {

namespace {

bool key_prefix_equal(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, unsigned bits) {
    unsigned i = 0;
    for (; bits >= 8; bits -= 8, ++i) {
        if (a[i] != b[i]) return false;
    }
    if (bits == 0) return true;
    const auto mask = static_cast<uint8_t>(0xff << (8 - bits));
    return ((a[i] ^ b[i]) & mask) == 0;
}

constexpr uint32_t child_bit = 0x8000'0000u; // expanded form: the slot holds a child node

struct distinct_prefix {
    std::array<uint8_t, 16> key{};
    uint8_t len = 0;
    std::vector<uint32_t> own;     // values of this exact prefix
    uint32_t class_id = 0;
};

// Distinct prefixes sorted by (key, len): an ancestor sorts before its
// descendants; each with its own values, ascending, once each.
std::vector<distinct_prefix> distinct_prefixes(std::vector<prefix_trie::entry> entries) {
    std::sort(entries.begin(), entries.end(), [](const prefix_trie::entry& a, const prefix_trie::entry& b) {
        if (a.key != b.key) return a.key < b.key;
        if (a.len != b.len) return a.len < b.len;
        return a.value < b.value;
    });
    std::vector<distinct_prefix> prefixes;
    for (const prefix_trie::entry& e : entries) {
        if (prefixes.empty() || prefixes.back().key != e.key || prefixes.back().len != e.len) {
            prefixes.push_back(distinct_prefix{e.key, e.len, {}, 0});
        }
        auto& own = prefixes.back().own;
        if (own.empty() || own.back() != e.value) own.push_back(e.value);
    }
    return prefixes;
}

// Class of each prefix: its ancestors' class plus its own values (stack walk
// over the nested intervals), deduplicated. Classes go to offsets / values
// (class 0, the empty one, already there); false when they would hold more
// than max_entries values.
bool assign_classes(std::vector<distinct_prefix>& prefixes, std::size_t max_entries, std::vector<uint32_t>& offsets,
                    std::vector<uint32_t>& values) {
    std::map<std::vector<uint32_t>, uint32_t> class_ids;
    class_ids.emplace(std::vector<uint32_t>{}, 0);
    std::vector<std::size_t> stack;       // indexes into prefixes
    std::vector<std::vector<uint32_t>> stack_sets;
    std::size_t total = 0;
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
        distinct_prefix& p = prefixes[i];
        while (!stack.empty() && !key_prefix_equal(prefixes[stack.back()].key, p.key, prefixes[stack.back()].len)) {
            stack.pop_back();
            stack_sets.pop_back();
        }
        std::vector<uint32_t> set;
        const std::vector<uint32_t> empty;
        const std::vector<uint32_t>& parent = stack_sets.empty() ? empty : stack_sets.back();
        set.reserve(parent.size() + p.own.size());
        std::set_union(parent.begin(), parent.end(), p.own.begin(), p.own.end(), std::back_inserter(set));
        const auto [it, inserted] = class_ids.emplace(set, static_cast<uint32_t>(offsets.size() - 1));
        if (inserted) {
            total += set.size();
            if (total > max_entries) return false;
            values.insert(values.end(), set.begin(), set.end());
            offsets.push_back(static_cast<uint32_t>(values.size()));
        }
        p.class_id = it->second;
        stack.push_back(i);
        stack_sets.push_back(std::move(set));
    }
    return true;
}

// The trie in expanded form: 256 slots per node, child_bit marks a child.
// Shortest prefixes are inserted first: a longer prefix then overrides the
// part of a shorter one it covers, and a new child node starts as a copy of
// the entry it replaces (leaf pushing), so every entry holds the class of its
// longest prefix.
std::vector<uint32_t> expand(std::vector<distinct_prefix>& prefixes) {
    std::stable_sort(prefixes.begin(), prefixes.end(),
                     [](const distinct_prefix& a, const distinct_prefix& b) { return a.len < b.len; });
    std::vector<uint32_t> expanded;
    expanded.assign(256, 0);
    for (const distinct_prefix& p : prefixes) {
        uint32_t node = 0;
        unsigned level = 0;
        while (p.len > 8 * (level + 1)) {
            const std::size_t slot = node * 256u + p.key[level];
            const uint32_t e = expanded[slot];
            if ((e & child_bit) != 0) {
                node = e & ~child_bit;
            } else {
                const auto child = static_cast<uint32_t>(expanded.size() / 256);
                expanded.resize(expanded.size() + 256, e);
                expanded[slot] = child | child_bit;
                node = child;
            }
            ++level;
        }
        const unsigned free_bits = 8 * (level + 1) - p.len;
        const unsigned first = p.key[level] & (0xffu << free_bits) & 0xffu;
        std::fill_n(expanded.begin() + node * 256u + first, 1u << free_bits, p.class_id);
    }
    return expanded;
}

} // namespace

bool prefix_trie::build(unsigned key_bytes, std::vector<entry> entries, std::size_t max_entries) {
    key_bytes_ = key_bytes;
    nodes_.clear();
    runs_.clear();
    class_offsets_.assign({0, 0}); // class 0: empty
    class_values_.clear();
    std::vector<distinct_prefix> prefixes = distinct_prefixes(std::move(entries));
    if (!assign_classes(prefixes, max_entries, class_offsets_, class_values_)) {
        class_offsets_.clear();
        class_values_.clear();
        return false;
    }
    compress(expand(prefixes));
    return true;
}

// Compress breadth first, so that each node's children are contiguous.
void prefix_trie::compress(const std::vector<uint32_t>& expanded) {
    std::vector<uint32_t> order{0}; // expanded node ids in compressed order
    for (std::size_t k = 0; k < order.size(); ++k) {
        const uint32_t* slots = expanded.data() + std::size_t{order[k]} * 256;
        node n{};
        n.child_base = static_cast<uint32_t>(order.size());
        n.run_base = static_cast<uint32_t>(runs_.size());
        bool have_run = false;
        uint32_t last = 0;
        for (unsigned slot = 0; slot < 256; ++slot) {
            const uint32_t e = slots[slot];
            if ((e & child_bit) != 0) {
                n.children[slot >> 6] |= uint64_t{1} << (slot & 63);
                order.push_back(e & ~child_bit);
            } else if (!have_run || e != last) {
                n.run_starts[slot >> 6] |= uint64_t{1} << (slot & 63);
                runs_.push_back(e);
                have_run = true;
                last = e;
            }
        }
        for (unsigned w = 1; w < 4; ++w) {
            n.children_before[w] = static_cast<uint8_t>(n.children_before[w - 1] + std::popcount(n.children[w - 1]));
            n.runs_before[w] = static_cast<uint8_t>(n.runs_before[w - 1] + std::popcount(n.run_starts[w - 1]));
        }
        nodes_.push_back(n);
    }
}

bool address_classifier::build(const std::vector<entry>& entries, std::size_t max_entries) {
    std::vector<prefix_trie::entry> v4;
    std::vector<prefix_trie::entry> v6;
    for (const entry& e : entries) {
        prefix_trie::entry t;
        t.value = e.value;
        if (e.prefix.is_v4()) {
            std::copy_n(e.prefix.base.v4_bytes(), 4, t.key.begin());
            t.len = static_cast<uint8_t>(e.prefix.prefix_len - 96);
            v4.push_back(t);
        } else {
            t.key = e.prefix.base.bytes;
            t.len = e.prefix.prefix_len;
            v6.push_back(t);
        }
    }
    return v4_.build(4, std::move(v4), max_entries) && v6_.build(16, std::move(v6), max_entries);
}

} // namespace egress::policy
