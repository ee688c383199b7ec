// The DNS answers a worker sees, for verify = "observed" (issue 16): a DNS
// response (UDP or TCP source port 53) on the reply direction of a flow an
// inside host opened is recorded in this worker's dns::observed_names under
// that inside host (the scope: the host the answer went to); a hostname
// decision whose rule says verify = "observed" then asks verified(): is the
// flow's destination among the addresses DNS gave that name to the flow's
// inside host, or to one of the configured inside resolvers, within the
// answer's TTL plus [dns] grace_seconds.
//
// Sharing between workers. The worker that owns the DNS flow is rarely the one
// that owns the later TLS flow to the answered address. Each worker keeps its
// own table (single writer, no lock, no atomic on the lookup); the owner of the
// DNS flow records the answer and its result asks the dataplane to hand every
// other worker a copy of the (translated) frame over the existing hand-off
// rings, like ARP / ND learn copies (packet_result::share_with_peers with
// dns_answer set); they record it from gateway_core::learn_from_peer. A copy
// that cannot be made or queued is dns_copy_lost: that worker may then deny a
// name the others would allow until the next answer (fails closed). Memory is
// therefore the table's bound times the workers.
//
// TCP (RFC 7766): each message is preceded by its 2-byte length. A segment's
// payload is read as whole length-prefixed messages from its first byte; a
// message continuing beyond the segment (or a segment that starts inside one)
// is not recorded (dns_tcp_unread): a host whose answer came that way fails
// verification until it asks again (fails closed).
//
// Only answers from [dns] servers are recorded when that list is set: an inside
// host that may query a DNS server of its own choosing can have that server
// vouch for any address (the policy should also allow port 53 only to them).
//
// verify = "resolve" (resolve()): the same check against egressd's own
// lookups, kept in a second table (resolved_, one scope, [dns] resolve_cache
// bindings) filled from the answers the resolver thread hands back through the
// answer ring (take_answers, every loop); a name not cached is asked through
// the request ring once per dns::lookup_table entry (dns/lookup.hpp).
//
// The clock: observed_names counts seconds in 32 bits; the gateway's millisecond
// clock wraps every 49.7 days, so the observer keeps its own seconds counter,
// advanced by the (modular) milliseconds elapsed between calls (and ticked by
// every sweep, so no gap comes near 2^31 ms).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "dns/lookup.hpp"
#include "dns/observed_names.hpp"
#include "net/ip_address.hpp"
#include "net/packet_view.hpp"
#include "stats/counters.hpp"

namespace egress::gateway {

// verify = "resolve": egressd's own lookups (dns/lookup.hpp; the resolver
// thread: controlplane/dns_resolver.hpp).
struct resolve_settings {
    std::vector<net::endpoint> resolvers; // [dns] resolvers; empty: verify = "resolve" cannot be used
    uint32_t timeout_ms = 2000;           // [dns] resolve_timeout_ms: a lookup's answer waited for
    bool allow_on_failure = false;        // [dns] on_resolve_failure = "allow" (default "deny")
    uint32_t pending_per_worker = 256;    // [dns] resolve_pending: names one worker waits for at once
    uint32_t max_outstanding = 1024;      // [dns] resolve_outstanding: lookups the resolver thread runs at once
    uint32_t cache_bindings = 16384;      // [dns] resolve_cache: (name, address) bindings per worker
    uint32_t ring_size = 256;             // request and answer rings, per worker
};

struct dns_settings {
    dns::observed_limits observed{16384, 1024, 4096, 30, 86400, 8};
    std::vector<net::ip_address> inside_resolvers; // their answers vouch for every inside host
    std::vector<net::ip_address> servers;          // only answers from these are recorded; empty: any
    uint64_t hash_key = 0;                         // observed_names' name hash key (random at start-up)
    resolve_settings resolve;
};

// Where verify = "resolve" stands for a flow's (name, destination).
enum class resolve_result : uint8_t {
    verified,   // egressd's resolvers gave the name this address (cached, TTL + grace)
    unverified, // they answered (or said NXDOMAIN / no record) without it: sni_unverified
    waiting,    // the lookup is under way: the verdict waits at the hold
    timed_out,  // no answer within [dns] resolve_timeout_ms: [dns] on_resolve_failure
    failed,     // the lookup failed, or could not be asked (table or ring full): on_resolve_failure
};

class dns_observer {
public:
    // Counts into the worker's counters (dns_* and sni_verified / sni_unverified).
    dns_observer(const dns_settings& s, stats::worker_counters& counters);

    // A packet of a flow's reply direction from port 53 (UDP or TCP), as
    // parsed: `scope` is the flow's inside host, `remote` the DNS server. Reads
    // the DNS message(s) in it; true when it held one to record (the other
    // workers then get a copy).
    bool observe(const net::ip_address& scope, const net::ip_address& remote, std::span<const uint8_t> frame,
                 const net::packet_view& view, uint32_t now_ms) noexcept;
    // A peer's copy of such a frame: parses it; records it when it is a UDP or
    // TCP packet from port 53 (scope: its destination, already the inside
    // host). False when it is not one (the copy is for someone else).
    bool observe_copy(std::span<const uint8_t> frame, uint32_t now_ms) noexcept;

    bool verified(const net::ip_address& inside, std::string_view name, const net::ip_address& destination,
                  uint32_t now_ms) noexcept;
    // What DNS said for `name` to `inside` (then to the inside resolvers): up
    // to out.size() unexpired addresses. Slow path (the event of a mismatch).
    std::size_t said(const net::ip_address& inside, std::string_view name, uint32_t now_ms,
                     std::span<net::ip_address> out) noexcept;

    // verify = "resolve": whether egressd's own resolvers gave `name` the
    // address `destination`; asks them (posts a request) when the cache has
    // no answer and no lookup of the name is under way. Counts sni_verified /
    // sni_unverified on a final answer, resolve_* otherwise.
    resolve_result resolve(std::string_view name, const net::ip_address& destination, uint32_t now_ms) noexcept;
    // What egressd's resolvers said for `name` (slow path, the event).
    std::size_t resolved(std::string_view name, uint32_t now_ms, std::span<net::ip_address> out) noexcept;
    // The rings to the resolver thread (both or neither; before the first packet).
    void attach_resolver(dns::request_ring* requests, dns::answer_ring* answers) noexcept {
        requests_ = requests;
        answers_ = answers;
    }
    // Takes the answers the resolver thread handed back into the cache (every loop).
    // Returns how many it took.
    uint32_t take_answers(uint32_t now_ms) noexcept;

    // Advances the clock (the worker's sweep calls it every loop).
    void tick(uint32_t now_ms) noexcept { seconds(now_ms); }

    const dns::observed_names& table() const noexcept { return names_; }
    const dns::observed_names& resolved_table() const noexcept { return resolved_; }

private:
    uint32_t seconds(uint32_t now_ms) noexcept;
    // The messages of a packet into the table: how many (the caller counts them).
    uint32_t read(const net::ip_address& scope, std::span<const uint8_t> frame, const net::packet_view& view,
                  uint32_t now_ms, bool& unread) noexcept;
    bool from_server(const net::ip_address& remote) const noexcept;

    dns::observed_names names_;
    dns::observed_names resolved_; // egressd's own lookups: one scope (the unspecified address)
    dns::lookup_table lookups_;
    dns::request_ring* requests_ = nullptr;
    dns::answer_ring* answers_ = nullptr;
    dns::lookup_answer answer_; // the answer being taken (no copy on the stack)
    std::vector<net::ip_address> resolvers_;
    std::vector<net::ip_address> servers_;
    stats::worker_counters& counters_;
    uint32_t last_ms_ = 0;
    uint64_t elapsed_ms_ = 0;
    bool started_ = false;
};

} // namespace egress::gateway
