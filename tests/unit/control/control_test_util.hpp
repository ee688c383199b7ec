// What the control-plane tests share: scratch files under /tmp, and the policy
// publisher of dataplane/policy_slot without RCU (no worker to wait for).
#pragma once

#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "policy_control.hpp"

namespace egress::controlplane::testing_util {

// A path under /tmp that nothing else uses (process id and a counter), short
// enough for a socket address; whatever is there is removed at both ends.
class temp_path {
public:
    explicit temp_path(std::string_view name) {
        static unsigned counter = 0;
        path = fmt::format("/tmp/egressd-unit-{}-{}-{}", ::getpid(), ++counter, name);
        ::unlink(path.c_str());
    }
    ~temp_path() { ::unlink(path.c_str()); }
    temp_path(const temp_path&) = delete;
    temp_path& operator=(const temp_path&) = delete;

    std::string path;
};

inline void write_file(const std::string& path, std::string_view text) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) throw std::runtime_error("cannot write " + path);
}

inline std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream f(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(f, line);) lines.push_back(line);
    return lines;
}

// A whole config file whose [policy] (policy_loader) has two rules: "allow-https"
// (line 7) and the report-mode "dns-trial" (line 14); the default denies.
inline constexpr std::string_view policy_document = R"([nat]
pool = ["203.0.113.10"]

[policy]
default = "deny"

[[policy.rule]]
name = "allow-https"
destinations = ["0.0.0.0/0", "::/0"]
protocol = "tcp"
ports = [443]
action = "allow"

[[policy.rule]]
name = "dns-trial"
destinations = ["0.0.0.0/0"]
protocol = "udp"
ports = [53]
action = "deny"
mode = "report"
)";

// A [policy] with two errors, at 2:1 and 3:1 (policy_loader_test has the texts).
inline constexpr std::string_view broken_policy_document = "[policy]\ndefualt = \"deny\"\nrules = []\n";

// Keeps the newest snapshot (the worker would read it) and hands the previous
// one back at once, as policy_slot does after the RCU grace period.
struct fake_slot {
    std::unique_ptr<policy::active_policy> current;
    std::vector<uint8_t> generations; // of every snapshot published, in order

    policy_control::publisher publisher() {
        return [this](std::unique_ptr<policy::active_policy> next) {
            generations.push_back(next->generation);
            current.swap(next);
            return next;
        };
    }
};

} // namespace egress::controlplane::testing_util
