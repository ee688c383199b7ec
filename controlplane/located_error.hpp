// An error found in a TOML file, with where it is: what every reader of
// egressd's config (the config loader and the policy loader) reports.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace egress::toml_text {

struct located_error {
    std::string file;
    uint32_t line = 0;   // 1-based; 0 when the error is about the file as a whole
    uint32_t column = 0; // 1-based; 0 with line 0
    std::string key;     // dotted path: "nat.pool[1]", "policy.rule[2].ports[1]"; "syntax"; "" for file errors
    std::string message; // "expected X, got Y", "unknown key", "required key missing", ...

    // "file:line:col: key: message"; "file: message" when line is 0 (the key is
    // left out when empty).
    std::string to_string() const;
};

// Source order (stable: errors at one position keep the order they were found in).
void sort_by_position(std::vector<located_error>& errors);

// Every error's to_string(), one per line.
std::string format_errors(const std::vector<located_error>& errors);

} // namespace egress::toml_text
