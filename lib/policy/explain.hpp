// "What would egressd decide for this connection, and why?" (egressctl explain,
// egressd --explain). Not a second implementation of the policy: explain()
// makes the calls the packet path makes, on the same snapshot type —
// active_policy::evaluate (emergency blocks, then the rules) at the first
// packet of the flow, and, when that decision waits for the flow's name, the
// evaluation again once the name is read — with compiled_policy's traced walk,
// which is evaluate() itself recording why each rule passed over did not decide.
// Control plane only: allocates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/active_policy.hpp"

namespace egress::policy {

struct explain_query {
    net::ip_address src;
    net::ip_address dst;
    uint8_t proto = 6;     // IP protocol number
    uint16_t dst_port = 0; // tcp and udp
    // The name the client sends (TLS SNI or HTTP Host): nullopt when not given
    // (the decision at the first packet is shown), "" when it sends none.
    std::optional<std::string> name;
};

// One evaluation, traced.
struct explain_step {
    host_state host = host_state::unknown;
    decision result;
    uint32_t stopped_at = no_rule;  // the rule the walk stopped at (no_rule: default, or a block)
    std::vector<rule_skip> skipped; // per rule: why it did not decide (stopped_at's entry is meaningless)
};

enum class decided_by : uint8_t {
    rule,            // result.rule
    default_action,  // no rule matched
    emergency_block, // result.block
    inspection,      // the name could not be matched: the [policy.inspection] action for no name
    name_needed,     // a hostname rule waits for the name, and none was given
};
std::string_view to_string(decided_by d) noexcept;

struct explanation {
    std::vector<explain_step> steps; // the first packet's; then, if it waited for the name, the name's
    decision result;                 // what the gateway does in the end
    decided_by by = decided_by::default_action;
    inspection_kind inspection = inspection_kind::none; // the name read on this protocol and port (none without hostname rules)
};

explanation explain(const active_policy& p, const explain_query& q);

std::string_view to_string(inspection_kind k) noexcept;

} // namespace egress::policy
