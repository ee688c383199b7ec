// The egress policy: a plain, DPDK-free description (policy_spec, what the TOML
// loader produces and tests build by hand) and its immutable compiled form
// (compiled_policy), which the packet path will read through an RCU-published
// const pointer.
//
// Precedence
//   * Rules are evaluated in file order. The first rule whose source, destination,
//     protocol and port all match decides; if none matches, the default action
//     decides (decision::rule == no_rule).
//   * A rule in report mode is evaluated in place, as the enforce rule would be:
//     when it matches, evaluation stops there. If its action is deny the decision
//     is {allow, would_deny = true, rule}: the traffic passes and is counted as
//     "would deny". If its action is allow the decision is {allow, false, rule}.
//   * Source "any" (no groups) matches every source address of either family.
//   * Protocol "icmp" matches ICMP (1) and ICMPv6 (58); "any" every protocol; tcp
//     and udp rules may list destination ports (none listed: every port).
//   * IPv4 CIDRs match only IPv4 addresses, IPv6 CIDRs only IPv6 ("::/0" does not
//     match IPv4): see cidr.hpp.
//
// Hostname conditions (`hostnames = [...]`, hostname_matcher.hpp): a rule with
// hostnames matches only a flow whose hostname (TLS SNI or HTTP Host) is known
// and matches one of them. What evaluate() does on reaching a tuple-matching
// hostname rule depends on what is known of the flow's name (query::host):
//   * known:   the name is matched against the rule's patterns (one Hyperscan
//              scan per query, done on the first such rule);
//   * unknown: a TCP flow to an inspected port (inspection_spec tls_ports /
//              http_ports) returns {pending = true}: the gateway admits the flow,
//              extracts the name from the first client bytes, and evaluates
//              again with it; a UDP flow to a TLS port (QUIC) gets the
//              inspection_spec::quic action (deny: {deny, quic = true, rule};
//              inspect: {pending = true}, the name read from its Initials);
//              any other flow cannot have a name: the rule is skipped;
//   * absent:  the name was looked for and there is none: the rule is skipped.
// Rules with hostnames never shadow later rules.
//
// evaluate(): two trie walks (4 steps for IPv4, 16 for IPv6, independent of the
// number of rules) give the destination candidates and the source candidates,
// both sorted rule-index lists precomputed per address region; a merge walk over
// them in rule order stops at the first rule whose protocol and ports match (the
// source cursor advances by binary search). Cost: O(address bytes) + O(D log S)
// for D destination and S source candidates of the query's regions: bounded by
// the rules that overlap the query's addresses, not by the rule count (a policy
// where every rule's destination is 0.0.0.0/0 has D = all rules). No allocation,
// no locks, noexcept, const.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/ip_address.hpp"
#include "dlp/dlp.hpp"
#include "policy/cidr.hpp"
#include "policy/hostname_matcher.hpp"
#include "policy/prefix_trie.hpp"

namespace egress::policy {

enum class verdict : uint8_t { allow, deny };
enum class rule_mode : uint8_t { enforce, report };
enum class protocol : uint8_t { any, tcp, udp, icmp };

constexpr uint32_t no_rule = std::numeric_limits<uint32_t>::max();
constexpr uint32_t no_hostname_set = std::numeric_limits<uint32_t>::max();



std::string_view to_string(verdict v) noexcept;
std::string_view to_string(rule_mode m) noexcept;
std::string_view to_string(protocol p) noexcept;

// verify (issue 16): whether a name a hostname rule allows must be one DNS gave
// for the flow's destination. off: the name is taken as sent. observed: the
// destination must be among the addresses a DNS answer seen by the gateway
// gave that name, for the flow's inside host or a configured inside resolver,
// within the answer's TTL plus [dns] grace (gateway/dns_observer.hpp).
// resolve: the destination must be among the addresses egressd's own [dns]
// resolvers give the name (asked when not cached; the verdict waits).
enum class verify_mode : uint8_t { off, observed, resolve };
std::string_view to_string(verify_mode v) noexcept;
// What an allow decision asks of the gateway: nothing, or a DNS check whose
// mismatch denies (enforce) or is only reported (report: the rule is in report mode).
enum class verify_check : uint8_t { none, enforce, report };

struct port_range {
    uint16_t lo = 1;
    uint16_t hi = 65535;
    bool contains(uint16_t p) const noexcept { return p >= lo && p <= hi; }
    friend bool operator==(const port_range&, const port_range&) = default;
};

// What to do with a flow to an inspected port whose name cannot be matched.
enum class ech_action : uint8_t { outer, deny }; // outer: match the outer (public) SNI
// UDP to a TLS port (QUIC) reaching a hostname rule: skip the rule, deny, or
// read the SNI from the client's Initial packets (gateway/quic_stage.hpp).
enum class quic_action : uint8_t { allow, deny, inspect };

struct inspection_spec {
    std::vector<port_range> tls_ports{{443, 443}};  // TCP: TLS ClientHello SNI; UDP: QUIC
    std::vector<port_range> http_ports{{80, 80}};   // TCP: HTTP/1.x Host
    verdict no_sni = verdict::deny;       // TLS without SNI (IP-literal connections)
    ech_action ech = ech_action::outer;   // ClientHello with an encrypted_client_hello extension
    verdict oversize = verdict::deny;     // ClientHello / request headers beyond the reassembly bound
    verdict not_tls = verdict::deny;      // bytes that are not a TLS ClientHello on a TLS port
    verdict not_http = verdict::deny;     // bytes that are not an HTTP/1.x request on an HTTP port
    verdict http_no_host = verdict::deny; // an HTTP request without Host
    quic_action quic = quic_action::deny; // UDP to a TLS port reaching a hostname rule
};

enum class inspection_kind : uint8_t { none, tls, http, quic };

// [dlp]: payload patterns (dlp/dlp.hpp) scanned on every TCP and UDP flow
// (while inspection slots last), in both the snapshot and its reloads.
struct dlp_spec {
    std::vector<dlp::dlp_pattern> patterns; // [[dlp.pattern]], in file order
    uint64_t depth = 1 << 20;                   // bytes inspected per flow direction; 0: no limit
    bool fail_closed = false;                   // a flow that cannot be inspected (no stream free): refuse it
};

// [[policy.group]] limits: per-source limits ([limits], flow/source_limits.hpp)
// for the hosts of one group. A value the group sets replaces the [limits]
// one for its hosts (0: no limit of that kind); a value it leaves out is
// inherited. A host in several groups takes the first such group in file order.
struct group_limits {
    enum field : uint8_t { max_flows, new_flows_per_s, new_flow_burst, max_per_destination, field_count };
    std::array<uint32_t, field_count> value{};
    uint8_t set = 0; // bit (1 << field): the group sets it

    bool any() const noexcept { return set != 0; }
    bool has(field f) const noexcept { return (set >> f) & 1u; }
    void assign(field f, uint32_t v) noexcept {
        value[f] = v;
        set = static_cast<uint8_t>(set | (1u << f));
    }
    // The group's value, or `inherited` where the group leaves it out.
    uint32_t get(field f, uint32_t inherited) const noexcept { return has(f) ? value[f] : inherited; }
    friend bool operator==(const group_limits&, const group_limits&) = default;
};

struct group_spec {
    std::string name;
    std::vector<cidr> cidrs; // at least one
    group_limits limits;     // none set: the [limits] values apply
};

struct rule_spec {
    std::string name;
    bool any_source = true;              // sources = ["any"]
    std::vector<uint32_t> source_groups; // indexes into policy_spec::groups, when !any_source
    std::vector<cidr> destinations;      // at least one
    protocol proto = protocol::any;
    std::vector<port_range> ports;       // tcp/udp only; empty: every port
    verdict action = verdict::deny;
    rule_mode mode = rule_mode::enforce;
    std::vector<std::string> hostnames;  // normalised patterns (hostname_matcher.hpp); empty: no condition
    uint32_t line = 0;                   // where the rule starts in its file, for messages and counters
    std::optional<verify_mode> verify;   // hostname rules only; unset: policy_spec::verify
};

struct policy_spec {
    verdict default_action = verdict::deny;
    std::vector<group_spec> groups;
    std::vector<rule_spec> rules;
    inspection_spec inspection;
    dlp_spec dlp;
    uint64_t version = 0; // chosen by whoever publishes it
    unsigned workers = 1; // worker threads that evaluate it: one hostname-matcher scratch each
    verify_mode verify = verify_mode::off; // [policy] verify: hostname rules without their own
};

enum class host_state : uint8_t { unknown, absent, known };

struct query {
    query() = default;
    query(const net::ip_address& s, const net::ip_address& d, uint8_t p, uint16_t port,
          host_state h = host_state::unknown, std::string_view name = {}, unsigned worker = 0) noexcept
        : src(s), dst(d), proto(p), dst_port(port), host(h), hostname(name), worker(worker) {}

    net::ip_address src;
    net::ip_address dst;
    uint8_t proto = 0;     // IP protocol number: 6 tcp, 17 udp, 1 icmp, 58 icmpv6
    uint16_t dst_port = 0; // host order; ignored unless tcp or udp
    host_state host = host_state::unknown;
    std::string_view hostname; // host == known: the TLS SNI or HTTP Host
    unsigned worker = 0;       // the asking worker: picks its hostname-matcher scratch
};

struct decision {
    verdict action = verdict::deny;
    bool would_deny = false; // a report-mode deny rule matched; action is allow
    uint32_t rule = no_rule; // the deciding rule's index, no_rule for the default (or a block)
    uint32_t block = no_rule; // the emergency block that denied it (active_policy::decide), else no_rule
    bool pending = false;     // a hostname rule needs the flow's name: admit, inspect, evaluate again
    bool quic = false;        // denied by inspection_spec::quic at hostname rule `rule`
    // Allowed by a hostname rule with verify = observed, on a known name: the
    // gateway checks the destination against DNS before the flow passes.
    verify_check verify = verify_check::none;
    bool resolve = false; // the check asks egressd's own resolvers (verify = "resolve")
    friend bool operator==(const decision&, const decision&) = default;
};

// Why a rule did not decide a query (compiled_policy::evaluate with a trace,
// policy/explain.hpp): in the order evaluate() tests them.
enum class rule_skip : uint8_t {
    not_reached,   // an earlier rule decided (or evaluation stopped before it)
    destination,   // the destination address is in none of its destinations
    protocol,      // another protocol
    port,          // a port it does not list
    source,        // the source address is in none of its source groups
    name_absent,   // a hostname rule, and the flow has no name (looked for, none sent)
    name_unread,   // a hostname rule, and no name is read on this protocol and port
    quic_allowed,  // a hostname rule, UDP to a TLS port (QUIC), and inspection.quic is allow
    hostname,      // a hostname rule none of whose patterns matches the name
};
std::string_view to_string(rule_skip s) noexcept;

struct rule_info {
    std::string name;
    verdict action = verdict::deny;
    rule_mode mode = rule_mode::enforce;
    uint32_t line = 0;
    // What the rule says, in one canonical line (sources resolved to their
    // CIDRs): two versions of a rule differ exactly when these do (reload
    // --dry-run's "changed").
    std::string definition;
};

// Does rule r match q's five-tuple (protocol, ports, destinations, sources)? The
// tuple part of what evaluate() implements, rule by rule (tests use it as the
// brute-force reference; hostname conditions are not looked at).
bool rule_matches(const policy_spec& spec, const rule_spec& r, const query& q) noexcept;

struct compile_result;

class compiled_policy {
public:
    // Upper bound on the precomputed candidate lists (4 bytes each) per trie.
    static constexpr std::size_t default_max_class_entries = std::size_t{1} << 26;

    static compile_result compile(const policy_spec& spec,
                                  std::size_t max_class_entries = default_max_class_entries);

    decision evaluate(const query& q) const noexcept;
    // The same walk as evaluate(), which also records why each rule it passes
    // over did not decide (skipped[r], sized rules().size(); the rules it never
    // looks at keep what the caller put there) and the rule it stopped at
    // (stopped_at: the deciding rule, the hostname rule that made the decision
    // pending, or no_rule when the default decided). For explain (control plane).
    decision evaluate(const query& q, std::span<rule_skip> skipped, uint32_t& stopped_at) const noexcept;
    // The hostname-matcher scratch reserved for the control plane (explain): a
    // query's worker index that no packet worker uses.
    unsigned control_worker() const noexcept;

    uint64_t version() const noexcept { return version_; }
    const inspection_spec& inspection() const noexcept { return inspection_; }
    inspection_kind inspection_for(uint8_t proto, uint16_t dst_port) const noexcept;
    bool has_hostname_rules() const noexcept { return matcher_ != nullptr; }
    // Some hostname rule has verify = "observed": the gateway reads DNS answers.
    bool verifies_observed() const noexcept { return verifies_observed_; }
    // The DLP patterns compiled (null: none) and their settings.
    const std::shared_ptr<const dlp::dlp_database>& dlp() const noexcept { return dlp_; }
    uint64_t dlp_depth() const noexcept { return dlp_depth_; }
    bool dlp_fail_closed() const noexcept { return dlp_fail_closed_; }
    verdict default_action() const noexcept { return default_action_; }
    std::span<const rule_info> rules() const noexcept { return infos_; }

    // The sorted indexes of the rules whose destinations (sources) contain a; rules
    // with source "any" are not in the source lists.
    std::span<const uint32_t> destination_candidates(const net::ip_address& a) const noexcept {
        return destinations_.lookup(a);
    }
    std::span<const uint32_t> source_candidates(const net::ip_address& a) const noexcept {
        return sources_.lookup(a);
    }
    std::size_t memory_bytes() const noexcept;

    // [[policy.group]] limits: those of the first group (file order) holding
    // `src` that sets any, else null (the [limits] values apply).
    const group_limits* limits_for(const net::ip_address& src) const noexcept {
        if (group_limits_.empty()) return nullptr;
        const std::span<const uint32_t> groups = limit_sources_.lookup(src);
        return groups.empty() ? nullptr : &group_limits_[groups.front()];
    }
    // Some group sets limits (any(); max_per_destination: that kind).
    bool has_group_limits() const noexcept { return !group_limits_.empty(); }
    bool group_limits_per_destination() const noexcept;

private:
    struct compiled_rule {
        uint32_t ports_begin = 0; // into ports_
        uint16_t ports_count = 0; // 0: every port
        protocol proto = protocol::any;
        bool any_source = true;
        verdict action = verdict::deny;
        rule_mode mode = rule_mode::enforce;
        uint32_t hostname_set = no_hostname_set;
        verify_mode verify = verify_mode::off; // hostname rules: their own or the policy's
    };

    compiled_policy() = default;
    bool build_group_limits(const policy_spec& spec, std::size_t max_class_entries);
    template <bool traced>
    decision walk(const query& q, rule_skip* skipped, uint32_t* stopped_at) const noexcept;

    uint64_t version_ = 0;
    verdict default_action_ = verdict::deny;
    std::vector<compiled_rule> rules_;
    std::vector<port_range> ports_;
    std::vector<rule_info> infos_;
    address_classifier destinations_;
    address_classifier sources_;
    address_classifier limit_sources_;       // the CIDRs of groups with limits -> index into group_limits_
    std::vector<group_limits> group_limits_; // of the groups that set any, in file order
    inspection_spec inspection_;
    std::unique_ptr<const hostname_matcher> matcher_; // null: no rule has hostnames
    std::shared_ptr<const dlp::dlp_database> dlp_;
    uint64_t dlp_depth_ = 0;
    bool dlp_fail_closed_ = false;
    bool verifies_observed_ = false;
};

struct compile_result {
    std::unique_ptr<const compiled_policy> policy; // null on error
    std::string error;                             // why not
    uint32_t dlp_pattern = no_rule;                // the DLP pattern at fault, if one is
};

// Rules that can never match because an earlier enforce rule matches everything
// they match: its sources cover theirs (each of their CIDRs inside one of the
// earlier rule's, "any" = 0.0.0.0/0 and ::/0), its destinations likewise, its
// protocol is the same or any, its ports cover theirs, and it has no extra
// condition (hostname_set). Conservative: a rule covered only by the union of
// several earlier rules is not reported. Uses the compiled destination lists,
// so its cost follows the overlap between rules, not rules squared.
struct shadowed_rule {
    uint32_t rule;      // the rule that can never match
    uint32_t shadowed_by;
};
std::vector<shadowed_rule> find_shadowed_rules(const policy_spec& spec, const compiled_policy& compiled);

} // namespace egress::policy
