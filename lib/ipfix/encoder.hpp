// RFC 7011 IPFIX message builder for one Exporting Process and one Observation
// Domain: turns flow::flow_event records into IPFIX Messages (UDP-sized), with
// Template Sets, per-domain sequence numbers and periodic template refresh.
//
// Wire format (RFC 7011, all integers big-endian, no padding):
//   Message header (16 octets, §3.1): version = 10 (u16), length of the whole
//     message (u16), export time in Unix seconds (u32), sequence number (u32) =
//     the number of Data Records sent in earlier messages of this domain
//     (modulo 2^32; template records do not count), observation domain id (u32).
//   Set header (4 octets, §3.3.2): set id (u16: 2 = Template Set, >= 256 = Data
//     Set of that template), set length including this header (u16).
//   Template record (§3.4.1): template id (u16), field count (u16), then per
//     field: IE id (u16, top bit = enterprise bit), field length (u16; 65535 =
//     variable length), and the 4-octet Private Enterprise Number when the
//     enterprise bit is set.
//   Variable-length fields in Data Records (§7): one length octet when the value
//     is shorter than 255 octets, else the octet 255 followed by a u16 length.
//
// Templates (fixed ids; every IE id, type and length checked against the IANA
// "IPFIX Information Elements" registry; "E" = enterprise-specific, see below):
//
//   256 ipv4_flow — flow_end and flow_update of an IPv4 (NAT44) flow. 29 fields,
//   131 fixed octets + 3 variable-length strings:
//     sourceIPv4Address            8    4   inside host as it sent
//     destinationIPv4Address      12    4   remote peer
//     sourceTransportPort          7    2
//     destinationTransportPort    11    2
//     protocolIdentifier           4    1
//     postNATSourceIPv4Address   225    4   public (pool) address
//     postNAPTSourceTransportPort 227   2   public port / ICMP identifier
//     initiatorOctets            231    8   initiator -> responder, delta
//     initiatorPackets           298    8
//     responderOctets            232    8   responder -> initiator, delta
//     responderPackets           299    8
//     octetDeltaCount              1    8   = initiatorOctets
//     packetDeltaCount             2    8   = initiatorPackets
//     postOctetDeltaCount         23    8   = responderOctets
//     postPacketDeltaCount        24    8   = responderPackets
//     flowStartMilliseconds      152    8   dateTimeMilliseconds (Unix ms)
//     flowEndMilliseconds        153    8
//     flowEndReason              136    1   flow::end_reason (IANA values)
//     firewallEvent              233    1   flow::firewall_event (IANA values)
//     tcpControlBits               6    2   unsigned16 (RFC 7125), both directions ORed
//     ingressInterface            10    4   port role: 0 inside, 1 outside
//     egressInterface             14    4
//     droppedOctetDeltaCount     132    8   a flow the gateway cut: its octets that did not leave
//     droppedPacketDeltaCount    133    8   ... and packets (both directions; also in the counts above)
//     E dropReason                 3    2   unsigned16: stats::drop_reason it was cut for (0 otherwise)
//     E resetsSent                 4    2   unsigned16: TCP resets the gateway sent for the flow
//     httpRequestHost            460  var   string
//     E tlsServerName              1  var   string, PEN settings.enterprise_number
//     E policyRuleName             2  var   string, PEN settings.enterprise_number
//
//   257 ipv6_flow — the same for an IPv6 flow (egress-only, not translated): the
//   ipv4_flow fields without postNATSourceIPv4Address and postNAPTSourceTransportPort,
//   with sourceIPv6Address (27, 16) and destinationIPv6Address
//   (28, 16) in place of the IPv4 addresses. 27 fields, 149 fixed octets + strings.
//
//   A flow the gateway cut mid-way (denied once its name was known, by a
//   [policy.inspection] setting or the hold's timeout, a reload, a block, DLP)
//   is one record: every packet it saw both ways in the counts, those dropped
//   from the cut on (the held hello included) in droppedOctet/PacketDeltaCount,
//   firewallEvent 3 (flow denied), flowEndReason 4 (forced end: the gateway
//   ended it), dropReason and policyRuleName (the rule or setting), and
//   resetsSent. It gets no separate refused-attempt record.
//
//   258 nat_event — RFC 8158 NAT44 session create/delete and ports exhausted.
//   9 fields, 28 octets:
//     observationTimeMilliseconds 323   8   event time (end_ms)
//     natEvent                   230    1
//     sourceIPv4Address            8    4   inside host
//     postNATSourceIPv4Address   225    4
//     protocolIdentifier           4    1
//     sourceTransportPort          7    2
//     postNAPTSourceTransportPort 227   2
//     destinationIPv4Address      12    4   the destination (kept, unlike some NAT loggers)
//     destinationTransportPort    11    2
//
//   259 ipv4_denied / 260 ipv6_denied — aggregated refused attempts. 10 fields,
//   40 (IPv4) / 64 (IPv6) octets:
//     sourceIPv4Address 8 / sourceIPv6Address 27          4 / 16
//     destinationIPv4Address 12 / destinationIPv6Address 28  4 / 16
//     sourceTransportPort          7    2
//     destinationTransportPort    11    2
//     protocolIdentifier           4    1
//     firewallEvent              233    1   3 = flow denied
//     packetDeltaCount             2    8   number of attempts aggregated
//     flowStartMilliseconds      152    8   first attempt
//     flowEndMilliseconds        153    8   last attempt
//     E dropReason                 3    2   unsigned16: stats::drop_reason code
//
//   261 exporter_statistics — Options Template (Options Template Set, set id 3),
//   RFC 7011 §4.3 Exporting Process Reliability Statistics: events the workers
//   could not queue are reported, never silently lost. 3 fields, 1 scope field,
//   20 octets:
//     exportingProcessId         144    4   scope; = settings.observation_domain_id
//     notSentFlowTotalCount      166    8   flow events lost so far (total counter)
//     observationTimeMilliseconds 323   8   when the count was taken
//
// Counters, and why both forms: 231/298/232/299 are the bidirectional NAT/firewall
// counters (initiator/responder). Collectors that know only the classic counters
// (nfdump 1.7 among them) read octetDeltaCount/packetDeltaCount as the "in" and
// postOctetDeltaCount/postPacketDeltaCount as the "out" counts, so both
// directions are repeated there: IE 1/2 always equal 231/298, IE 23/24 always
// equal 232/299. (Strictly, IANA defines 23/24 as the same direction after a
// middlebox, and 231/232 as layer-4 payload octets; egressd reports IP octets
// — IP header plus payload — in all four octet fields, so the pairs agree.
// RFC 5103 reverse elements (PEN 29305) are not used: fewer collectors show them.)
//
// Enterprise-specific elements (enterprise bit set, PEN = settings.enterprise_
// number, default 32473, the PEN reserved for documentation by RFC 5612 — set
// your own PEN in production):
//     1 tlsServerName   string      TLS ClientHello server_name
//     2 policyRuleName  string      name of the policy rule that matched
//     3 dropReason      unsigned16  stats::drop_reason of refused attempts and cut flows
//     4 resetsSent      unsigned16  TCP resets the gateway sent for a cut flow
//
// Strings are sent as they are, except that octets not forming valid UTF-8 are
// replaced by '?' (IPFIX strings are UTF-8, RFC 7011 §6.1.6); the length is kept.
//
// Templates (the Template Set and the Options Template Set): sent before the
// first data record, and again when templates_due() says the refresh interval
// (RFC 7011 §8.4, UDP) has passed since the last message carrying them was
// exported.
//
// Checked against real decoders: tshark 4.0 decodes every set and names every
// IE as above; nfdump 1.7.1 (Debian bookworm) shows addresses, ports, times,
// end reason, NAT address/port/event and both directions' counters — it reads
// IE 1/2 as "in" and 23/24 as "out" and ignores 231/232/298/299.
//
// Memory: message buffers are reserved at max_message_bytes and reused across
// flushes; after warm-up neither add() nor flush() allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "flow/flow_event.hpp"

namespace egress::ipfix {

inline constexpr uint16_t ipfix_version = 10;
inline constexpr uint16_t template_set_id = 2;
inline constexpr uint16_t options_template_set_id = 3;
inline constexpr std::size_t message_header_bytes = 16;
inline constexpr std::size_t set_header_bytes = 4;
inline constexpr uint16_t variable_length = 65535;
inline constexpr uint16_t enterprise_bit = 0x8000;
inline constexpr uint32_t documentation_pen = 32473; // RFC 5612
// max_message_bytes is clamped into this range (the largest template record and
// the largest fixed-size data record fit with room to spare).
inline constexpr std::size_t min_message_bytes = 256;
inline constexpr std::size_t max_message_bytes_limit = 65535;

enum class template_id : uint16_t {
    ipv4_flow = 256,
    ipv6_flow = 257,
    nat_event = 258,
    ipv4_denied = 259,
    ipv6_denied = 260,
    exporter_statistics = 261, // options template
};
// Scope fields of the options template (its first fields).
inline constexpr uint16_t exporter_statistics_scope_fields = 1;

// IANA Information Element ids used by the templates.
namespace ie {
inline constexpr uint16_t octet_delta_count = 1;
inline constexpr uint16_t packet_delta_count = 2;
inline constexpr uint16_t protocol_identifier = 4;
inline constexpr uint16_t tcp_control_bits = 6;
inline constexpr uint16_t source_transport_port = 7;
inline constexpr uint16_t source_ipv4_address = 8;
inline constexpr uint16_t ingress_interface = 10;
inline constexpr uint16_t destination_transport_port = 11;
inline constexpr uint16_t destination_ipv4_address = 12;
inline constexpr uint16_t egress_interface = 14;
inline constexpr uint16_t post_octet_delta_count = 23;
inline constexpr uint16_t post_packet_delta_count = 24;
inline constexpr uint16_t source_ipv6_address = 27;
inline constexpr uint16_t destination_ipv6_address = 28;
inline constexpr uint16_t dropped_octet_delta_count = 132;
inline constexpr uint16_t dropped_packet_delta_count = 133;
inline constexpr uint16_t flow_end_reason = 136;
inline constexpr uint16_t exporting_process_id = 144;
inline constexpr uint16_t flow_start_milliseconds = 152;
inline constexpr uint16_t flow_end_milliseconds = 153;
inline constexpr uint16_t not_sent_flow_total_count = 166;
inline constexpr uint16_t post_nat_source_ipv4_address = 225;
inline constexpr uint16_t post_napt_source_transport_port = 227;
inline constexpr uint16_t nat_event = 230;
inline constexpr uint16_t initiator_octets = 231;
inline constexpr uint16_t responder_octets = 232;
inline constexpr uint16_t firewall_event = 233;
inline constexpr uint16_t initiator_packets = 298;
inline constexpr uint16_t responder_packets = 299;
inline constexpr uint16_t observation_time_milliseconds = 323;
inline constexpr uint16_t http_request_host = 460;
} // namespace ie

// egressd's enterprise-specific element ids (under settings.enterprise_number).
namespace pen_ie {
inline constexpr uint16_t tls_server_name = 1;
inline constexpr uint16_t policy_rule_name = 2;
inline constexpr uint16_t drop_reason = 3;
inline constexpr uint16_t resets_sent = 4;
} // namespace pen_ie

// One field specifier of a template (length = variable_length for strings).
struct field_spec {
    uint16_t id = 0;
    uint16_t length = 0;
    bool enterprise = false;
};

// The field list of a template, in wire order.
std::span<const field_spec> template_fields(template_id t) noexcept;
// The template a flow event is encoded with (never exporter_statistics).
template_id template_for(const flow::flow_event& e) noexcept;

struct encoder_settings {
    uint32_t observation_domain_id = 1;
    std::size_t max_message_bytes = 1400; // keep under the path MTU (IP + UDP headers not included)
    uint32_t enterprise_number = documentation_pen; // PEN of the enterprise-specific elements
    uint32_t template_refresh_s = 60;     // RFC 7011 §8.4: resend templates this often over UDP
};

// The text carried by the variable-length elements of a flow record. By default
// taken from the event's fixed fields (strings_of); callers with longer text
// (up to what fits in one message) may pass their own.
struct flow_strings {
    std::string_view http_host;
    std::string_view server_name;
    std::string_view rule;
};
flow_strings strings_of(const flow::flow_event& e) noexcept;

// Octets an RFC 7011 variable-length field of n value octets takes.
constexpr std::size_t variable_length_size(std::size_t n) noexcept { return n < 255 ? 1 + n : 3 + n; }
// Appends s as a variable-length field (length prefix, then the octets, invalid
// UTF-8 octets replaced by '?'). s must be shorter than 65536 octets.
void put_variable_length(std::vector<uint8_t>& out, std::string_view s);
// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when the
// octet there does not start one (bad lead, truncated, overlong, surrogate,
// above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

struct builder_counters {
    uint64_t data_records = 0;      // flow data records added
    uint64_t messages = 0;          // messages finalised (flush / take_messages)
    uint64_t template_sets = 0;     // times the templates were added
    uint64_t statistics_records = 0; // exporter_statistics records added
    uint64_t records_too_large = 0; // records that cannot fit an empty message: not added
    uint64_t records_unknown = 0;   // events of an unknown kind: not added
};

class message_builder {
public:
    explicit message_builder(const encoder_settings& s = {});

    const encoder_settings& settings() const noexcept { return settings_; }

    // True when the templates have never been added, or when no unflushed message
    // carries them and template_refresh_s have passed since the last export of a
    // message that did.
    bool templates_due(uint32_t now_s) const noexcept;
    // Appends a Template Set with the five templates and an Options Template Set
    // with exporter_statistics to the current message.
    void add_templates();

    // Appends e as a Data Record (the templates first if they were never added).
    // Returns false when the record was not added (unknown kind, or too large
    // for an empty message), counted in counters().
    bool add(const flow::flow_event& e);
    bool add(const flow::flow_event& e, const flow_strings& text);
    // Appends an exporter_statistics record: not_sent_total flow events lost so
    // far (a total counter), observed at now_ms (Unix ms). Counts as a data record.
    void add_exporter_statistics(uint64_t not_sent_total, uint64_t now_ms);

    // Messages started and not yet flushed (every one but the last is full).
    std::size_t pending_messages() const noexcept { return used_; }
    // Data records in the pending messages.
    uint32_t pending_records() const noexcept;
    // The sequence number the next message will carry.
    uint32_t next_sequence_number() const noexcept { return sequence_; }
    const builder_counters& counters() const noexcept { return counters_; }

    // Finalises every pending message (header: version, length, export time,
    // sequence number, observation domain id), passes each, in order, to
    // send(std::span<const uint8_t>), then forgets them; buffers are reused.
    template <typename Send>
    void flush(uint32_t export_time_s, Send&& send) {
        finalize(export_time_s);
        for (std::size_t i = 0; i < used_; ++i)
            send(std::span<const uint8_t>(messages_[i].bytes));
        discard();
    }
    // The same, returning copies of the messages.
    std::vector<std::vector<uint8_t>> take_messages(uint32_t export_time_s);

private:
    struct pending_message {
        std::vector<uint8_t> bytes;
        uint32_t records = 0;
        bool has_templates = false;
    };

    void finalize(uint32_t export_time_s) noexcept;
    void discard() noexcept;
    // Makes room for a record of n octets in a set with id set_id: opens a new
    // message and/or set as needed. False when it cannot fit an empty message.
    bool reserve_record(uint16_t set_id, std::size_t n);
    void start_message();
    void close_set() noexcept;
    std::vector<uint8_t>& current() noexcept { return messages_[used_ - 1].bytes; }

    encoder_settings settings_;
    std::vector<pending_message> messages_; // [0, used_) pending, the rest spare buffers
    std::size_t used_ = 0;
    std::size_t set_start_ = 0; // offset of the open set's header in current()
    uint16_t set_id_ = 0;       // id of the open set, 0 when none is open
    uint32_t sequence_ = 0;     // data records in all finalised messages (mod 2^32)
    bool templates_added_ = false;    // ever
    bool templates_pending_ = false;  // in an unflushed message
    bool templates_exported_ = false; // a message carrying them was finalised
    uint32_t templates_export_s_ = 0; // export time of that message
    builder_counters counters_;
};

} // namespace egress::ipfix
