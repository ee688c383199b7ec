// Every reason a packet can be dropped, from one table with stable names.
// The names are part of the user interface (summary, metrics): never rename one,
// only append.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace egress::stats {

// X(identifier, "stable_name")
#define EGRESS_DROP_REASONS(X)                                          \
    X(l2_truncated, "l2_truncated")                                     \
    X(l2_dst_not_local, "l2_dst_not_local")                             \
    X(vlan_truncated, "vlan_truncated")                                 \
    X(ethertype_unsupported, "ethertype_unsupported")                   \
    X(ipv4_truncated, "ipv4_truncated")                                 \
    X(ipv4_bad_header, "ipv4_bad_header")                               \
    X(ipv4_bad_checksum, "ipv4_bad_checksum")                           \
    X(ipv4_bad_length, "ipv4_bad_length")                               \
    X(ipv4_bad_options, "ipv4_bad_options")                             \
    X(ipv4_fragment, "ipv4_fragment")                                   \
    X(ipv6_truncated, "ipv6_truncated")                                 \
    X(ipv6_bad_header, "ipv6_bad_header")                               \
    X(ipv6_bad_length, "ipv6_bad_length")                              \
    X(ipv6_ext_header_malformed, "ipv6_ext_header_malformed")           \
    X(ipv6_ext_chain_too_long, "ipv6_ext_chain_too_long")               \
    X(ipv6_fragment, "ipv6_fragment")                                   \
    X(l4_proto_unsupported, "l4_proto_unsupported")                     \
    X(tcp_truncated, "tcp_truncated")                                   \
    X(tcp_bad_offset, "tcp_bad_offset")                                 \
    X(udp_truncated, "udp_truncated")                                   \
    X(udp_bad_length, "udp_bad_length")                                 \
    X(icmp_truncated, "icmp_truncated")                                 \
    X(icmp_type_unsupported, "icmp_type_unsupported")                   \
    X(bad_address, "bad_address")                                       \
    X(local_delivery_unsupported, "local_delivery_unsupported")         \
    X(ttl_expired, "ttl_expired")                                       \
    X(inbound_unsolicited, "inbound_unsolicited")                       \
    X(tcp_new_not_syn, "tcp_new_not_syn")                               \
    X(tcp_invalid_transition, "tcp_invalid_transition")                 \
    X(flow_table_full, "flow_table_full")                               \
    X(nat_ports_exhausted, "nat_ports_exhausted")                       \
    X(nat_no_ipv4_pool, "nat_no_ipv4_pool")                             \
    X(tx_full, "tx_full")                                               \
    X(icmp_new_not_request, "icmp_new_not_request")                     \
    X(frame_multisegment, "frame_multisegment")                         \
    X(policy_denied, "policy_denied")                                   \
    X(policy_cut, "policy_cut")                                         \
    X(policy_blocked, "policy_blocked")                                 \
    X(policy_quic, "policy_quic")                                       \
    X(inspect_no_sni, "inspect_no_sni")                                 \
    X(inspect_ech, "inspect_ech")                                       \
    X(inspect_oversize, "inspect_oversize")                             \
    X(inspect_not_tls, "inspect_not_tls")                               \
    X(inspect_not_http, "inspect_not_http")                             \
    X(inspect_no_host, "inspect_no_host")                               \
    X(inspect_malformed, "inspect_malformed")                           \
    X(inspect_exhausted, "inspect_exhausted")                           \
    X(mbuf_exhausted, "mbuf_exhausted")                                 \
    X(dlp_blocked, "dlp_blocked")                                       \
    X(dlp_out_of_order, "dlp_out_of_order")                             \
    X(handoff_full, "handoff_full")                                     \
    X(handoff_shutdown, "handoff_shutdown")

enum class drop_reason : uint8_t {
#define EGRESS_X(id, name) id,
    EGRESS_DROP_REASONS(EGRESS_X)
#undef EGRESS_X
    count_ // not a reason: the number of reasons
};

// "Not dropped": parsers and the pipeline return this when the packet goes on.
inline constexpr drop_reason no_drop = drop_reason::count_;

inline constexpr std::size_t drop_reason_count = static_cast<std::size_t>(drop_reason::count_);

inline constexpr std::array<std::string_view, drop_reason_count> drop_reason_names{
#define EGRESS_X(id, name) std::string_view{name},
    EGRESS_DROP_REASONS(EGRESS_X)
#undef EGRESS_X
};

constexpr std::string_view name_of(drop_reason r) noexcept {
    return r == no_drop ? std::string_view{"none"} : drop_reason_names[static_cast<std::size_t>(r)];
}

} // namespace egress::stats
