// Streaming DLP (lib/inspect/dlp): scan throughput per core on a payload-heavy
// mix, per-segment overhead for small segments, a flow's stream acquire/release,
// datagrams, and build time.
//
// Payload: 8 MiB of generated HTTP-body-like text, a third each (by fragment
// count) HTML product listings, JSON API records (ids, UUIDs, timestamps,
// amounts, e-mail addresses) and base64 blocks (76-character lines), with one
// secret (AWS key, card number, JWT, Slack/GitHub token, PEM header, SSN) about
// every 128 KiB. It is cut into segments (1,460 bytes unless stated) dealt
// round-robin to 1,024 flows (so stream states and histories do not all sit in
// L1), every flow released at the end of a pass.
//
// Pattern sets (16 patterns, typical for DLP): cloud keys (AWS key id and secret,
// Google API key, Azure storage key, GCP service-account JSON), private keys (PEM,
// PGP), card numbers (Luhn), US SSN, JWT, Slack tokens and webhooks, GitHub
// tokens, Stripe keys, password assignments. Two variants differ only in the card
// pattern: "generic" uses the unit tests' \b(?:\d[ -]?){13,19}\b (every digit run
// in the text is a candidate: the expensive one), "issuer" anchors card numbers
// on the issuer prefixes (Visa, Mastercard incl. 2-series, Amex, Discover); a
// third run leaves the card pattern out (15 patterns) to show what it costs.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "inspect/dlp.hpp"

namespace {

using namespace egress::inspect;

enum card_variant : int { generic_card = 0, issuer_card = 1, no_card = 2 };

std::vector<dlp_pattern> dlp_set(int variant) {
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

const char* const words[] = {
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

const std::string& corpus() {
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

std::shared_ptr<const dlp_database> database(int variant) {
    static std::shared_ptr<const dlp_database> dbs[3];
    if (!dbs[variant]) {
        auto r = dlp_database::build(dlp_set(variant));
        if (!r.database) {
            fmt::print(stderr, "build: {}\n", r.error);
            std::abort();
        }
        dbs[variant] = r.database;
    }
    return dbs[variant];
}

std::shared_ptr<dlp_scanner> make_scanner(int variant, uint32_t streams, uint64_t depth = 0) {
    dlp_scanner_config cfg;
    cfg.max_streams = streams;
    cfg.depth_bytes = depth;
    auto r = dlp_scanner::create(database(variant), cfg);
    if (!r.scanner) {
        fmt::print(stderr, "scanner: {}\n", r.error);
        std::abort();
    }
    return r.scanner;
}

constexpr std::size_t flows_in_flight = 1024;

// ---- throughput ---------------------------------------------------------------------

// Args: card variant, segment size.
void bm_dlp_stream(benchmark::State& state) {
    const int variant = static_cast<int>(state.range(0));
    const auto seg = static_cast<std::size_t>(state.range(1));
    const std::string& data = corpus();
    auto scanner = make_scanner(variant, flows_in_flight);
    std::vector<dlp_flow_state> flows(flows_in_flight);
    const std::size_t segments = data.size() / seg;
    uint64_t matches = 0;
    uint64_t bytes = 0;
    auto sink = [&](const dlp_match&) { ++matches; };
    for (auto _ : state) {
        for (std::size_t i = 0; i < segments; ++i) {
            auto& f = flows[i % flows_in_flight];
            const auto st = scanner->scan(f, dlp_direction::outbound,
                                          {reinterpret_cast<const uint8_t*>(data.data()) + i * seg, seg}, sink);
            benchmark::DoNotOptimize(st);
        }
        for (auto& f : flows) {
            dlp_scanner::release(f);
            f = dlp_flow_state{};
        }
        bytes += segments * seg;
    }
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
    state.counters["Gbps"] = benchmark::Counter(static_cast<double>(bytes) * 8 / 1e9, benchmark::Counter::kIsRate);
    state.counters["ns_per_segment"] =
        benchmark::Counter(static_cast<double>(state.iterations() * segments) / 1e9,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["matches_per_pass"] = static_cast<double>(matches) / static_cast<double>(state.iterations());
    state.counters["stream_B"] = static_cast<double>(scanner->database().stream_bytes(dlp_direction::outbound));
    state.counters["flow_state_B"] = sizeof(dlp_flow_state);
    state.SetLabel(variant == generic_card ? "generic card regex" : variant == issuer_card ? "issuer card regex" : "15 patterns, no card");
}
BENCHMARK(bm_dlp_stream)
    ->ArgNames({"card", "seg"})
    ->Args({generic_card, 1460})
    ->Args({issuer_card, 1460})
    ->Args({issuer_card, 8192})
    ->Args({no_card, 1460})
    ->Unit(benchmark::kMillisecond);

// Small segments: the fixed cost per scan() call (Hyperscan stream call, history,
// flow bookkeeping). Args: segment size.
void bm_dlp_small_segments(benchmark::State& state) {
    const auto seg = static_cast<std::size_t>(state.range(0));
    const std::string& data = corpus();
    auto scanner = make_scanner(issuer_card, flows_in_flight);
    std::vector<dlp_flow_state> flows(flows_in_flight);
    uint64_t matches = 0;
    auto sink = [&](const dlp_match&) { ++matches; };
    std::size_t i = 0;
    const std::size_t segments = data.size() / seg;
    for (auto _ : state) {
        auto& f = flows[i % flows_in_flight];
        benchmark::DoNotOptimize(scanner->scan(f, dlp_direction::outbound,
                                               {reinterpret_cast<const uint8_t*>(data.data()) + (i % segments) * seg, seg},
                                               sink));
        ++i;
    }
    for (auto& f : flows) dlp_scanner::release(f);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * seg));
}
BENCHMARK(bm_dlp_small_segments)->ArgName("seg")->Arg(1)->Arg(16)->Arg(64)->Arg(128)->Arg(256)->Arg(512);

// A flow's life: the first segment (acquire a stream), then finish (end-of-data
// matches, reset, release). Arg: request size.
void bm_dlp_flow_lifecycle(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const std::string& data = corpus();
    auto scanner = make_scanner(issuer_card, 16);
    auto sink = [](const dlp_match&) {};
    std::size_t at = 0;
    for (auto _ : state) {
        dlp_flow_state f;
        scanner->scan(f, dlp_direction::outbound, {reinterpret_cast<const uint8_t*>(data.data()) + at, size}, sink);
        scanner->finish(f, dlp_direction::outbound, sink);
        at = (at + size) % (data.size() - size);
    }
}
BENCHMARK(bm_dlp_flow_lifecycle)->ArgName("bytes")->Arg(200)->Arg(1460);

// One datagram, scanned whole (dedicated stream, reset with end-of-data matches).
void bm_dlp_datagram(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const std::string& data = corpus();
    auto scanner = make_scanner(issuer_card, 0);
    dlp_flow_state f;
    auto sink = [](const dlp_match&) {};
    std::size_t at = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(
            scanner->scan_datagram(f, dlp_direction::outbound, {reinterpret_cast<const uint8_t*>(data.data()) + at, size}, sink));
        at = (at + size) % (data.size() - size);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(bm_dlp_datagram)->ArgName("bytes")->Arg(100)->Arg(1200);

// Control plane: compiling the 16 patterns, and a scanner with 100,000 streams.
void bm_dlp_build(benchmark::State& state) {
    const int variant = static_cast<int>(state.range(0));
    for (auto _ : state) benchmark::DoNotOptimize(dlp_database::build(dlp_set(variant)));
    state.counters["db_KiB"] = static_cast<double>(database(variant)->database_bytes()) / 1024;
}
BENCHMARK(bm_dlp_build)->ArgName("card")->Arg(generic_card)->Arg(issuer_card)->Unit(benchmark::kMillisecond);

void bm_dlp_scanner_create(benchmark::State& state) {
    const auto streams = static_cast<uint32_t>(state.range(0));
    std::size_t mem = 0;
    for (auto _ : state) {
        auto s = make_scanner(issuer_card, streams);
        mem = s->stream_memory_bytes();
    }
    state.counters["stream_MiB"] = static_cast<double>(mem) / (1 << 20);
}
BENCHMARK(bm_dlp_scanner_create)->ArgName("streams")->Arg(100'000)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
