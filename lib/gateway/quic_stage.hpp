// The QUIC hold: a UDP flow to a TLS port (`[policy] quic = "inspect"`) that
// reaches a hostname rule is decided on the SNI of the ClientHello its client
// sends in its first Initial packets (RFC 9001 §4), by the same policy
// evaluation as TLS over TCP (flow_policy_stage). Until then, every datagram of
// the client is held (consumed) whole in the flow's reassembly buffer; allowed,
// they leave in arrival order (gateway_core::release_hold); denied, none does.
//
// Per flow the state is the hostname_reassembly slot and buffer the flow holds
// anyway (same pool, same bound, same hold timeout): the buffer's first half
// keeps the held datagrams, its second half the CRYPTO stream, and
// `flows_[buffer]` the Initial state (version, DCID, keys, packet numbers,
// the CRYPTO ranges and the parsed hello), preallocated per buffer. Nothing
// here allocates after construction; libcrypto contexts are per worker
// (quic::initial_inspector), created once.
//
// Outcomes (hostname_reassembly.hpp), from quic::initial_status:
//   need_more -> pending; complete -> hostname / no_sni / ech (the outer name);
//   not_initial, unknown_version, version_negotiation, retry, undecryptable ->
//   quic_*; malformed -> malformed; too_large (or a datagram that does not fit
//   the held half) -> oversize. flow_policy_stage gives each its action.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "gateway/hostname_reassembly.hpp"
#include "quic/initial_inspector.hpp"

namespace egress::gateway {

class quic_stage {
public:
    quic_stage(const inspect_settings& s, hostname_reassembly& reassembly);

    // One client datagram (its UDP payload) of a flow waiting for its name:
    // held (`stored`: it is among the held datagrams now) and read. Returns
    // the flow's outcome so far; once decided, the same outcome again.
    inspect_outcome read(uint32_t flow, std::span<const uint8_t> payload, bool& stored) noexcept;

    std::size_t memory_bytes() const noexcept { return flows_.capacity() * sizeof(quic::initial_flow); }

private:
    hostname_reassembly& reassembly_;
    quic::initial_inspector inspector_;
    std::vector<quic::initial_flow> flows_; // per reassembly buffer
};

} // namespace egress::gateway
