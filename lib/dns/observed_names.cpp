// The names DNS gave, as seen: see observed_names.hpp.
#include "dns/observed_names.hpp"

#include <algorithm>
#include <array>

#include "base/hash.hpp"

namespace egress::dns {

namespace {

constexpr uint32_t none = 0xffffffffu;
constexpr uint32_t max_depth_cap = 16;
constexpr uint64_t k0 = 0xa0761d6478bd642full;
constexpr uint64_t k1 = 0xe7037ed1a0b428dbull;
constexpr uint64_t k2 = 0x8ebc6af09c88c6e3ull;

std::size_t table_size(uint32_t entries) {
    std::size_t n = 16;
    while (n < 2 * static_cast<std::size_t>(entries)) n *= 2;
    return n;
}

// Backward-shift deletion in a linear-probing table (no tombstones, so lookups
// stay short however many bindings come and go).
template <class HomeOf> void erase_slot(std::vector<uint32_t>& table, std::size_t slot, HomeOf home) {
    const std::size_t mask = table.size() - 1;
    std::size_t hole = slot;
    for (std::size_t j = (slot + 1) & mask; table[j] != none; j = (j + 1) & mask) {
        const std::size_t h = home(table[j]);
        const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
        if (!stays) {
            table[hole] = table[j];
            hole = j;
        }
    }
    table[hole] = none;
}

// Both operands of mum must carry entropy in all bits (a small key or the zero
// upper half of an IPv4-mapped address would leave the low bits, which pick the
// slot, almost constant): the constants fill them.
uint64_t address_hash(const net::ip_address& a, uint64_t key) noexcept {
    return base::mum(base::load64(a.bytes.data()) ^ key ^ k0, base::load64(a.bytes.data() + 8) ^ k1);
}

} // namespace

struct observed_names::chain {
    std::array<dns_name, max_depth_cap + 1> names{};
    std::array<uint32_t, max_depth_cap> link_ttl{}; // names[i] CNAME names[i + 1]
    uint32_t length = 0;                            // names on the chain (>= 1: the question)
};

observed_names::observed_names(const observed_limits& limits, uint64_t hash_key)
    : limits_(limits), key_(hash_key), bindings_(std::max<uint32_t>(limits.max_bindings, 1)),
      index_(table_size(limits.max_bindings), none), scope_index_(table_size(limits.max_scopes), none),
      scopes_(std::max<uint32_t>(limits.max_scopes, 1)) {
    limits_.max_cname_depth = std::min(limits_.max_cname_depth, max_depth_cap);
    limits_.max_bindings_per_scope = std::max<uint32_t>(limits_.max_bindings_per_scope, 1);
    for (uint32_t i = 0; i < bindings_.size(); ++i) {
        bindings_[i].scope = none;
        bindings_[i].lru_next = i + 1 < bindings_.size() ? i + 1 : none;
    }
    free_head_ = 0;
    for (uint32_t i = 0; i < scopes_.size(); ++i) scopes_[i].head = i + 1 < scopes_.size() ? i + 1 : none;
    free_scope_ = 0;
}

uint64_t observed_names::name_hash(std::string_view name) const noexcept {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    uint64_t h = key_ ^ (name.size() * k2);
    for (std::size_t i = 0; i < name.size(); i += 8) {
        uint64_t w = 0;
        for (std::size_t j = 0; j < 8 && i + j < name.size(); ++j) {
            const auto c = static_cast<uint8_t>(name[i + j]);
            w |= uint64_t{static_cast<uint8_t>(c >= 'A' && c <= 'Z' ? c + 32 : c)} << (8 * j);
        }
        h = base::mum(h ^ w, k0);
    }
    return base::mum(h ^ name.size(), k1);
}

uint64_t observed_names::binding_hash(uint32_t scope, uint64_t nh, const net::ip_address& a) const noexcept {
    return base::mum(base::mum(nh ^ scope, k2) ^ address_hash(a, key_), k0);
}

uint32_t observed_names::find_scope(const net::ip_address& scope) const noexcept {
    const std::size_t mask = scope_index_.size() - 1;
    for (std::size_t i = address_hash(scope, key_) & mask;; i = (i + 1) & mask) {
        const uint32_t s = scope_index_[i];
        if (s == none || scopes_[s].address == scope) return s;
    }
}

uint32_t observed_names::add_scope(const net::ip_address& scope) noexcept {
    if (free_scope_ == none) return none;
    const uint32_t s = free_scope_;
    free_scope_ = scopes_[s].head;
    scopes_[s] = scope_entry{scope, none, none, 0, true};
    const std::size_t mask = scope_index_.size() - 1;
    std::size_t i = address_hash(scope, key_) & mask;
    while (scope_index_[i] != none) i = (i + 1) & mask;
    scope_index_[i] = s;
    return s;
}

void observed_names::remove_scope(uint32_t s) noexcept {
    const std::size_t mask = scope_index_.size() - 1;
    std::size_t i = address_hash(scopes_[s].address, key_) & mask;
    while (scope_index_[i] != s) i = (i + 1) & mask;
    erase_slot(scope_index_, i, [&](uint32_t x) { return address_hash(scopes_[x].address, key_) & mask; });
    scopes_[s].used = false;
    scopes_[s].head = free_scope_;
    free_scope_ = s;
}

uint32_t observed_names::find_binding(uint32_t scope, uint64_t nh, const net::ip_address& a) const noexcept {
    const std::size_t mask = index_.size() - 1;
    for (std::size_t i = binding_hash(scope, nh, a) & mask;; i = (i + 1) & mask) {
        const uint32_t b = index_[i];
        if (b == none) return none;
        const binding& x = bindings_[b];
        if (x.name_hash == nh && x.scope == scope && x.address == a) return b;
    }
}

void observed_names::index_insert(uint32_t b) noexcept {
    const std::size_t mask = index_.size() - 1;
    const binding& x = bindings_[b];
    std::size_t i = binding_hash(x.scope, x.name_hash, x.address) & mask;
    while (index_[i] != none) i = (i + 1) & mask;
    index_[i] = b;
}

void observed_names::index_erase(uint32_t b) noexcept {
    const std::size_t mask = index_.size() - 1;
    const binding& x = bindings_[b];
    std::size_t i = binding_hash(x.scope, x.name_hash, x.address) & mask;
    while (index_[i] != b) i = (i + 1) & mask;
    erase_slot(index_, i, [&](uint32_t y) {
        const binding& z = bindings_[y];
        return binding_hash(z.scope, z.name_hash, z.address) & mask;
    });
}

void observed_names::unlink(uint32_t b) noexcept {
    binding& x = bindings_[b];
    (x.lru_prev == none ? lru_head_ : bindings_[x.lru_prev].lru_next) = x.lru_next;
    (x.lru_next == none ? lru_tail_ : bindings_[x.lru_next].lru_prev) = x.lru_prev;
    scope_entry& s = scopes_[x.scope];
    (x.scope_prev == none ? s.head : bindings_[x.scope_prev].scope_next) = x.scope_next;
    (x.scope_next == none ? s.tail : bindings_[x.scope_next].scope_prev) = x.scope_prev;
    --s.count;
}

void observed_names::link_newest(uint32_t b) noexcept {
    binding& x = bindings_[b];
    x.lru_prev = lru_tail_;
    x.lru_next = none;
    (lru_tail_ == none ? lru_head_ : bindings_[lru_tail_].lru_next) = b;
    lru_tail_ = b;
    scope_entry& s = scopes_[x.scope];
    x.scope_prev = s.tail;
    x.scope_next = none;
    (s.tail == none ? s.head : bindings_[s.tail].scope_next) = b;
    s.tail = b;
    ++s.count;
}

void observed_names::erase(uint32_t b) noexcept {
    index_erase(b);
    unlink(b);
    const uint32_t s = bindings_[b].scope;
    bindings_[b].scope = none;
    bindings_[b].lru_next = free_head_;
    free_head_ = b;
    --used_;
    if (scopes_[s].count == 0 && s != pinned_scope_) remove_scope(s);
}

void observed_names::drop_expired(uint32_t now, unsigned budget) noexcept {
    for (; budget > 0 && lru_head_ != none && bindings_[lru_head_].expires <= now; --budget) {
        erase(lru_head_);
        ++counters_.expired;
    }
}

void observed_names::bind(uint32_t scope, uint64_t nh, const net::ip_address& a, uint32_t expires) noexcept {
    uint32_t b = find_binding(scope, nh, a);
    if (b != none) {
        unlink(b);
        bindings_[b].expires = std::max(bindings_[b].expires, expires);
        link_newest(b);
        ++counters_.bindings_refreshed;
        return;
    }
    if (scopes_[scope].count >= limits_.max_bindings_per_scope) {
        erase(scopes_[scope].head);
        ++counters_.evicted_scope_full;
    } else if (free_head_ == none) {
        erase(lru_head_);
        ++counters_.evicted_total_full;
    }
    b = free_head_;
    free_head_ = bindings_[b].lru_next;
    bindings_[b] = binding{a, nh, expires, scope, none, none, none, none};
    index_insert(b);
    link_newest(b);
    ++used_;
    ++counters_.bindings_added;
}

dns_status observed_names::build_chain(dns_response& r, chain& c) noexcept {
    // One pass over the answers per link: a CNAME whose owner is the chain's
    // last name extends it (answers may come in any order).
    c.names[0] = r.question();
    c.length = 1;
    dns_status st = dns_status::end;
    while (c.length <= limits_.max_cname_depth) {
        dns_response again = r;
        dns_answer a;
        bool extended = false;
        while ((st = again.next_answer(a)) == dns_status::ok) {
            if (a.type != type_cname || !(a.owner == c.names[c.length - 1])) continue;
            c.link_ttl[c.length - 1] = a.ttl;
            c.names[c.length++] = a.target;
            extended = true;
            break;
        }
        if (!extended) break;
    }
    return st == dns_status::ok ? dns_status::end : st;
}

dns_status observed_names::record(const net::ip_address& scope, std::span<const uint8_t> response,
                                  uint32_t now) noexcept {
    drop_expired(now, 8);
    dns_response r;
    dns_status st = r.open(response);
    if (st != dns_status::ok || r.rcode() != 0) {
        ++counters_.ignored;
        return st;
    }
    uint32_t s = find_scope(scope);
    if (s == none && (s = add_scope(scope)) == none) {
        ++counters_.scopes_full;
        return dns_status::ok;
    }
    ++counters_.responses;
    pinned_scope_ = s;
    chain c;
    const dns_response start = r;
    build_chain(r, c);
    r = start;
    dns_answer a;
    while ((st = r.next_answer(a)) == dns_status::ok) {
        if (a.type != type_a && a.type != type_aaaa) continue;
        uint32_t j = 0;
        while (j < c.length && !(c.names[j] == a.owner)) ++j;
        if (j == c.length) {
            ++counters_.off_chain;
            continue;
        }
        // Name i reaches the address through links i..j-1 and the address record.
        uint32_t ttl = a.ttl;
        for (uint32_t i = j + 1; i-- > 0;) {
            const uint32_t life = std::min(ttl, limits_.max_ttl_seconds) + limits_.grace_seconds;
            bind(s, name_hash(c.names[i].view()), a.address, now + life);
            if (i > 0) ttl = std::min(ttl, c.link_ttl[i - 1]);
        }
    }
    pinned_scope_ = none;
    if (scopes_[s].count == 0) remove_scope(s);
    return st == dns_status::end ? dns_status::ok : st;
}

bool observed_names::verified(const net::ip_address& scope, std::string_view name, const net::ip_address& address,
                              uint32_t now) const noexcept {
    const uint32_t s = find_scope(scope);
    if (s == none) return false;
    const uint32_t b = find_binding(s, name_hash(name), address);
    return b != none && now < bindings_[b].expires;
}

std::size_t observed_names::addresses(const net::ip_address& scope, std::string_view name, uint32_t now,
                                      std::span<net::ip_address> out) const noexcept {
    const uint32_t s = find_scope(scope);
    if (s == none) return 0;
    const uint64_t nh = name_hash(name);
    std::size_t n = 0;
    for (uint32_t b = scopes_[s].tail; b != none && n < out.size(); b = bindings_[b].scope_prev) {
        if (bindings_[b].name_hash == nh && now < bindings_[b].expires) out[n++] = bindings_[b].address;
    }
    return n;
}

} // namespace egress::dns
