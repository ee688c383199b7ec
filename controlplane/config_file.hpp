// egressd's config file as a whole: parsed once, its config tables
// (controlplane/config.hpp) and its policy ([policy], [dlp]:
// controlplane/policy_loader.hpp) read from that one document, and every error
// of both in one list, in source order. What egressd loads at start-up and
// --check-config validates; a reload reads only the policy, from a fresh parse
// (policy::load_policy_file).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "policy/compiled_policy.hpp"

namespace egress::config {

struct config_file {
    std::optional<egressd_config> config;                  // set exactly when errors is empty
    std::unique_ptr<const policy::compiled_policy> policy; // likewise, when the file has [policy] or [dlp]
    std::vector<config_error> errors;                      // config and policy, in source order
};

// A file that cannot be read or does not parse yields that one error.
config_file load_config_and_policy_file(const std::string& path);

// Same, for a document already in memory; source_name names it in errors.
config_file load_config_and_policy_string(std::string_view text, std::string_view source_name);

} // namespace egress::config
