// lookup_table, make_request: see lookup.hpp.
#include "dns/lookup.hpp"

#include <cstring>

namespace egress::dns {

lookup_table::lookup_table(uint32_t entries, uint32_t timeout_ms) : entries_(entries), timeout_ms_(timeout_ms) {}

// Time moves an entry on: a wait past timeout_ms times out (at since + timeout,
// kept as long again); a finished entry older than timeout_ms is free.
void lookup_table::age(entry& e, uint32_t now_ms) const noexcept {
    if (e.state == lookup_state::none) return;
    const uint32_t age = now_ms - e.since_ms;
    if (e.state == lookup_state::waiting) {
        if (age < timeout_ms_) return;
        e.state = lookup_state::timed_out;
        e.since_ms += timeout_ms_;
        if (age - timeout_ms_ >= timeout_ms_) e.state = lookup_state::none;
        return;
    }
    if (age >= timeout_ms_) e.state = lookup_state::none;
}

lookup_table::entry* lookup_table::find(uint64_t name_hash, lookup_family family, uint32_t now_ms) noexcept {
    for (entry& e : entries_) {
        if (e.state == lookup_state::none || e.name_hash != name_hash || e.family != family) continue;
        age(e, now_ms);
        if (e.state != lookup_state::none) return &e;
    }
    return nullptr;
}

lookup_state lookup_table::state(uint64_t name_hash, lookup_family family, uint32_t now_ms) noexcept {
    const entry* e = find(name_hash, family, now_ms);
    return e != nullptr ? e->state : lookup_state::none;
}

// A free slot, else the oldest finished entry's (only waiting entries are
// never taken: their answers are still to come).
bool lookup_table::start(uint64_t name_hash, lookup_family family, uint32_t now_ms) noexcept {
    entry* slot = find(name_hash, family, now_ms);
    entry* oldest = nullptr;
    for (std::size_t i = 0; slot == nullptr && i < entries_.size(); ++i) {
        entry& e = entries_[i];
        age(e, now_ms);
        if (e.state == lookup_state::none) slot = &e;
        else if (e.state != lookup_state::waiting && (oldest == nullptr || now_ms - e.since_ms > now_ms - oldest->since_ms))
            oldest = &e;
    }
    if (slot == nullptr) slot = oldest;
    if (slot == nullptr) return false;
    *slot = entry{name_hash, now_ms, family, lookup_state::waiting};
    return true;
}

void lookup_table::finish(uint64_t name_hash, lookup_family family, lookup_status status, uint32_t now_ms) noexcept {
    entry* e = find(name_hash, family, now_ms);
    if (e == nullptr || e->state != lookup_state::waiting) return;
    e->since_ms = now_ms;
    switch (status) {
    case lookup_status::answered:
    case lookup_status::no_name: e->state = lookup_state::answered; break;
    case lookup_status::failed: e->state = lookup_state::failed; break;
    case lookup_status::timed_out: e->state = lookup_state::timed_out; break;
    }
}

uint32_t lookup_table::waiting(uint32_t now_ms) noexcept {
    uint32_t n = 0;
    for (entry& e : entries_) {
        age(e, now_ms);
        n += e.state == lookup_state::waiting ? 1 : 0;
    }
    return n;
}

bool make_request(std::string_view name, lookup_family family, lookup_request& out) noexcept {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > max_lookup_name) return false;
    out.family = family;
    out.length = static_cast<uint8_t>(name.size());
    std::memcpy(out.name, name.data(), name.size());
    out.name[name.size()] = '\0';
    return true;
}

void make_answer(const lookup_request& r, lookup_status status, std::span<const uint8_t> response,
                 lookup_answer& out) noexcept {
    out.family = r.family;
    out.length = r.length;
    std::memcpy(out.name, r.name, sizeof out.name);
    if (response.size() > sizeof out.response) status = lookup_status::failed;
    out.status = status;
    out.size = status == lookup_status::answered ? static_cast<uint16_t>(response.size()) : 0;
    if (out.size != 0) std::memcpy(out.response, response.data(), out.size);
}

} // namespace egress::dns
