// libFuzzer target: the fragment stage (gateway/fragment_stage.hpp over
// fragment_tracker) on arbitrary sequences of fragments of a few datagrams,
// with clock steps and expiry sweeps, used the way gateway_core uses it (a
// first fragment passes or is refused by the flow stages; held fragments are
// released after their first). Fragments are what the packet parser lets
// through: non-empty, a multiple of 8 bytes unless last, within 65535 bytes.
// After every step it checks, aborting on a violation:
//   * bounded memory: active datagrams <= max_datagrams, held copies <= slots;
//   * every fragment accounted once: fragments in = passed + refused (by the
//     reason the stage gave) + held now + held copies the tracker discarded
//     (its fragment_timeout and fragment_datagram_dropped counters), and its
//     fragments_forwarded / fragments_held counters match what happened;
//   * a release gives back exactly the copies held for that datagram, in
//     arrival order, byte for byte;
//   * a refused datagram (overlap, bad end, too many, hold full, its first
//     refused) frees its held copies at once, each counted;
//   * timeouts: once the clock is past every datagram's lifetime, a full
//     sweep leaves no datagram and no held copy.
//
// Input: byte 0 = configuration (bits 0..1: max datagrams 1/2/4/8, bits
// 2..3: fragments per datagram 2/3/4/8, bits 4..5: hold slots 0/1/2/4); then
// 5-byte steps [op][datagram][offset_hi][offset_lo][length]: op & 3 is 0 or 1
// a fragment (op & 4: more follow; op & 8: a first fragment is refused by the
// flow stages; op & 16: a later one fails to leave), 2 the clock moves, 3 an
// expiry sweep (budget: the datagram byte).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

#include "gateway/fragment_stage.hpp"

namespace {

using namespace egress;
using gateway::fragment_stage;
using stats::drop_reason;

constexpr uint32_t datagram_counts[4] = {1, 2, 4, 8};
constexpr uint32_t fragment_limits[4] = {2, 3, 4, 8};
constexpr uint32_t slot_counts[4] = {0, 1, 2, 4};
constexpr uint32_t clock_steps[8] = {0, 1, 10, 500, 1'999, 2'000, 2'001, 60'000};
constexpr uint32_t timeout_ms = 2'000;

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "fragments_fuzz: %s\n", what);
    std::abort();
}

// Sixteen datagrams: IPv4 and IPv6, both directions, some differing in one key field only.
net::packet_view datagram(uint8_t which) {
    net::packet_view v;
    const bool v6 = (which & 4) != 0;
    v.family = v6 ? net::ip_family::v6 : net::ip_family::v4;
    // IPv6 keys have no protocol (RFC 8200): its datagrams differ in the source instead.
    v.src = v6 ? *net::ip_address::parse((which & 1) ? "fd00:0:0:1::6" : "fd00:0:0:1::5")
               : net::ip_address::from_v4(0x0a000005);
    v.dst = v6 ? *net::ip_address::parse("2001:db8:1::7") : net::ip_address::from_v4(0xc6336407);
    v.proto = (which & 1) ? net::proto_udp : net::proto_tcp;
    v.frag_id = (which & 2) ? 0x10000u + 7 : 7;
    return v;
}

struct harness {
    stats::worker_counters counters;
    fragment_stage stage;
    std::array<std::deque<uint32_t>, 16> held_serials; // per datagram (which & 15), in arrival order
    std::array<uint64_t, stats::drop_reason_count> refused{};
    uint64_t in = 0, passed = 0, forwarded = 0, held_total = 0;
    uint32_t now = 1'000, last_created = 1'000, serial = 0;

    explicit harness(const gateway::fragment_settings& s) : stage(s, counters) {}

    uint64_t discarded() const {
        return counters.drops[static_cast<std::size_t>(drop_reason::fragment_timeout)] +
               counters.drops[static_cast<std::size_t>(drop_reason::fragment_datagram_dropped)];
    }
    uint64_t refused_total() const {
        uint64_t n = 0;
        for (uint64_t r : refused) n += r;
        return n;
    }

    void check() const {
        const gateway::fragment_tracker& t = stage.tracker();
        if (t.active() > t.capacity()) violated("more datagrams than max_datagrams");
        if (t.held() > t.hold_slots()) violated("more held copies than slots");
        if (in != passed + refused_total() + t.held() + discarded()) violated("a fragment not accounted exactly once");
        if (counters.fragments_forwarded != forwarded) violated("fragments_forwarded differs");
        if (counters.fragments_held != held_total) violated("fragments_held differs");
    }

    // Datagram d was dropped: its held copies must have been discarded (counted) at once.
    void dropped(unsigned d, uint64_t discarded_before) {
        if (discarded() - discarded_before != held_serials[d].size()) violated("a dropped datagram kept held copies");
        held_serials[d].clear();
    }

    void release(uint32_t entry, unsigned d) {
        stage.release(entry, [&](std::span<const uint8_t> copy) {
            uint32_t s = 0;
            if (copy.size() < 64 || held_serials[d].empty()) violated("a release gave back a copy never held");
            std::memcpy(&s, copy.data(), sizeof s);
            if (s != held_serials[d].front()) violated("held copies released out of order");
            for (std::size_t i = sizeof s; i < copy.size(); ++i)
                if (copy[i] != static_cast<uint8_t>(s + i)) violated("a held copy changed");
            held_serials[d].pop_front();
            ++passed;
        });
        if (!held_serials[d].empty()) violated("a release left held copies behind");
    }

    void fragment(uint8_t op, uint8_t which, uint16_t units, uint8_t len) {
        net::packet_view v = datagram(which);
        bool more = (op & 4) != 0;
        uint32_t offset = uint32_t{units & 0x1fffu} * 8;
        if (offset == 0) more = true; // offset 0 without more is a whole datagram, no fragment
        const uint16_t length = more ? static_cast<uint16_t>((len % 32 + 1) * 8) : static_cast<uint16_t>(len + 1);
        if (offset + length > 0xffff - 40) return; // the parser refuses those
        v.fragment = static_cast<uint8_t>(net::fragment_present | (more ? net::fragment_more : 0));
        v.frag_offset = static_cast<uint16_t>(offset);
        v.frag_length = length;
        std::array<uint8_t, 64 + 64> frame{};
        const uint32_t s = ++serial;
        std::memcpy(frame.data(), &s, sizeof s);
        for (std::size_t i = sizeof s; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(s + i);
        const std::span<const uint8_t> bytes(frame.data(), 64 + (len & 63));
        const auto dir = (which & 8) ? flow::direction::inbound : flow::direction::outbound;
        const unsigned d = which & 15;
        ++in;
        const uint64_t created = counters.fragment_datagrams, before = discarded();
        const fragment_stage::step st = stage.accept(dir, bytes, v, now);
        const bool fresh = counters.fragment_datagrams != created;
        if (fresh) {
            last_created = now;
            held_serials[d].clear(); // a new entry: copies of an older one were discarded by expiry
        }
        step(st, op, s, d, fresh ? discarded() : before);
    }

    void step(const fragment_stage::step& st, uint8_t op, uint32_t s, unsigned d, uint64_t before) {
        using kind = fragment_stage::step::kind;
        if (st.why != stats::no_drop) {
            ++refused[static_cast<std::size_t>(st.why)];
            if (st.why != drop_reason::fragment_table_full && st.why != drop_reason::fragment_datagram_dropped &&
                st.why != drop_reason::fragment_duplicate) {
                if (stage.tracker().state(st.entry) != gateway::datagram_state::dropped)
                    violated("a refusing reason left the datagram alive");
                dropped(d, before);
            }
            return;
        }
        switch (st.what) {
        case kind::held:
            held_serials[d].push_back(s);
            ++held_total;
            return;
        case kind::first:
            if (op & 8) {
                stage.done(st.entry, gateway::packet_result::drop(drop_reason::policy_denied));
                ++refused[static_cast<std::size_t>(drop_reason::policy_denied)];
                return dropped(d, before);
            }
            stage.first_passed(st.entry, s);
            release(st.entry, d);
            break;
        case kind::later:
            if (op & 16) {
                stage.done(st.entry, gateway::packet_result::drop(drop_reason::outbox_full));
                ++refused[static_cast<std::size_t>(drop_reason::outbox_full)];
                return dropped(d, before);
            }
            break;
        case kind::refused: violated("refused without a reason");
        }
        ++passed;
        ++forwarded;
        stage.done(st.entry, gateway::packet_result::forward());
    }

    void sweep(uint32_t budget) {
        stage.expire(now, budget);
        if (budget >= stage.tracker().capacity() && static_cast<int32_t>(now - (last_created + timeout_ms)) >= 0 &&
            (stage.tracker().active() != 0 || stage.tracker().held() != 0))
            violated("a full sweep past every lifetime left datagrams");
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    gateway::fragment_settings s;
    s.max_datagrams = datagram_counts[data[0] & 3];
    s.max_fragments_per_datagram = fragment_limits[(data[0] >> 2) & 3];
    s.max_held_bytes = slot_counts[(data[0] >> 4) & 3] * gateway::fragment_tracker::hold_slot_bytes;
    s.timeout_ms = timeout_ms;
    harness h(s);
    for (std::size_t at = 1; at + 5 <= size; at += 5) {
        const uint8_t op = data[at], which = data[at + 1];
        switch (op & 3) {
        case 0:
        case 1: h.fragment(op, which, static_cast<uint16_t>(data[at + 2] << 8 | data[at + 3]), data[at + 4]); break;
        case 2: h.now += clock_steps[which & 7]; break;
        case 3: h.sweep(which); break;
        }
        h.check();
    }
    return 0;
}
