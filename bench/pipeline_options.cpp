#include "pipeline_options.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace egress_bench {

const std::vector<std::string> all_scenarios{"floor", "established", "new-udp", "connect", "imix-sni", "dlp", "reload"};

const char* const usage =
    "usage: egress-bench [--scenarios LIST] [--flows LIST] [--protos udp,tcp] [--seconds S]\n"
    "                    [--new-flows N] [--slots N] [--dlp-segments N] [--reload-ms MS]\n"
    "                    [--reload-flows N] [--sweep N] [--same-core [--device-checksum]]\n"
    "                    [--json] [--smoke]\n"
    "  scenarios: floor,established,new-udp,connect,imix-sni,dlp,reload (default: all)\n"
    "  --flows: established flow counts (default 1000,10000,100000,1000000,10000000)\n"
    "  --same-core: floor, established, new-udp and reload generate their traffic on the\n"
    "               worker's own lcore (VPP packet-generator style); the others as without it\n"
    "  --device-checksum: with --same-core, frames arrive flagged IPv4-checksum-good, as a NIC\n"
    "               that verified them flags them (the worker then skips the software check)\n"
    "  --smoke: tiny sizes, short windows (the meson test)\n";

namespace {

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t comma = s.find(',', start);
        const std::size_t end = comma == std::string::npos ? s.size() : comma;
        if (end > start) out.push_back(s.substr(start, end - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

} // namespace

void parse_options(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        if (a == "--scenarios") {
            o.scenarios.clear();
            for (const auto& s : split(value())) {
                if (std::find(all_scenarios.begin(), all_scenarios.end(), s) == all_scenarios.end())
                    throw std::invalid_argument("unknown scenario " + s);
                o.scenarios.insert(s);
            }
        } else if (a == "--flows") {
            o.flows.clear();
            for (const auto& s : split(value())) o.flows.push_back(static_cast<uint32_t>(std::stoul(s)));
        } else if (a == "--protos") {
            o.protos = split(value());
            for (const auto& p : o.protos)
                if (p != "udp" && p != "tcp") throw std::invalid_argument("unknown protocol " + p);
        } else if (a == "--seconds") {
            o.seconds = std::stod(value());
        } else if (a == "--new-flows") {
            o.new_flows = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--slots") {
            o.slots = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--dlp-segments") {
            o.dlp_segments = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--reload-ms") {
            o.reload_ms = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--reload-flows") {
            o.reload_flows = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--sweep") {
            o.sweep = static_cast<uint32_t>(std::stoul(value()));
        } else if (a == "--same-core") {
            o.same_core = true;
        } else if (a == "--device-checksum") {
            o.device_checksum = true;
        } else if (a == "--json") {
            o.json = true;
        } else if (a == "--smoke") {
            o.smoke = true;
            o.flows = {1'000, 5'000};
            o.seconds = 0.3;
            o.new_flows = 20'000;
            o.slots = 64;
            o.dlp_segments = 8;
            o.reload_flows = 2'000;
            o.reload_ms = 10;
        } else if (a == "-h" || a == "--help") {
            std::fputs(usage, stdout);
            std::exit(0);
        } else {
            throw std::invalid_argument("unknown argument " + a);
        }
    }
    if (o.slots == 0 || o.slots > 65536) throw std::invalid_argument("--slots must be 1..65536");
    if (o.seconds <= 0) throw std::invalid_argument("--seconds must be positive");
    if (o.device_checksum && !o.same_core) throw std::invalid_argument("--device-checksum needs --same-core");
}

} // namespace egress_bench
