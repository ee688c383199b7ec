// verify = "resolve" (issue 16): egressd asks its own resolvers for a name.
// A worker never talks DNS itself: it posts a lookup_request (the name and the
// address family of the flow's destination) into its bounded request ring; the
// resolver thread (controlplane/dns_resolver.hpp, c-ares) asks [dns] resolvers
// and hands the outcome back as a lookup_answer into every worker's answer ring
// (the DNS response as received, so each worker records it with the same code
// that records an observed answer: CNAME chains, TTL + grace, max_ttl).
//
// lookup_table is a worker's record of the lookups it is waiting for, one entry
// per (name, family): a flow that needs a name already asked for waits for the
// same answer instead of asking again. Fixed size (`entries`), allocated at
// construction, searched linearly (the slow path: only names that are not in
// the cache). An entry is waiting from its request until its answer or
// `timeout_ms` (then timed_out); a finished entry (answered, failed, timed out)
// is kept `timeout_ms` longer so that the flows that waited for it (they look
// again at their client's next packet) get its outcome instead of a new lookup,
// then its slot is free; a new name takes the oldest finished entry's slot
// when no slot is free. When every entry is waiting, a new name gets no lookup
// (start returns false; the caller applies [dns] on_resolve_failure).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/spsc_ring.hpp"

namespace egress::dns {

inline constexpr std::size_t max_lookup_name = 253;     // a DNS name in dotted form, no trailing dot
inline constexpr std::size_t max_lookup_response = 2048; // longer responses count as failed lookups

enum class lookup_family : uint8_t { v4, v6 }; // A or AAAA

struct lookup_request {
    lookup_family family = lookup_family::v4;
    uint8_t length = 0;
    char name[max_lookup_name + 1] = {};
    std::string_view text() const noexcept { return {name, length}; }
};

enum class lookup_status : uint8_t {
    answered,  // NOERROR: `response` holds the DNS response (it may have no address for the name)
    no_name,   // NXDOMAIN or no record of the family: the name has no address to match
    failed,    // SERVFAIL, REFUSED, unreachable resolvers, a response too long, the resolver thread busy
    timed_out, // no resolver answered within the resolver thread's timeout
};

struct lookup_answer {
    lookup_family family = lookup_family::v4;
    lookup_status status = lookup_status::failed;
    uint8_t length = 0;
    char name[max_lookup_name + 1] = {};
    uint16_t size = 0; // bytes of response
    uint8_t response[max_lookup_response] = {};
    std::string_view text() const noexcept { return {name, length}; }
    std::span<const uint8_t> message() const noexcept { return {response, size}; }
};

using request_ring = base::spsc_ring<lookup_request>;
using answer_ring = base::spsc_ring<lookup_answer>;

// Where a name's lookup stands for a worker.
enum class lookup_state : uint8_t {
    none,      // no entry: not asked (or its entry is free again)
    waiting,   // asked, no answer yet, within timeout_ms
    answered,  // answered (the cache holds what the answer said; no_name answers hold nothing)
    failed,    // the lookup failed
    timed_out, // no answer within timeout_ms (or the resolver timed out)
};

class lookup_table {
public:
    lookup_table(uint32_t entries, uint32_t timeout_ms);

    // The state of (name_hash, family) at now_ms (ms, any wrapping clock).
    lookup_state state(uint64_t name_hash, lookup_family family, uint32_t now_ms) noexcept;
    // Starts waiting for (name_hash, family): false when every entry is in use.
    bool start(uint64_t name_hash, lookup_family family, uint32_t now_ms) noexcept;
    // The outcome arrived; no effect when nothing waits for it (its entry timed
    // out or was reused: the answer still fills the cache).
    void finish(uint64_t name_hash, lookup_family family, lookup_status status, uint32_t now_ms) noexcept;
    // Entries waiting now.
    uint32_t waiting(uint32_t now_ms) noexcept;
    uint32_t capacity() const noexcept { return static_cast<uint32_t>(entries_.size()); }

private:
    struct entry {
        uint64_t name_hash = 0;
        uint32_t since_ms = 0; // when asked (waiting) or finished
        lookup_family family = lookup_family::v4;
        lookup_state state = lookup_state::none;
    };
    entry* find(uint64_t name_hash, lookup_family family, uint32_t now_ms) noexcept;
    void age(entry& e, uint32_t now_ms) const noexcept;

    std::vector<entry> entries_;
    uint32_t timeout_ms_;
};

// The request for `name` (its dotted form; one trailing dot dropped): false
// when the name is empty or too long to ask.
bool make_request(std::string_view name, lookup_family family, lookup_request& out) noexcept;

// The outcome of request `r` as the workers get it: its name and family, the
// status, and (answered only) the DNS response as received. A response larger
// than the answer holds is a failure.
void make_answer(const lookup_request& r, lookup_status status, std::span<const uint8_t> response,
                 lookup_answer& out) noexcept;

} // namespace egress::dns
