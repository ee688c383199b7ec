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
    X(outbox_full, "outbox_full")                                       \
    X(icmp_quote_malformed, "icmp_quote_malformed")                     \
    X(icmp_error_no_flow, "icmp_error_no_flow")                         \
    X(mtu_exceeded, "mtu_exceeded")                                     \
    X(mtu_exceeded_no_df, "mtu_exceeded_no_df")                         \
    X(ipv4_bad_fragment, "ipv4_bad_fragment")                           \
    X(ipv6_bad_fragment, "ipv6_bad_fragment")                           \
    X(fragment_tiny_first, "fragment_tiny_first")                       \
    X(fragment_overlap, "fragment_overlap")                             \
    X(fragment_duplicate, "fragment_duplicate")                         \
    X(fragment_bad_end, "fragment_bad_end")                             \
    X(fragment_too_many, "fragment_too_many")                           \
    X(fragment_table_full, "fragment_table_full")                       \
    X(fragment_hold_full, "fragment_hold_full")                         \
    X(fragment_timeout, "fragment_timeout")                             \
    X(fragment_datagram_dropped, "fragment_datagram_dropped")           \
    X(fragment_no_flow, "fragment_no_flow")                             \
    X(fragment_inspected, "fragment_inspected")                         \
    X(vlan_mismatch, "vlan_mismatch")                                   \
    X(arp_truncated, "arp_truncated")                                   \
    X(arp_unsupported, "arp_unsupported")                               \
    X(arp_bad_sender, "arp_bad_sender")                                 \
    X(arp_not_for_us, "arp_not_for_us")                                 \
    X(ndp_bad_hop_limit, "ndp_bad_hop_limit")                           \
    X(ndp_bad_checksum, "ndp_bad_checksum")                             \
    X(ndp_malformed, "ndp_malformed")                                   \
    X(ndp_not_for_us, "ndp_not_for_us")                                 \
    X(neighbor_queue_full, "neighbor_queue_full")                       \
    X(neighbor_unresolved, "neighbor_unresolved")                       \
    X(neighbor_table_full, "neighbor_table_full")                       \
    X(neighbor_no_source, "neighbor_no_source")                         \
    X(vlan_no_headroom, "vlan_no_headroom")                             \
    X(echo_rate_limited, "echo_rate_limited")                           \
    X(handoff_full, "handoff_full")                                     \
    X(handoff_shutdown, "handoff_shutdown")                             \
    X(neighbor_copy_lost, "neighbor_copy_lost")                         \
    X(tcp_rst_out_of_window, "tcp_rst_out_of_window")                   \
    X(tcp_out_of_window, "tcp_out_of_window")                           \
    X(special_unspecified, "special_unspecified")                       \
    X(special_loopback, "special_loopback")                             \
    X(special_link_local, "special_link_local")                         \
    X(special_multicast, "special_multicast")                           \
    X(special_broadcast, "special_broadcast")                           \
    X(special_reserved, "special_reserved")                             \
    X(special_v4_mapped, "special_v4_mapped")                           \
    X(source_flow_limit, "source_flow_limit")                           \
    X(source_rate_limit, "source_rate_limit")                           \
    X(source_port_limit, "source_port_limit")                           \
    X(icmp_error_bad_checksum, "icmp_error_bad_checksum")               \
    X(hold_timeout, "hold_timeout")                                     \
    X(hold_syn_data, "hold_syn_data")                                   \
    X(inspect_quic_not_initial, "inspect_quic_not_initial")             \
    X(inspect_quic_unknown_version, "inspect_quic_unknown_version")     \
    X(inspect_quic_version_negotiation, "inspect_quic_version_negotiation") \
    X(inspect_quic_retry, "inspect_quic_retry")                         \
    X(inspect_quic_undecryptable, "inspect_quic_undecryptable")         \
    X(sni_unverified, "sni_unverified")                                 \
    X(dns_copy_lost, "dns_copy_lost")                                   \
    X(exception_rate_limited, "exception_rate_limited")                 \
    X(exception_queue_full, "exception_queue_full")                     \
    X(exception_source_refused, "exception_source_refused")             \
    X(stream_overlap_mismatch, "stream_overlap_mismatch")               \
    X(stream_overlap_unverified, "stream_overlap_unverified")           \
    X(ipv6_routing_type0, "ipv6_routing_type0")                         \
    X(ipv6_source_routed, "ipv6_source_routed")                         \
    X(exception_handoff_full, "exception_handoff_full")                 \
    X(resolve_timeout, "resolve_timeout")                               \
    X(resolve_failed, "resolve_failed")                                 \
    X(hostname_denied, "hostname_denied")                               \
    X(own_address_source, "own_address_source")

enum class drop_reason : uint8_t {
#define EGRESS_X(id, name) id,
    EGRESS_DROP_REASONS(EGRESS_X)
#undef EGRESS_X
    count_, // not a reason: the number of reasons
};

// "Nothing to refuse": what a parser or check returns when the packet is fine.
// It is not a verdict: what becomes of a frame in the gateway (forwarded,
// dropped, consumed, answered) is a gateway::packet_result.
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
