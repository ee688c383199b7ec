#include "policy/hostname_matcher.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <hs/hs.h>

namespace egress::policy {

namespace {

constexpr std::string_view expected_pattern =
    "a hostname like \"api.example.com\" or \"*.example.com\" (ASCII letters, digits, '-', '_'; "
    "internationalised names in punycode, e.g. \"xn--bcher-kva.example\")";

bool is_label_char(unsigned char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Hyperscan regex for one normalised pattern, anchored at both ends.
std::string to_regex(std::string_view p) {
    std::string re = "^";
    if (p.starts_with("*.")) {
        re += "[a-z0-9_-]+(\\.[a-z0-9_-]+)*\\."; // one or more whole labels
        p.remove_prefix(2);
    }
    for (char c : p) {
        if (c == '.' || c == '-') re += '\\';
        re += c;
    }
    re += "\\z";
    return re;
}

struct match_context {
    const std::vector<uint32_t>* sets;
    std::span<uint32_t> out;
    std::size_t n = 0;
    bool overflow = false;
};

int on_match(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* ctx) {
    auto& m = *static_cast<match_context*>(ctx);
    const uint32_t set = (*m.sets)[id];
    for (std::size_t i = 0; i < m.n; ++i)
        if (m.out[i] == set) return 0;
    if (m.n == m.out.size()) {
        m.overflow = true;
        return 0;
    }
    m.out[m.n++] = set;
    return 0;
}

} // namespace

std::string_view trim_hostname(std::string_view host) noexcept {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    return host;
}

std::optional<std::string> normalize_hostname_pattern(std::string_view pattern, std::string* why) {
    const auto fail = [&](std::string_view detail) -> std::optional<std::string> {
        if (why != nullptr)
            *why = fmt::format("expected {}, got \"{}\"{}", expected_pattern, pattern, detail);
        return std::nullopt;
    };
    for (unsigned char c : pattern)
        if (c >= 0x80) return fail(" (not ASCII: write the name in punycode)");
    std::string p(trim_hostname(pattern));
    std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view rest = p;
    if (rest.starts_with("*.")) rest.remove_prefix(2);
    if (rest.empty() || rest.size() > 253) return fail("");
    std::size_t label = 0;
    for (std::size_t i = 0; i <= rest.size(); ++i) {
        if (i == rest.size() || rest[i] == '.') {
            if (label == 0 || label > 63) return fail(""); // empty or over-long label
            label = 0;
            continue;
        }
        if (rest[i] == '*') return fail(" (a wildcard is only allowed as the whole first label: \"*.example.com\")");
        if (!is_label_char(static_cast<unsigned char>(rest[i]))) return fail("");
        ++label;
    }
    return p;
}

hostname_matcher::hostname_matcher(const std::vector<pattern>& patterns, unsigned workers) {
    if (patterns.empty()) return;
    std::vector<std::string> regexes;
    std::vector<const char*> exprs;
    std::vector<unsigned> flags;
    std::vector<unsigned> ids;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        regexes.push_back(to_regex(patterns[i].text));
        pattern_sets_.push_back(patterns[i].set);
    }
    for (std::size_t i = 0; i < regexes.size(); ++i) {
        exprs.push_back(regexes[i].c_str());
        flags.push_back(HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH);
        ids.push_back(static_cast<unsigned>(i));
    }
    hs_compile_error_t* error = nullptr;
    if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK,
                         nullptr, &db_, &error) != HS_SUCCESS) {
        std::string message = fmt::format("hostname patterns: {}", error != nullptr ? error->message : "compile failed");
        hs_free_compile_error(error);
        throw std::runtime_error(message);
    }
    // One per worker, plus the control plane's (explain: control_scratch()).
    scratch_.resize(std::max(1u, workers) + 1, nullptr);
    for (auto& s : scratch_) {
        if (hs_alloc_scratch(db_, &s) != HS_SUCCESS) {
            for (auto& t : scratch_) hs_free_scratch(t);
            hs_free_database(db_);
            throw std::runtime_error("hostname patterns: cannot allocate Hyperscan scratch space");
        }
    }
}

hostname_matcher::~hostname_matcher() {
    for (auto* s : scratch_) hs_free_scratch(s);
    hs_free_database(db_);
}

std::size_t hostname_matcher::match(std::string_view host, std::span<uint32_t> out, bool& overflow,
                                    unsigned worker) const noexcept {
    overflow = false;
    host = trim_hostname(host);
    if (db_ == nullptr || host.empty()) return 0;
    if (worker >= scratch_.size()) { // a caller bug: never share a scratch; report no match, flagged
        overflow = true;
        return 0;
    }
    match_context ctx{&pattern_sets_, out};
    hs_scan(db_, host.data(), static_cast<unsigned>(host.size()), 0, scratch_[worker], on_match, &ctx);
    std::sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(ctx.n));
    overflow = ctx.overflow;
    return ctx.n;
}

std::size_t hostname_matcher::memory_bytes() const noexcept {
    std::size_t n = 0;
    if (db_ != nullptr) hs_database_size(db_, &n);
    for (auto* s : scratch_) {
        std::size_t k = 0;
        hs_scratch_size(s, &k);
        n += k;
    }
    return n;
}

} // namespace egress::policy
