// The policies of the bench's scenarios, run as the gateway runs them: loaded
// and compiled from a file, held by policy_control, published through the RCU
// slot the worker reads.
#pragma once

#include <memory>
#include <string>

#include "policy_control.hpp"
#include "policy_slot.hpp"

namespace egress_bench {

struct policy_file {
    std::string path;
    explicit policy_file(const std::string& text);
    void write(const std::string& text) const;
    ~policy_file();
};

// The policy as the gateway runs it: loaded and compiled from a file, held by
// policy_control, published through the RCU slot the worker reads.
struct live_policy {
    policy_file file;
    std::unique_ptr<egress::dataplane::policy_slot> slot = std::make_unique<egress::dataplane::policy_slot>();
    std::unique_ptr<egress::controlplane::policy_control> control;

    live_policy(const std::string& text, uint32_t dlp_streams);
};

// 10 hostname patterns, tcp/443 to 198.18.0.0/15 allowed, the rest denied (imix-sni).
std::string sni_policy();
// tcp/443 to 198.18.0.0/15 allowed, 16 DLP patterns that alert (dlp).
std::string dlp_policy();
// Two versions of a policy that both allow the benchmark's UDP traffic (reload).
std::string reload_policy(int version);

} // namespace egress_bench
