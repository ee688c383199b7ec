// The start of every gateway test fixture that tests behaviour under a policy.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "gateway/gateway_core.hpp"
#include "policy/compiled_policy.hpp"

namespace egress::gateway::testing_network {

// A gateway_core with `spec` compiled and in force (kept in `active`), its
// security events going to `ring`: the start of every fixture that tests
// behaviour under a policy.
inline void start_with_policy(const settings& s, const policy::policy_spec& spec,
                              std::unique_ptr<policy::active_policy>& active, std::unique_ptr<gateway_core>& core,
                              policy::security_ring& ring) {
    auto compiled = policy::compiled_policy::compile(spec);
    ASSERT_TRUE(compiled.policy) << compiled.error;
    active = std::make_unique<policy::active_policy>(std::move(compiled.policy));
    core = std::make_unique<gateway_core>(s);
    core->use_policy(active.get());
    core->attach_security_events(&ring);
}

} // namespace egress::gateway::testing_network
