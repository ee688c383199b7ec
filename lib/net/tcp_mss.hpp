// TCP MSS clamping: lowering the maximum segment size a SYN or SYN-ACK
// announces, so both ends send segments that fit a path whose MTU is smaller
// than their own links' (overlays, SR-IOV VMs), without relying on ICMP.
#pragma once

#include <cstdint>
#include <span>

#include "net/packet_view.hpp"

namespace egress::net {

enum class mss_clamp_result : uint8_t {
    untouched, // no MSS option, or it is already at most the limit
    clamped,   // the option was lowered to the limit
    malformed, // the options could not be walked (left untouched)
};

// On a segment parsed as `view` (TCP, SYN flag set: the caller checks), walks
// the options (EOL, NOP, kind/length with length >= 2 inside the header; an MSS
// option must have length 4) and lowers an MSS above `max_mss` to `max_mss`,
// updating the TCP checksum incrementally (RFC 1624, byte by byte: the option
// may sit at an odd offset). Options that cannot be walked are left as they are.
mss_clamp_result clamp_tcp_mss(std::span<uint8_t> frame, const packet_view& view, uint16_t max_mss) noexcept;

} // namespace egress::net
