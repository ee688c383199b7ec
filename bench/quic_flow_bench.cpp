// Part of egress_bench: a new QUIC flow decided on the packet path with
// `[policy] quic = "inspect"` (issue 16). Each flow is a real two-datagram
// Chromium 156 first flight (tests/unit/quic/data/chromium-156-a.{0,1}.bin,
// ~20 shuffled CRYPTO frames, GREASE ECH) from its own source port: flow
// creation and NAT, the hold, Initial key derivation, header protection and
// AES-GCM of both packets, CRYPTO reassembly, ClientHello parse, hostname match
// (the policy allows the name), then release of both held datagrams through
// the flow stages. TSC clocks per flow (both datagrams) in the counters.
#include <x86intrin.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "../tests/unit/gateway/gateway_fixture.hpp"
#include "gateway/gateway_core.hpp"
#include "policy/active_policy.hpp"

namespace {

using namespace egress;
using bytes = std::vector<uint8_t>;

bytes read_flight(int i) {
    std::ifstream in(std::string(EGRESS_SOURCE_ROOT) + "/tests/unit/quic/data/chromium-156-a." + std::to_string(i) +
                         ".bin",
                     std::ios::binary);
    return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::shared_ptr<const policy::compiled_policy> quic_policy() {
    policy::policy_spec spec;
    spec.default_action = policy::verdict::deny;
    spec.inspection.quic = policy::quic_action::inspect;
    policy::rule_spec named;
    named.name = "named";
    named.destinations = {*policy::cidr::parse("0.0.0.0/0", nullptr)};
    named.proto = policy::protocol::any;
    named.hostnames = {"api.stripe.com", "*.github.com", "quic.example.test"};
    named.action = policy::verdict::allow;
    spec.rules = {named};
    return std::move(policy::compiled_policy::compile(spec).policy);
}

void BM_gateway_new_quic_flow(benchmark::State& state) {
    constexpr uint32_t flows = 4096; // per gateway instance (then a fresh one, untimed)
    const bytes d0 = read_flight(0), d1 = read_flight(1);
    if (d0.empty() || d1.empty()) return state.SkipWithError("tests/unit/quic/data not found");
    std::vector<std::array<bytes, 2>> pristine(flows);
    for (uint32_t i = 0; i < flows; ++i) {
        const auto port = static_cast<uint16_t>(20000 + i);
        for (int k = 0; k < 2; ++k)
            pristine[i][k] = gateway::testing_network::from_inside()
                                 .ipv4("10.0.0.5", "198.51.100.7")
                                 .udp(port, 443)
                                 .payload(k == 0 ? d0 : d1)
                                 .build();
    }
    const auto compiled = quic_policy();
    gateway::settings s = gateway::testing_network::make_settings(2 * flows);
    std::unique_ptr<policy::active_policy> active;
    std::unique_ptr<gateway::gateway_core> core;
    const auto reset = [&] {
        active = std::make_unique<policy::active_policy>(compiled);
        core = std::make_unique<gateway::gateway_core>(s);
        core->use_policy(active.get());
    };
    reset();
    std::vector<std::array<bytes, 2>> work = pristine;
    uint32_t next = 0;
    uint64_t clocks = 0, decided = 0;
    bool released = true;
    for (auto _ : state) {
        if (next == flows) {
            state.PauseTiming();
            reset();
            work = pristine;
            next = 0;
            state.ResumeTiming();
        }
        std::array<bytes, 2>& f = work[next++];
        const uint64_t t0 = __rdtsc();
        core->process(stats::side::inside, f[0], 1);
        const gateway::packet_result r = core->process(stats::side::inside, f[1], 1);
        clocks += __rdtsc() - t0;
        released = released && r.kind == gateway::verdict::consumed && core->built_frames().size() == 2;
        ++decided;
    }
    if (!released) state.SkipWithError("a flight was not allowed and released");
    state.SetItemsProcessed(static_cast<int64_t>(decided));
    state.counters["clocks_per_quic_flow"] = static_cast<double>(clocks) / static_cast<double>(decided);
}
BENCHMARK(BM_gateway_new_quic_flow)->Unit(benchmark::kMicrosecond);

} // namespace
