// The [policy] table of egressd's config file -> policy::policy_spec -> the
// compiled policy. DPDK-free. conf/egressd.toml documents the language (its
// "[policy] reference" section at the end); lib/policy/compiled_policy.hpp the
// precedence.
//
// Every problem is reported, in source order, as "file:line:col: key: message"
// with keys like policy.rule[2].ports[1] (0-based like every array key in the
// config). Nothing is guessed: unknown keys, wrong types, bad or non-network
// CIDRs, empty groups, unknown or duplicate names, ports on a protocol without
// ports, bad port ranges, a missing action, bad enum values and rules that can
// never match (shadowed by an earlier enforce rule) are all errors, so a typo
// never silently weakens the policy. A failed load yields no policy: the caller
// keeps the one it has.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "located_error.hpp"
#include "policy/compiled_policy.hpp"

namespace egress::policy {

using policy_error = toml_text::located_error;

struct policy_load_result {
    bool present = false;                          // the document has a [policy] table
    std::optional<policy_spec> spec;               // set exactly when errors is empty
    std::unique_ptr<const compiled_policy> policy; // likewise
    std::vector<policy_error> errors;              // in source order
};

// Reads root["policy"] of an already-parsed config document; `file` names it in
// errors. Without a [policy] table the result is the empty policy with the
// default action "deny" and present == false (the caller decides what that means).
policy_load_result load_policy(const toml::table& root, std::string_view file, uint64_t version = 1, unsigned workers = 1);

// Parses text (a whole config document) first; a syntax error is one error with key "syntax".
policy_load_result load_policy_string(std::string_view text, std::string_view source_name, uint64_t version = 1, unsigned workers = 1);

// Reads a file; one error with line 0 when it cannot be read ("path: cannot open: ...").
policy_load_result load_policy_file(const std::string& path, uint64_t version = 1, unsigned workers = 1);

// Every error's to_string(), one per line.
using toml_text::format_errors;

} // namespace egress::policy
