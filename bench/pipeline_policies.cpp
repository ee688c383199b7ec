#include "pipeline_policies.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <unistd.h>

#include <fmt/format.h>

#include "dlp_corpus.hpp"
#include "event_log.hpp"
#include "policy_loader.hpp"

namespace egress_bench {

using namespace egress;

policy_file::policy_file(const std::string& text) {
    path = fmt::format("/tmp/egress-bench-{}-policy.toml", ::getpid());
    write(text);
}

void policy_file::write(const std::string& text) const {
    std::ofstream f(path);
    f << text;
}

policy_file::~policy_file() { std::filesystem::remove(path); }

live_policy::live_policy(const std::string& text, uint32_t dlp_streams) : file(text) {
    auto loaded = policy::load_policy_file(file.path);
    if (!loaded.errors.empty()) throw std::runtime_error("bench policy: " + loaded.errors.front().to_string());
    control = std::make_unique<controlplane::policy_control>(
        file.path, [s = slot.get()](auto next) { return s->publish(std::move(next)); }, nullptr);
    control->set_dlp_streams(dlp_streams);
    control->start(std::move(loaded.policy), controlplane::unix_ms_now());
}

namespace {

const char* const allowed_names[] = {"api.github.com", "*.githubusercontent.com", "api.stripe.com",
                                     "*.amazonaws.com", "login.microsoftonline.com", "*.googleapis.com",
                                     "registry.npmjs.org", "pypi.org", "*.docker.io", "*.slack.com"};

} // namespace

std::string sni_policy() {
    std::string names;
    for (const char* n : allowed_names) names += fmt::format("{}\"{}\"", names.empty() ? "" : ", ", n);
    return fmt::format(R"([policy]
default = "deny"

[[policy.rule]]
name = "saas"
destinations = ["198.18.0.0/15"]
protocol = "tcp"
ports = [443]
hostnames = [{}]
action = "allow"
)",
                       names);
}

std::string dlp_policy() {
    std::string s = R"([policy]
default = "deny"

[[policy.rule]]
name = "uploads"
destinations = ["198.18.0.0/15"]
protocol = "tcp"
ports = [443]
action = "allow"

[dlp]
depth = 0
)";
    for (const auto& p : egress_bench::dlp_set(egress_bench::issuer_card)) {
        s += fmt::format("\n[[dlp.pattern]]\nname = \"{}\"\nregex = '{}'\naction = \"alert\"\n", p.name, p.regex);
        if (p.caseless) s += "flags = [\"caseless\"]\n";
        if (p.validator == dlp::dlp_validator::luhn) s += "validator = \"luhn\"\n";
    }
    return s;
}

// Two versions of a policy that both allow the benchmark's UDP traffic (they
// differ in their other rules), for the reload scenario.
std::string reload_policy(int version) {
    std::string s = "[policy]\ndefault = \"deny\"\n";
    for (int r = 0; r < 50 + version; ++r)
        s += fmt::format("\n[[policy.rule]]\nname = \"block-{}\"\ndestinations = [\"100.{}.{}.0/24\"]\naction = \"deny\"\n", r,
                         64 + version, r);
    s += "\n[[policy.rule]]\nname = \"dns\"\ndestinations = [\"198.51.100.0/24\"]\nprotocol = \"udp\"\nports = [53]\n"
         "action = \"allow\"\n";
    return s;
}

} // namespace egress_bench
