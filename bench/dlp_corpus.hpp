// The DLP workload shared by dlp_bench (lib/dlp/dlp alone) and egress-bench
// (the whole pipeline): 16 typical DLP patterns in three card-number variants and
// an 8 MiB generated HTTP-body-like corpus (HTML listings, JSON records, base64
// blocks) with one secret about every 128 KiB. See dlp_bench.cpp for details.
#pragma once

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dlp/dlp.hpp"

namespace egress_bench {

using namespace egress::dlp;

enum card_variant : int { generic_card = 0, issuer_card = 1, no_card = 2 };

inline std::vector<dlp_pattern> dlp_set(int variant) {
    auto p = [](std::string name, std::string regex, dlp_severity sev = dlp_severity::high) {
        dlp_pattern x;
        x.name = std::move(name);
        x.regex = std::move(regex);
        x.severity = sev;
        return x;
    };
    std::vector<dlp_pattern> v;
    v.push_back(p("aws-access-key-id", R"((?:AKIA|ASIA)[0-9A-Z]{16})"));
    v.push_back(p("aws-secret-access-key", R"(aws_secret_access_key\s*[=:]\s*[A-Za-z0-9/+]{40})", dlp_severity::critical));
    v.back().caseless = true;
    v.push_back(p("private-key", R"(-----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----)", dlp_severity::critical));
    v.push_back(p("pgp-private-key", R"(-----BEGIN PGP PRIVATE KEY BLOCK-----)", dlp_severity::critical));
    if (variant == generic_card) {
        v.push_back(p("card-number", R"(\b(?:\d[ -]?){13,19}\b)"));
    } else if (variant == issuer_card) {
        v.push_back(p("card-number", R"(\b(?:4\d{3}|5[1-5]\d{2}|2[2-7]\d{2}|3[47]\d{2}|6011|65\d{2})[ -]?\d{4}[ -]?\d{4}[ -]?\d{1,7}\b)"));
    }
    if (variant != no_card) v.back().validator = dlp_validator::luhn;
    v.push_back(p("us-ssn", R"(\b\d{3}-\d{2}-\d{4}\b)", dlp_severity::medium));
    v.push_back(p("jwt", R"(\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})", dlp_severity::medium));
    v.push_back(p("slack-token", R"(xox[baprs]-[0-9A-Za-z-]{10,72})"));
    v.push_back(p("slack-webhook", R"(https://hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24})"));
    v.push_back(p("github-token", R"(gh[pousr]_[A-Za-z0-9]{36})"));
    v.push_back(p("github-fine-grained-pat", R"(github_pat_[A-Za-z0-9_]{82})"));
    v.push_back(p("google-api-key", R"(AIza[0-9A-Za-z_-]{35})"));
    v.push_back(p("stripe-live-key", R"([sr]k_live_[0-9a-zA-Z]{24,99})"));
    v.push_back(p("gcp-service-account", R"("type"\s*:\s*"service_account")"));
    v.push_back(p("azure-storage-key", R"(AccountKey=[A-Za-z0-9+/=]{88})"));
    v.push_back(p("password-assignment", R"(password\s*[=:]\s*\S{8,})", dlp_severity::medium));
    v.back().caseless = true;
    return v;
}

// ---- the payload ---------------------------------------------------------------

inline const char* const words[] = {
    "the", "and", "for", "with", "your", "new", "free", "shipping", "order", "product", "price", "sale", "cart",
    "account", "search", "home", "about", "contact", "blue", "red", "large", "small", "premium", "quality",
    "cotton", "shirt", "shoes", "wireless", "headphones", "battery", "charger", "kitchen", "garden", "review",
    "stars", "customer", "delivery", "return", "policy", "warranty", "size", "color", "model", "series", "edition",
    "limited", "offer", "today", "only", "best", "seller", "rating", "details", "description", "features"};

struct corpus_builder {
    std::mt19937_64 rng{20261127};
    std::string out;

    uint64_t r(uint64_t n) { return rng() % n; }
    void word() { out += words[r(std::size(words))]; }
    void sentence(int n) {
        for (int i = 0; i < n; ++i) {
            if (i) out += ' ';
            word();
        }
    }
    void hex(int n) {
        for (int i = 0; i < n; ++i) out += "0123456789abcdef"[r(16)];
    }
    void alnum(int n, const char* set) {
        const std::size_t len = std::strlen(set);
        for (int i = 0; i < n; ++i) out += set[r(len)];
    }
    void html() {
        const auto id = 10000 + r(90000);
        out += fmt::format("<div class=\"product-card\" data-id=\"{}\"><h2 class=\"title\">", id);
        sentence(3 + static_cast<int>(r(4)));
        out += "</h2><p class=\"desc\">";
        sentence(12 + static_cast<int>(r(20)));
        out += fmt::format("</p><span class=\"price\">${}.{:02}</span><a href=\"/p/{}?utm_source=newsletter&amp;ref=home\">View</a>"
                           "<img src=\"/img/{}.jpg\" width=\"320\" height=\"240\" alt=\"",
                           r(500), r(100), id, id);
        word();
        out += "\"></div>\n";
    }
    void json() {
        out += fmt::format("{{\"id\":{},\"uuid\":\"", 1000000 + r(9000000));
        hex(8), out += '-', hex(4), out += '-', hex(4), out += '-', hex(4), out += '-', hex(12);
        out += fmt::format("\",\"created_at\":\"2026-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"user\":{{\"name\":\"", 1 + r(12),
                           1 + r(28), r(24), r(60), r(60), r(1000));
        word();
        out += "\",\"email\":\"";
        word();
        out += fmt::format("{}@example.com\"}},\"amount\":{}.{:02},\"items\":[{},{},{}],\"status\":\"", r(100), r(10000),
                           r(100), r(1000), r(1000), r(1000));
        word();
        out += "\",\"note\":\"";
        sentence(5 + static_cast<int>(r(10)));
        out += "\"},\n";
    }
    void base64() {
        const int lines = 10 + static_cast<int>(r(30));
        for (int l = 0; l < lines; ++l) {
            alnum(76, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
            out += '\n';
        }
    }
    void secret() {
        switch (r(7)) {
        case 0: out += "aws_key=AKIA", alnum(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"); break;
        case 1: out += "card: 4111 1111 1111 1111."; break;
        case 2: out += "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.", alnum(43, "abcdefghijklmnopqrstuvwxyz0123456789_-"); break;
        case 3: out += "token xoxb-", alnum(40, "abcdefghijklmnopqrstuvwxyz0123456789"); break;
        case 4: out += "ghp_", alnum(36, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"); break;
        case 5: out += "-----BEGIN RSA PRIVATE KEY-----\n"; break;
        default: out += "ssn 078-05-1120."; break;
        }
        out += ' ';
    }
};

inline const std::string& corpus() {
    static const std::string c = [] {
        corpus_builder b;
        std::size_t next_secret = 64 * 1024;
        while (b.out.size() < (std::size_t{8} << 20)) {
            switch (b.r(3)) {
            case 0: b.html(); break;
            case 1: b.json(); break;
            default: b.base64(); break;
            }
            if (b.out.size() >= next_secret) {
                b.secret();
                next_secret += 128 * 1024;
            }
        }
        return b.out;
    }();
    return c;
}

} // namespace egress_bench
