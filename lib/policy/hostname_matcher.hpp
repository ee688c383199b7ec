// Hostname conditions of the policy (`hostnames = ["api.stripe.com",
// "*.github.com"]`): every pattern of a policy compiled into one Hyperscan
// block-mode database, matched once per decided flow (TLS SNI or HTTP Host),
// never per packet.
//
// Patterns (normalize_hostname_pattern checks and canonicalises them):
//   * an exact name "api.stripe.com" matches that name only;
//   * "*.example.com" matches one or more labels before ".example.com"
//     ("a.example.com", "a.b.example.com"), never "example.com" itself, nor
//     "example.com.evil.net" or "notexample.com" (the pattern is anchored at
//     both ends and the wildcard ends at a dot);
//   * matching is case-insensitive; a trailing dot (on the pattern or on the
//     name seen on the wire) is ignored;
//   * names are ASCII letters, digits, '-', '_' and dots: internationalised
//     names must be written in punycode ("xn--..."); anything else is refused.
//
// Each pattern belongs to a set (one per rule); match() returns the ids of the
// sets with at least one matching pattern. The scratch space Hyperscan needs is
// allocated when the matcher is built (control plane), one per worker and one
// for the control plane's explain; match()
// does not allocate.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct hs_database;
struct hs_scratch;

namespace egress::policy {

// The canonical form (lowercase, no trailing dot) of a hostname pattern, or
// nullopt with *why set to the complete "expected ..., got ..." message.
std::optional<std::string> normalize_hostname_pattern(std::string_view pattern, std::string* why);

// A name seen on the wire without its trailing dot (no other change: the
// matcher is case-insensitive).
std::string_view trim_hostname(std::string_view host) noexcept;

class hostname_matcher {
public:
    static constexpr std::size_t max_sets_per_match = 256;

    struct pattern {
        uint32_t set;      // the rule's hostname set
        std::string text;  // normalised (normalize_hostname_pattern)
    };

    // Throws std::runtime_error with Hyperscan's message if compiling fails.
    explicit hostname_matcher(const std::vector<pattern>& patterns, unsigned workers = 1);
    ~hostname_matcher();
    hostname_matcher(const hostname_matcher&) = delete;
    hostname_matcher& operator=(const hostname_matcher&) = delete;

    // Writes the ascending, distinct ids of the sets matching host into out
    // (at most out.size(); more are dropped and overflow is set) and returns how
    // many. `worker` picks the scratch space (0..workers-1).
    std::size_t match(std::string_view host, std::span<uint32_t> out, bool& overflow, unsigned worker = 0) const noexcept;

    std::size_t pattern_count() const noexcept { return pattern_sets_.size(); }
    // The scratch index of the control plane (explain), past the workers'.
    unsigned control_scratch() const noexcept { return static_cast<unsigned>(scratch_.size() - 1); }
    std::size_t memory_bytes() const noexcept;

private:
    hs_database* db_ = nullptr;
    std::vector<hs_scratch*> scratch_;
    std::vector<uint32_t> pattern_sets_; // Hyperscan pattern id -> set
};

} // namespace egress::policy
