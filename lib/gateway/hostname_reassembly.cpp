#include "gateway/hostname_reassembly.hpp"

#include <algorithm>
#include <cstring>

#include "tls/client_hello.hpp"
#include "tls/http_request.hpp"

namespace egress::gateway {

std::string_view to_string(inspect_outcome o) noexcept {
    switch (o) {
    case inspect_outcome::pending: return "pending";
    case inspect_outcome::hostname: return "hostname";
    case inspect_outcome::no_sni: return "no_sni";
    case inspect_outcome::ech: return "ech";
    case inspect_outcome::oversize: return "oversize";
    case inspect_outcome::not_tls: return "not_tls";
    case inspect_outcome::not_http: return "not_http";
    case inspect_outcome::no_host: return "no_host";
    case inspect_outcome::malformed: return "malformed";
    case inspect_outcome::quic_not_initial: return "quic_not_initial";
    case inspect_outcome::quic_unknown_version: return "quic_unknown_version";
    case inspect_outcome::quic_version_negotiation: return "quic_version_negotiation";
    case inspect_outcome::quic_retry: return "quic_retry";
    case inspect_outcome::quic_undecryptable: return "quic_undecryptable";
    }
    return "unknown";
}

hostname_reassembly::hostname_reassembly(const inspect_settings& s, uint32_t flow_capacity)
    : settings_(s), slot_of_(flow_capacity, none), slots_(s.slots) {
    settings_.max_bytes = (std::max<uint32_t>(s.max_bytes, 64) + 7) / 8 * 8;
    for (uint32_t i = 0; i < slots_.size(); ++i) slots_[i].next_free = i + 1 < slots_.size() ? i + 1 : none;
    free_slot_ = slots_.empty() ? none : 0;
    buffer_bytes_.resize(std::size_t{s.buffers} * settings_.max_bytes);
    buffer_maps_.resize(std::size_t{s.buffers} * settings_.max_bytes / 8);
    free_buffers_.reserve(s.buffers);
    for (uint32_t b = s.buffers; b-- > 0;) free_buffers_.push_back(b);
}

bool hostname_reassembly::start(uint32_t flow, policy::inspection_kind kind, uint32_t syn_seq) noexcept {
    const bool reads_name = kind == policy::inspection_kind::tls || kind == policy::inspection_kind::http ||
                            kind == policy::inspection_kind::quic;
    if (free_slot_ == none) return false;
    if (reads_name && free_buffers_.empty() && !take_back_oldest_kept()) return false;
    const uint32_t index = free_slot_;
    slot& s = slots_[index];
    free_slot_ = s.next_free;
    s.flow = flow;
    s.base = {syn_seq + 1, 0}; // the SYN takes one sequence number
    s.contiguous = 0;
    s.end = 0;
    s.held_since = 0;
    s.consumed_packets = 0;
    s.consumed_octets = 0;
    s.overflowed = false;
    s.release_due = false;
    s.name_check = 0;
    s.verify = verify_state::off;
    s.kind = kind;
    s.outcome = reads_name ? inspect_outcome::pending : inspect_outcome::hostname;
    s.hostname_length = 0;
    s.dlp = dlp::dlp_flow_state{};
    s.buffer = none;
    if (reads_name) {
        s.buffer = free_buffers_.back();
        free_buffers_.pop_back();
        std::memset(&buffer_maps_[std::size_t{s.buffer} * settings_.max_bytes / 8], 0, settings_.max_bytes / 8);
        ++buffers_in_use_;
    }
    slot_of_[flow] = index;
    ++slots_in_use_;
    return true;
}

void hostname_reassembly::release_buffer(slot& s) noexcept {
    if (s.verify == verify_state::kept) unlink_kept(s);
    if (s.verify != verify_state::off) --verifying_flows_;
    s.verify = verify_state::off;
    if (s.buffer == none) return;
    free_buffers_.push_back(s.buffer); // capacity reserved for every buffer: no allocation
    s.buffer = none;
    --buffers_in_use_;
}

void hostname_reassembly::finish(uint32_t flow) noexcept {
    const uint32_t index = slot_of_[flow];
    if (index == none) return;
    slot& s = slots_[index];
    release_buffer(s);
    dlp::dlp_scanner::release(s.dlp); // streams back to the scanner that lent them
    s.flow = none;
    s.next_free = free_slot_;
    free_slot_ = index;
    slot_of_[flow] = none;
    --slots_in_use_;
}

inspect_outcome hostname_reassembly::feed(uint32_t flow, uint32_t seq, std::span<const uint8_t> payload,
                                          bool* stored) noexcept {
    if (stored != nullptr) *stored = false;
    const uint32_t index = slot_of_[flow];
    if (index == none) return inspect_outcome::pending;
    slot& s = slots_[index];
    if (s.outcome != inspect_outcome::pending || payload.empty() || s.buffer == none) return s.outcome;
    const stored_as how = store(s, seq, payload);
    if (how == stored_as::too_far) {
        s.outcome = inspect_outcome::oversize;
        s.overflowed = true;
        return s.outcome;
    }
    if (stored != nullptr) *stored = true;
    if (how == stored_as::all_old) return s.outcome;
    const uint32_t max = settings_.max_bytes;
    const uint8_t* bytes = &buffer_bytes_[std::size_t{s.buffer} * max];
    const uint8_t* map = &buffer_maps_[std::size_t{s.buffer} * max / 8];
    uint32_t c = s.contiguous;
    while (c < max && (map[c / 8] >> (c % 8) & 1) != 0) ++c;
    if (c == s.contiguous) return s.outcome; // a hole before this segment
    s.contiguous = c;
    decide(s, {bytes, c});
    if (s.outcome == inspect_outcome::pending && c == max) s.outcome = inspect_outcome::oversize, s.overflowed = true;
    return s.outcome;
}

bool hostname_reassembly::hold_more(uint32_t flow, uint32_t seq, std::span<const uint8_t> payload) noexcept {
    const uint32_t index = slot_of_[flow];
    if (index == none || slots_[index].buffer == none) return false;
    return payload.empty() || store(slots_[index], seq, payload) != stored_as::too_far;
}

// The segment's bytes into the slot's buffer at their place in the client's
// stream (serial arithmetic: bytes before the window start are clipped); a
// retransmission overwrites the same bytes, so each byte is held once.
hostname_reassembly::stored_as hostname_reassembly::store(slot& s, uint32_t seq,
                                                          std::span<const uint8_t> payload) noexcept {
    const uint32_t max = settings_.max_bytes;
    uint8_t* bytes = &buffer_bytes_[std::size_t{s.buffer} * max];
    uint8_t* map = &buffer_maps_[std::size_t{s.buffer} * max / 8];
    int64_t at = static_cast<int32_t>(seq - s.base[0]);
    std::size_t skip = 0;
    if (at < 0) {
        if (static_cast<uint64_t>(-at) >= payload.size()) return stored_as::all_old; // nothing of it to keep
        skip = static_cast<std::size_t>(-at);
        at = 0;
    }
    const auto begin = static_cast<uint64_t>(at);
    const uint64_t end = begin + (payload.size() - skip);
    if (end > max) return stored_as::too_far;
    std::memcpy(bytes + begin, payload.data() + skip, end - begin);
    for (uint64_t i = begin; i < end; ++i) map[i / 8] = static_cast<uint8_t>(map[i / 8] | (1u << (i % 8)));
    s.end = std::max(s.end, static_cast<uint32_t>(end));
    return stored_as::kept;
}

void hostname_reassembly::keep_for_verify(uint32_t flow) noexcept {
    const uint32_t index = slot_of_[flow];
    if (index == none) return;
    slot& s = slots_[index];
    if (s.buffer == none || s.end == 0 || s.verify != verify_state::off) return release_buffer(s);
    s.verify = verify_state::kept;
    ++verifying_flows_;
    s.kept_prev = kept_tail_;
    s.kept_next = none;
    (kept_tail_ == none ? kept_head_ : slots_[kept_tail_].kept_next) = index;
    kept_tail_ = index;
    ++buffers_kept_;
}

void hostname_reassembly::unlink_kept(slot& s) noexcept {
    (s.kept_prev == none ? kept_head_ : slots_[s.kept_prev].kept_next) = s.kept_next;
    (s.kept_next == none ? kept_tail_ : slots_[s.kept_next].kept_prev) = s.kept_prev;
    s.kept_prev = s.kept_next = none;
    --buffers_kept_;
}

// Every buffer is in use: the one kept longest goes to the new flow; its flow
// can no longer compare (unknown) until the server acknowledges the bytes.
bool hostname_reassembly::take_back_oldest_kept() noexcept {
    if (kept_head_ == none) return false;
    slot& s = slots_[kept_head_];
    release_buffer(s);
    s.verify = verify_state::taken_back;
    ++verifying_flows_;
    return true;
}

void hostname_reassembly::server_acked(uint32_t flow, uint32_t ack) noexcept {
    const uint32_t index = slot_of_[flow];
    if (index == none) return;
    slot& s = slots_[index];
    if (s.verify != verify_state::off && static_cast<int32_t>(ack - s.base[0] - s.end) >= 0) release_buffer(s);
}

overlap hostname_reassembly::check_overlap(uint32_t flow, uint32_t seq,
                                           std::span<const uint8_t> payload) const noexcept {
    const uint32_t index = slot_of_[flow];
    if (index == none) return overlap::fine;
    const slot& s = slots_[index];
    const int64_t at = static_cast<int32_t>(seq - s.base[0]);
    const int64_t from = std::max<int64_t>(at, 0);
    const int64_t to = std::min<int64_t>(at + static_cast<int64_t>(payload.size()), s.end);
    if (from >= to) return overlap::fine;
    if (s.buffer == none) return s.verify == verify_state::taken_back ? overlap::unknown : overlap::fine;
    const uint8_t* bytes = &buffer_bytes_[std::size_t{s.buffer} * settings_.max_bytes];
    const uint8_t* map = &buffer_maps_[std::size_t{s.buffer} * settings_.max_bytes / 8];
    for (int64_t i = from; i < to; ++i)
        if ((map[i / 8] >> (i % 8) & 1) != 0 && bytes[i] != payload[static_cast<std::size_t>(i - at)])
            return overlap::conflict;
    return overlap::fine;
}

std::span<const uint8_t> hostname_reassembly::next_held(uint32_t flow, uint32_t& at) const noexcept {
    const uint32_t index = slot_of_[flow];
    if (index == none || slots_[index].buffer == none) return {};
    const slot& s = slots_[index];
    const uint8_t* bytes = &buffer_bytes_[std::size_t{s.buffer} * settings_.max_bytes];
    const uint8_t* map = &buffer_maps_[std::size_t{s.buffer} * settings_.max_bytes / 8];
    const auto present = [&](uint32_t i) { return (map[i / 8] >> (i % 8) & 1) != 0; };
    while (at < s.end && !present(at)) ++at;
    uint32_t run = at;
    while (run < s.end && present(run)) ++run;
    return {bytes + at, run - at};
}

void hostname_reassembly::note_hold(uint32_t flow, uint32_t now) noexcept {
    slot& s = slots_[slot_of_[flow]];
    if (s.end == 0) s.held_since = now;
}

bool hostname_reassembly::hold_datagram(uint32_t flow, std::span<const uint8_t> payload) noexcept {
    slot& s = slots_[slot_of_[flow]];
    const std::size_t half = settings_.max_bytes / 2;
    if (s.buffer == none || s.end + 2 + payload.size() > half) {
        s.overflowed = true;
        return false;
    }
    uint8_t* at = &buffer_bytes_[std::size_t{s.buffer} * settings_.max_bytes + s.end];
    at[0] = static_cast<uint8_t>(payload.size() >> 8);
    at[1] = static_cast<uint8_t>(payload.size());
    std::memcpy(at + 2, payload.data(), payload.size());
    s.end += static_cast<uint32_t>(2 + payload.size());
    return true;
}

std::span<const uint8_t> hostname_reassembly::held_datagrams(uint32_t flow) const noexcept {
    const uint32_t index = slot_of_[flow];
    if (index == none || slots_[index].buffer == none) return {};
    return {&buffer_bytes_[std::size_t{slots_[index].buffer} * settings_.max_bytes], slots_[index].end};
}

std::span<uint8_t> hostname_reassembly::quic_storage(uint32_t flow) noexcept {
    const slot& s = slots_[slot_of_[flow]];
    const std::size_t half = settings_.max_bytes / 2;
    return {&buffer_bytes_[std::size_t{s.buffer} * settings_.max_bytes + half], settings_.max_bytes - half};
}

void hostname_reassembly::set_outcome(uint32_t flow, inspect_outcome o, std::string_view name) noexcept {
    slot& s = slots_[slot_of_[flow]];
    s.outcome = o;
    s.hostname_length = static_cast<uint8_t>(std::min(name.size(), s.hostname.size()));
    if (s.hostname_length != 0) std::memcpy(s.hostname.data(), name.data(), s.hostname_length); // an empty name may have no data
}

void hostname_reassembly::decide(slot& s, std::span<const uint8_t> stream) noexcept {
    const auto set_name = [&](const char* name, std::size_t n) {
        s.hostname_length = static_cast<uint8_t>(std::min(n, s.hostname.size()));
        std::memcpy(s.hostname.data(), name, s.hostname_length);
    };
    if (s.kind == policy::inspection_kind::tls) {
        const tls::client_hello_info h = tls::parse_client_hello(stream, settings_.max_bytes);
        switch (h.status) {
        case tls::hello_status::need_more: return;
        case tls::hello_status::not_tls: s.outcome = inspect_outcome::not_tls; return;
        case tls::hello_status::too_large: s.outcome = inspect_outcome::oversize; return;
        case tls::hello_status::malformed: s.outcome = inspect_outcome::malformed; return;
        case tls::hello_status::complete: break;
        }
        if (h.has_sni) set_name(h.sni.data(), h.sni_length);
        s.outcome = h.ech ? inspect_outcome::ech : h.has_sni ? inspect_outcome::hostname : inspect_outcome::no_sni;
        return;
    }
    const tls::http_request_info r = tls::parse_http_request(stream, settings_.max_bytes);
    switch (r.status) {
    case tls::http_status::need_more: return;
    case tls::http_status::not_http: s.outcome = inspect_outcome::not_http; return;
    case tls::http_status::host_missing: s.outcome = inspect_outcome::no_host; return;
    case tls::http_status::too_large: s.outcome = inspect_outcome::oversize; return;
    case tls::http_status::malformed: s.outcome = inspect_outcome::malformed; return;
    case tls::http_status::complete: break;
    }
    set_name(r.host.data(), r.host_length);
    s.outcome = inspect_outcome::hostname;
}

inspect_outcome hostname_reassembly::outcome(uint32_t flow) const noexcept {
    const uint32_t index = slot_of_[flow];
    return index == none ? inspect_outcome::pending : slots_[index].outcome;
}

std::string_view hostname_reassembly::hostname(uint32_t flow) const noexcept {
    const uint32_t index = slot_of_[flow];
    if (index == none) return {};
    return {slots_[index].hostname.data(), slots_[index].hostname_length};
}

policy::inspection_kind hostname_reassembly::kind(uint32_t flow) const noexcept {
    const uint32_t index = slot_of_[flow];
    return index == none ? policy::inspection_kind::none : slots_[index].kind;
}

std::size_t hostname_reassembly::memory_bytes() const noexcept {
    return slot_of_.size() * sizeof(uint32_t) + slots_.size() * sizeof(slot) + buffer_bytes_.size() +
           buffer_maps_.size() + free_buffers_.capacity() * sizeof(uint32_t);
}

} // namespace egress::gateway
