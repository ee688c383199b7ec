// The commands of the control socket (docs/control-protocol.md): status, stats,
// flows, policy, reload, block, unblock, blocks, nat. DPDK-free: what needs the
// running gateway comes in through control_hooks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "control_server.hpp"
#include "gateway/flow_query.hpp"
#include "policy_control.hpp"
#include "summary.hpp"

namespace egress::controlplane {

struct control_hooks {
    std::string version;        // egressd's build version
    uint64_t start_unix_ms = 0; // when the process started
    std::function<run_report()> report;             // the live counters
    // Runs q on the worker and returns once it is done; false when no worker is
    // running to answer.
    std::function<bool(gateway::flow_query& q)> run_query;
    policy_control* policy = nullptr;
    std::function<uint64_t()> now_ms; // Unix epoch ms (tests fix it)
};

// Registers every command on server; hooks must outlive it.
void add_control_commands(control_server& server, const control_hooks& hooks);

// The JSON forms, shared by the socket and tests.
json flow_json(const gateway::flow_summary& f);
json block_json(const block_info& b);

} // namespace egress::controlplane
