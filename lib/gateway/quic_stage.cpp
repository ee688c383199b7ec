// quic_stage: see quic_stage.hpp.
#include "gateway/quic_stage.hpp"

#include <algorithm>

namespace egress::gateway {

namespace {

inspect_outcome outcome_of(const quic::initial_result& r) noexcept {
    using quic::initial_status;
    switch (r.status) {
    case initial_status::need_more: return inspect_outcome::pending;
    case initial_status::complete: break;
    case initial_status::not_initial: return inspect_outcome::quic_not_initial;
    case initial_status::unknown_version: return inspect_outcome::quic_unknown_version;
    case initial_status::version_negotiation: return inspect_outcome::quic_version_negotiation;
    case initial_status::retry: return inspect_outcome::quic_retry;
    case initial_status::undecryptable: return inspect_outcome::quic_undecryptable;
    case initial_status::malformed: return inspect_outcome::malformed;
    case initial_status::too_large: return inspect_outcome::oversize;
    }
    switch (r.kind()) {
    case quic::hello_kind::sni: return inspect_outcome::hostname;
    case quic::hello_kind::no_sni: return inspect_outcome::no_sni;
    case quic::hello_kind::ech: return inspect_outcome::ech;
    }
    return inspect_outcome::malformed;
}

// The CRYPTO half of a buffer (hostname_reassembly rounds max_bytes up to a
// multiple of 8, at least 64): what the inspector may reassemble, and so the
// largest ClientHello it reads.
uint32_t crypto_half(uint32_t max_bytes) noexcept {
    const uint32_t rounded = (std::max<uint32_t>(max_bytes, 64) + 7) / 8 * 8;
    return rounded - rounded / 2;
}

} // namespace

quic_stage::quic_stage(const inspect_settings& s, hostname_reassembly& reassembly)
    : reassembly_(reassembly), inspector_(crypto_half(s.max_bytes)), flows_(reassembly.buffer_count()) {}

inspect_outcome quic_stage::read(uint32_t flow, std::span<const uint8_t> payload, bool& stored) noexcept {
    stored = false;
    const inspect_outcome before = reassembly_.outcome(flow);
    const uint32_t buffer = reassembly_.buffer_of(flow);
    if (before != inspect_outcome::pending || buffer == hostname_reassembly::none) return before;
    quic::initial_flow& state = flows_[buffer];
    // The flow's first datagram: the buffer's Initial state starts afresh
    // (its previous flow's is stale). Copies in place, no allocation.
    if (!reassembly_.holding(flow)) state = quic::initial_flow(reassembly_.quic_storage(flow));
    if (!reassembly_.hold_datagram(flow, payload)) {
        reassembly_.set_outcome(flow, inspect_outcome::oversize);
        return inspect_outcome::oversize;
    }
    stored = true;
    const quic::initial_result r = inspector_.ready() ? inspector_.inspect(state, payload)
                                                      : quic::initial_result{quic::initial_status::undecryptable};
    const inspect_outcome o = outcome_of(r);
    if (o == inspect_outcome::pending) return o;
    const bool named = r.hello != nullptr && r.hello->has_sni;
    reassembly_.set_outcome(flow, o, named ? r.hello->server_name() : std::string_view());
    return o;
}

} // namespace egress::gateway
