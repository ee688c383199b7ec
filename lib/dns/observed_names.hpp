// The names DNS gave, as egressd saw the answers pass: (scope, name) ->
// addresses, so an SNI or Host can be checked against what DNS said for it
// (issue 16, verify = "observed"). A scope is the inside host the answer went
// to, or a configured inside resolver (the caller decides which answers it
// records under which scope; recording answers from servers it does not trust
// lets a host vouch for its own lies).
//
// What is recorded from one response: only NOERROR answers to one question.
// Starting at the question name, CNAME records are followed (up to
// `max_cname_depth` links, each link's owner being the previous target); every
// A / AAAA record whose owner is on that chain binds each name of the chain up
// to it to the address. Records about names off the chain are ignored (a
// response speaks for its question, not for other names). A binding expires at
// now + min(TTLs along its chain, max_ttl) + grace.
//
// Memory is fixed at construction: `max_bindings` bindings of
// `bytes_per_binding` bytes each (one record and two index slots), up to
// `max_scopes` scopes, no allocation afterwards. Names are kept as a keyed
// 64-bit hash of their lowercased dotted form (the key is chosen by the caller
// at startup, so a client cannot search for a colliding name offline).
//
// Eviction order, when a bound is reached:
//  1. a scope at `max_bindings_per_scope` loses its least recently answered
//     binding (one host cannot push out the bindings of the others beyond its
//     share);
//  2. when all `max_bindings` are in use, the least recently answered binding
//     of any scope goes (expired bindings are also dropped from that end
//     before each new response, a few per call);
//  3. when all scope slots are in use, a response for a new scope is not
//     recorded (counted in `scopes_full`).
// A binding answered again moves to the most recent end and keeps the later
// of its two expiry times.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "dns/dns_message.hpp"
#include "net/ip_address.hpp"

namespace egress::dns {

struct observed_limits {
    uint32_t max_bindings = 65536;
    uint32_t max_bindings_per_scope = 4096;
    uint32_t max_scopes = 4096;
    uint32_t grace_seconds = 30;
    uint32_t max_ttl_seconds = 86400;
    uint32_t max_cname_depth = 8;
};

struct observed_counters {
    uint64_t responses = 0;       // responses recorded (parsed, NOERROR, with a question)
    uint64_t ignored = 0;         // responses not usable (status or rcode)
    uint64_t bindings_added = 0;
    uint64_t bindings_refreshed = 0;
    uint64_t evicted_scope_full = 0;
    uint64_t evicted_total_full = 0;
    uint64_t expired = 0;
    uint64_t scopes_full = 0;
    uint64_t off_chain = 0;       // address records for names not on the question's chain
};

class observed_names {
public:
    observed_names(const observed_limits& limits, uint64_t hash_key);

    // Records the answers of one DNS response seen going to `scope`; `now` in
    // seconds (any monotonic clock, the same as for verified). Returns the
    // response's parse status (the records read before an error are kept).
    dns_status record(const net::ip_address& scope, std::span<const uint8_t> response, uint32_t now) noexcept;

    // Whether DNS told `scope` that `name` (any case, one trailing dot allowed)
    // has `address`, in a binding not expired at `now`.
    bool verified(const net::ip_address& scope, std::string_view name, const net::ip_address& address,
                  uint32_t now) const noexcept;

    // Up to out.size() unexpired addresses of `name` for `scope` (for the event
    // of a mismatch: "what DNS said"); returns how many were written. Walks the
    // scope's bindings: slow path only.
    std::size_t addresses(const net::ip_address& scope, std::string_view name, uint32_t now,
                          std::span<net::ip_address> out) const noexcept;

    // The keyed hash names are kept under (any case, one trailing dot allowed).
    uint64_t name_hash(std::string_view name) const noexcept;

    std::size_t size() const noexcept { return used_; }
    const observed_counters& counters() const noexcept { return counters_; }
    static constexpr std::size_t bytes_per_binding() noexcept {
        return sizeof(binding) + 2 * sizeof(uint32_t); // the record, two index slots
    }
    // All memory held (records, both indexes, scopes), fixed at construction.
    std::size_t memory_bytes() const noexcept {
        return bindings_.size() * sizeof(binding) + (index_.size() + scope_index_.size()) * sizeof(uint32_t) +
               scopes_.size() * sizeof(scope_entry);
    }

private:
    static constexpr uint32_t none = 0xffffffffu;
    struct binding {
        net::ip_address address;
        uint64_t name_hash;
        uint32_t expires;
        uint32_t scope;                    // index into scopes_; none when free
        uint32_t lru_prev, lru_next;       // all bindings, least recently answered first
        uint32_t scope_prev, scope_next;   // this scope's bindings, same order
    };
    struct scope_entry {
        net::ip_address address;
        uint32_t head = none, tail = none; // least / most recently answered
        uint32_t count = 0;
        bool used = false;
    };
    struct chain; // the question's CNAME chain, built per response

    uint64_t binding_hash(uint32_t scope, uint64_t name_hash, const net::ip_address& a) const noexcept;
    uint32_t find_scope(const net::ip_address& scope) const noexcept;
    uint32_t add_scope(const net::ip_address& scope) noexcept;
    void remove_scope(uint32_t s) noexcept;
    uint32_t find_binding(uint32_t scope, uint64_t name_hash, const net::ip_address& a) const noexcept;
    void bind(uint32_t scope, uint64_t name_hash, const net::ip_address& a, uint32_t expires) noexcept;
    void unlink(uint32_t b) noexcept;
    void link_newest(uint32_t b) noexcept;
    void erase(uint32_t b) noexcept;
    void index_insert(uint32_t b) noexcept;
    void index_erase(uint32_t b) noexcept;
    void drop_expired(uint32_t now, unsigned budget) noexcept;
    dns_status build_chain(dns_response& r, chain& c) noexcept;

    observed_limits limits_;
    uint64_t key_;
    std::vector<binding> bindings_;
    std::vector<uint32_t> index_;       // open addressing, linear probing: binding index or none
    std::vector<uint32_t> scope_index_; // likewise for scopes_
    std::vector<scope_entry> scopes_;
    uint32_t free_head_ = none;         // free bindings, through lru_next
    uint32_t free_scope_ = none;        // free scopes, through head
    uint32_t lru_head_ = none, lru_tail_ = none;
    uint32_t pinned_scope_ = none;      // the scope being recorded: kept even when emptied
    std::size_t used_ = 0;
    observed_counters counters_;
};

} // namespace egress::dns
