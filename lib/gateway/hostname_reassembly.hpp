// Hostname inspection of new TCP flows (TLS SNI on the policy's TLS ports,
// HTTP Host on its HTTP ports): the per-flow state that reassembles the
// client's first bytes until the ClientHello / request headers are complete.
//
// Memory, all taken at construction:
//   * one 4-byte slot index per flow-table record (the flow's inspection slot);
//   * `slots` inspection slots (~520 B each): the owning flow, the sequence
//     numbers where each direction's bytes start, the outcome and the hostname,
//     kept for the whole flow (so flow records, egressctl flows and re-checks
//     after a reload know it), and the flow's DLP stream state;
//   * `buffers` reassembly buffers of `max_bytes` (+ a 1-bit-per-byte map of the
//     bytes received), held only while a flow's first bytes are incomplete.
// When slots or buffers run out, the caller applies the configured fail-open /
// fail-closed behaviour and counts it.
//
// Reassembly: the client's bytes are placed at (sequence - initial sequence);
// out-of-order segments are kept, a retransmission of the same bytes is absorbed, and
// the contiguous prefix from byte 0 is what the parsers see. Bytes beyond
// max_bytes make the outcome `oversize`. Nothing here allocates or locks after
// construction.
//
// QUIC flows (kind quic, quic_stage.hpp) use the same slot, buffer, bound and
// hold clock differently: the first half of the buffer holds the client's
// datagrams whole, each behind a 2-byte length (hold_datagram / held_datagrams),
// the second half is the flow's CRYPTO stream (quic_storage); the outcome is
// set by the QUIC stage (set_outcome), not by feed.
// Stream normalisation (TCP): the first copy of a byte is the one inspected and the
// one that leaves. A client segment whose bytes differ from held bytes it
// overlaps is refused (`conflict`), while holding and, after the release, until
// the server acknowledges the held bytes (a receiver discards what it has
// acknowledged, so older copies cannot replace them): the buffer is kept that
// long (`verifying`), so a retransmission whose first copy was lost beyond the
// gateway (a short TTL, say) cannot deliver other bytes than the inspected ones.
// Kept buffers cost no memory of their own (they are the hold's buffers, held
// about one round trip longer); when a new flow needs a buffer and none is
// free, the longest-kept one is taken back and its flow's overlap check becomes
// `unknown` until the server's acknowledgement passes the held bytes.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "dlp/dlp.hpp"
#include "policy/compiled_policy.hpp"

namespace egress::gateway {

enum class inspect_outcome : uint8_t {
    pending,   // not complete yet
    hostname,  // the name is known (SNI or Host)
    no_sni,    // a complete ClientHello without server_name
    ech,       // a complete ClientHello with encrypted_client_hello (outer name in hostname, if any)
    oversize,  // more than max_bytes before the ClientHello / headers ended
    not_tls,   // the client's bytes are not a TLS ClientHello
    not_http,  // the client's bytes are not an HTTP/1.x request
    no_host,   // an HTTP request without Host
    malformed, // a ClientHello / request with inconsistent lengths or bad fields
    // QUIC (quic_stage.hpp): a first datagram that is not a client's Initial.
    quic_not_initial,         // a short header, or a 0-RTT / Handshake packet first
    quic_unknown_version,     // a version whose Initial protection egressd does not know
    quic_version_negotiation, // a Version Negotiation packet (servers send those)
    quic_retry,               // a Retry packet (servers send those)
    quic_undecryptable,       // an Initial whose AEAD tag fails with its DCID's keys
};

std::string_view to_string(inspect_outcome o) noexcept;

// A client segment against the bytes already held (or released and kept).
enum class overlap : uint8_t {
    fine,     // no held byte overlapped, or every overlapped byte is the same
    conflict, // some overlapped byte differs from the held (inspected) one
    unknown,  // it overlaps released bytes whose buffer was taken back
};

struct inspect_settings {
    uint32_t slots = 65536;      // flows with an inspection slot at once
    uint32_t buffers = 1024;     // flows reassembling their first bytes at once
    uint32_t max_bytes = 16384;  // reassembly bound (ClientHello / HTTP request headers)
    bool fail_closed = false;    // no slot or buffer free: deny the flow (true) or let it pass uninspected
    uint32_t hold_timeout_ms = 10000; // held bytes with no verdict this long after the first: the flow is reset
    // A client segment overlapping released bytes that can no longer be
    // compared (hostname_reassembly.hpp, stream normalisation): passes (true)
    // or is dropped as stream_overlap_unverified (false, the default).
    bool unverified_overlap_passes = false;
};

class hostname_reassembly {
public:
    static constexpr uint32_t none = UINT32_MAX;

    hostname_reassembly(const inspect_settings& s, uint32_t flow_capacity);

    // A new flow (its SYN, sequence `syn_seq`; 0 for UDP) to inspect: `kind` tls
    // or http reads its name (takes a buffer too), none only holds the slot (for
    // DLP). False when no slot (or buffer) is free.
    bool start(uint32_t flow, policy::inspection_kind kind, uint32_t syn_seq) noexcept;
    // DLP: the flow's stream state, and the sequence number of each direction's
    // first payload byte (outbound from the SYN, inbound from the SYN-ACK).
    dlp::dlp_flow_state* dlp(uint32_t flow) noexcept {
        return slot_of_[flow] == none ? nullptr : &slots_[slot_of_[flow]].dlp;
    }
    uint32_t stream_base(uint32_t flow, dlp::dlp_direction d) const noexcept {
        return slots_[slot_of_[flow]].base[static_cast<std::size_t>(d)];
    }
    void set_inbound_base(uint32_t flow, uint32_t syn_ack_seq) noexcept {
        if (slot_of_[flow] != none) slots_[slot_of_[flow]].base[1] = syn_ack_seq + 1;
    }
    // The client's payload of a flow being inspected; returns the outcome so far
    // (pending until decided; the same outcome again for later segments).
    // The bytes stay in the buffer (the hold: they are released from it once
    // the flow is allowed) until stop_reading / finish. `stored`, when given,
    // says whether this segment's bytes are all in the buffer now (false when
    // they would pass max_bytes, or the outcome was already decided).
    inspect_outcome feed(uint32_t flow, uint32_t seq, std::span<const uint8_t> payload,
                         bool* stored = nullptr) noexcept;
    // After the outcome (a name to be checked with egressd's own lookup,
    // verify = "resolve"): the client's bytes are held the same way, without
    // a new outcome, and leave with the release. False when they would pass
    // max_bytes (not held).
    bool hold_more(uint32_t flow, uint32_t seq, std::span<const uint8_t> payload) noexcept;
    // The next run of held bytes at or after stream offset `at` (moved to the
    // run's start), empty when none: the held stream in sequence order, holes
    // skipped.
    std::span<const uint8_t> next_held(uint32_t flow, uint32_t& at) const noexcept;
    // The hold's clock: the time of its first held byte (set once, by
    // note_hold) and whether bytes are held at all.
    void note_hold(uint32_t flow, uint32_t now) noexcept;
    // A client segment consumed by the hold (no verdict yet): counted, so that a
    // denial can say how many of the flow's packets never left.
    void note_consumed(uint32_t flow, uint32_t ip_octets) noexcept {
        slot& s = slots_[slot_of_[flow]];
        ++s.consumed_packets;
        s.consumed_octets += ip_octets;
    }
    uint32_t consumed_packets(uint32_t flow) const noexcept { return slots_[slot_of_[flow]].consumed_packets; }
    uint32_t consumed_octets(uint32_t flow) const noexcept { return slots_[slot_of_[flow]].consumed_octets; }
    bool holding(uint32_t flow) const noexcept {
        return slot_of_[flow] != none && slots_[slot_of_[flow]].buffer != none && slots_[slot_of_[flow]].end != 0 &&
               slots_[slot_of_[flow]].verify == verify_state::off;
    }
    uint32_t held_since(uint32_t flow) const noexcept { return slots_[slot_of_[flow]].held_since; }
    // The held bytes reached max_bytes (the hold's per-flow bound).
    bool overflowed(uint32_t flow) const noexcept {
        return slot_of_[flow] != none && slots_[slot_of_[flow]].overflowed;
    }
    // A policy reload decided the flow without its name while bytes were held:
    // they go out with the flow's next client segment.
    void set_release_due(uint32_t flow) noexcept { slots_[slot_of_[flow]].release_due = true; }
    bool release_due(uint32_t flow) const noexcept {
        return slot_of_[flow] != none && slots_[slot_of_[flow]].release_due;
    }
    // The policy no longer needs the flow's name: frees its buffer (the slot,
    // and any DLP state in it, stay).
    void stop_reading(uint32_t flow) noexcept {
        if (slot_of_[flow] != none) release_buffer(slots_[slot_of_[flow]]);
    }
    // QUIC: appends one client datagram to the held ones (false, and the
    // flow marked overflowed, when the first half of the buffer is full).
    bool hold_datagram(uint32_t flow, std::span<const uint8_t> payload) noexcept;
    // QUIC: the held datagrams as stored (length-prefixed, in arrival order).
    std::span<const uint8_t> held_datagrams(uint32_t flow) const noexcept;
    // QUIC: the buffer's second half (the CRYPTO stream) and the buffer's
    // index (quic_stage keeps its per-flow Initial state under it).
    std::span<uint8_t> quic_storage(uint32_t flow) noexcept;
    uint32_t buffer_of(uint32_t flow) const noexcept {
        return slot_of_[flow] == none ? none : slots_[slot_of_[flow]].buffer;
    }
    uint32_t buffer_count() const noexcept { return settings_.buffers; }
    // QUIC: the outcome (and name) the flow's Initials gave.
    void set_outcome(uint32_t flow, inspect_outcome o, std::string_view name = {}) noexcept;

    // The flow is gone: frees its slot (and buffer).
    void finish(uint32_t flow) noexcept;

    // Stream normalisation (see the top of this file). `seq` and `payload` are
    // a client segment's; compares the bytes it overlaps.
    overlap check_overlap(uint32_t flow, uint32_t seq, std::span<const uint8_t> payload) const noexcept;
    // The held bytes were released: the buffer is kept for check_overlap until
    // the server acknowledges them (nothing held: it is freed now).
    void keep_for_verify(uint32_t flow) noexcept;
    // Released bytes still checked (kept, or taken back and unknown). The
    // worker-wide count first: with none (DLP-only flows, say), the packet
    // path does not touch the flow's slot for this.
    bool verifying(uint32_t flow) const noexcept {
        return verifying_flows_ != 0 && slot_of_[flow] != none && slots_[slot_of_[flow]].verify != verify_state::off;
    }
    // The server acknowledged up to `ack`: past the held bytes, the check ends.
    void server_acked(uint32_t flow, uint32_t ack) noexcept;
    uint32_t buffers_kept() const noexcept { return buffers_kept_; }

    // What the flow's name was checked against DNS with (flow_policy_stage's
    // mark: verify mode and whether it passed; 0: not checked).
    uint8_t name_check(uint32_t flow) const noexcept {
        return slot_of_[flow] == none ? 0 : slots_[slot_of_[flow]].name_check;
    }
    void set_name_check(uint32_t flow, uint8_t mark) noexcept {
        if (slot_of_[flow] != none) slots_[slot_of_[flow]].name_check = mark;
    }

    bool inspecting(uint32_t flow) const noexcept { return slot_of_[flow] != none; }
    inspect_outcome outcome(uint32_t flow) const noexcept;
    std::string_view hostname(uint32_t flow) const noexcept;
    policy::inspection_kind kind(uint32_t flow) const noexcept;

    uint32_t slots_in_use() const noexcept { return slots_in_use_; }
    uint32_t buffers_in_use() const noexcept { return buffers_in_use_; }
    std::size_t memory_bytes() const noexcept;

private:
    enum class verify_state : uint8_t { off, kept, taken_back };
    struct slot {
        uint32_t flow = none;
        std::array<uint32_t, 2> base{}; // sequence number of byte 0 of the client's / server's stream
        uint32_t buffer = none;
        uint32_t contiguous = 0;
        uint32_t end = 0;        // one past the highest held byte (0: nothing held)
        uint32_t held_since = 0; // gateway clock at the first held byte
        uint32_t consumed_packets = 0; // client segments the hold consumed (note_consumed)
        uint32_t consumed_octets = 0;
        uint32_t next_free = none;
        policy::inspection_kind kind = policy::inspection_kind::none;
        inspect_outcome outcome = inspect_outcome::pending;
        uint8_t hostname_length = 0;
        bool overflowed = false;
        bool release_due = false;
        uint8_t name_check = 0;
        verify_state verify = verify_state::off;
        uint32_t kept_prev = none; // the list of kept buffers, oldest first (slot indices)
        uint32_t kept_next = none;
        std::array<char, 253> hostname{};
        dlp::dlp_flow_state dlp; // released (streams back to their pool) when the flow ends
    };

    void decide(slot& s, std::span<const uint8_t> stream) noexcept;
    enum class stored_as : uint8_t { all_old, kept, too_far };
    stored_as store(slot& s, uint32_t seq, std::span<const uint8_t> payload) noexcept;
    void release_buffer(slot& s) noexcept;
    void unlink_kept(slot& s) noexcept;
    bool take_back_oldest_kept() noexcept;

    inspect_settings settings_;
    std::vector<uint32_t> slot_of_; // per flow record
    std::vector<slot> slots_;
    uint32_t free_slot_ = none;
    std::vector<uint8_t> buffer_bytes_; // buffers * max_bytes
    std::vector<uint8_t> buffer_maps_;  // buffers * max_bytes / 8
    std::vector<uint32_t> free_buffers_;
    uint32_t slots_in_use_ = 0;
    uint32_t buffers_in_use_ = 0;
    uint32_t kept_head_ = none; // oldest kept buffer's slot
    uint32_t kept_tail_ = none;
    uint32_t buffers_kept_ = 0;
    uint32_t verifying_flows_ = 0; // slots whose verify is not off
};

} // namespace egress::gateway
