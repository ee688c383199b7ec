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

#include "located_error.hpp"
#include "toml_reader.hpp"
#include "policy/compiled_policy.hpp"

namespace egress::policy {

using policy_error = toml_text::located_error;

struct policy_load_result {
    bool present = false;                          // the document has a [policy] table
    std::optional<policy_spec> spec;               // set exactly when errors is empty
    std::unique_ptr<const compiled_policy> policy; // likewise
    std::vector<policy_error> errors;              // in source order
};

// Reads [policy] and [dlp] of a parsed config document. Without either table
// the result is the empty policy with the default action "deny" and present ==
// false (the caller decides what that means). A document that did not parse
// yields its one error.
policy_load_result load_policy(const toml_text::document& doc, uint64_t version = 1, unsigned workers = 1);

// The same, with the errors added to ctx (unsorted; result.errors stays empty):
// how the policy is read together with the rest of the config from one
// document (controlplane/config_file.hpp). spec and policy are set only when
// ctx has no errors at all, the config's included.
policy_load_result read_policy(const toml::table& root, toml_text::context& ctx, uint64_t version, unsigned workers);

// Parses text (a whole config document) first; a syntax error is one error with key "syntax".
// Each call parses afresh (a reload reads the file as it is now).
policy_load_result load_policy_string(std::string_view text, std::string_view source_name, uint64_t version = 1, unsigned workers = 1);

// Reads a file; one error with line 0 when it cannot be read ("path: cannot open: ...").
policy_load_result load_policy_file(const std::string& path, uint64_t version = 1, unsigned workers = 1);

// Every error's to_string(), one per line.
using toml_text::format_errors;

} // namespace egress::policy
