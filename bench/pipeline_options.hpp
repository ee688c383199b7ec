// egress-bench's command line: which scenarios, at which sizes, for how long.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace egress_bench {

extern const std::vector<std::string> all_scenarios;
extern const char* const usage;

struct options {
    std::set<std::string> scenarios{all_scenarios.begin(), all_scenarios.end()};
    std::vector<uint32_t> flows{1'000, 10'000, 100'000, 1'000'000, 10'000'000};
    std::vector<std::string> protos{"udp", "tcp"};
    double seconds = 3.0;           // timed window of each measurement
    uint32_t new_flows = 2'000'000; // new-udp: flows opened (one packet each)
    uint32_t slots = 2048;          // connect / imix-sni / dlp: connections in flight
    uint32_t dlp_segments = 32;     // dlp: 1,460-byte segments per connection
    uint32_t reload_ms = 20;        // reload: interval between policy reloads
    uint32_t reload_flows = 100'000;
    uint32_t sweep = 64;            // expiry sweep budget per worker loop (egressd: 64)
    bool json = false;
    bool same_core = false;         // traffic generated on the worker's lcore (pipeline_same_core.hpp)
    bool device_checksum = false;   // --same-core frames flagged "IPv4 checksum good" as by a NIC
    bool smoke = false;
};

// Fills o from the arguments; throws std::invalid_argument naming a bad one
// (--help prints the usage and exits).
void parse_options(int argc, char** argv, options& o);

} // namespace egress_bench
