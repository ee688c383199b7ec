// Instructions per packet on gateway_core's established UDP path, for
// callgrind (the count does not move with the machine's load, unlike clocks):
// `flows` flows are created (one frame each), then `bursts` bursts of 32 of
// their next frames, each packet a different flow in turn, go through
// process_burst. Run it twice under callgrind with two burst counts; the
// difference of the totals over the difference of the packets is the path's
// instructions per packet, set-up and start-up excluded (bench/README.md):
//   valgrind --tool=callgrind build-v3/bench/path-instructions 10000 1000
//   valgrind --tool=callgrind build-v3/bench/path-instructions 10000 3000
// Only gateway_core's public burst call is used, so the same file builds
// against earlier trees (before packet_result, a burst returned drop reasons).
#include <cstdio>
#include <cstdlib>
#include <span>

#include "gateway/gateway_core.hpp"
#include "udp_flows.hpp"

#if __has_include("gateway/packet_result.hpp")
using burst_result = egress::gateway::packet_result;
static bool forwarded_ok(const burst_result& r) { return r.kind == egress::gateway::verdict::forward; }
#else
using burst_result = egress::stats::drop_reason;
static bool forwarded_ok(burst_result r) { return r == egress::stats::no_drop; }
#endif

int main(int argc, char** argv) {
    using namespace egress;
    using namespace egress::bench;
    if (argc != 3) {
        std::fprintf(stderr, "usage: path-instructions FLOWS BURSTS\n");
        return 2;
    }
    const auto n = static_cast<uint32_t>(std::strtoul(argv[1], nullptr, 10));
    const auto bursts = static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10));
    const std::vector<frame> pristine = make_flows(n);
    gateway::gateway_core core(bench_settings(n + n / 8));
    for (uint32_t i = 0; i < n; ++i) {
        frame first = pristine[i];
        core.process(stats::side::inside, std::span<uint8_t>(first.data(), frame_size), 0);
    }
    frame work[32];
    std::span<uint8_t> spans[32];
    burst_result results[32];
    uint32_t next = 0;
    uint64_t forwarded = 0;
    for (uint32_t b = 0; b < bursts; ++b) {
        for (int k = 0; k < 32; ++k) {
            work[k] = pristine[next];
            spans[k] = std::span<uint8_t>(work[k].data(), frame_size);
            next = next + 1 == n ? 0 : next + 1;
        }
        core.process_burst(stats::side::inside, spans, 32, 1, results);
        for (const burst_result& r : results) forwarded += forwarded_ok(r) ? 1 : 0;
    }
    std::printf("flows %u, packets %llu, forwarded %llu\n", n, static_cast<unsigned long long>(bursts) * 32,
                static_cast<unsigned long long>(forwarded));
    return forwarded == static_cast<uint64_t>(bursts) * 32 ? 0 : 1;
}
