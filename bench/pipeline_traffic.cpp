#include "pipeline_traffic.hpp"

namespace egress_bench {

// n prebuilt 64-byte frames of flows first..first+n-1 (UDP, or TCP ACKs after the
// handshake the connection driver did for them: seq/ack from `seq_of`).
std::vector<uint8_t> build_stream(const testbed& tb, uint32_t first, uint32_t n, uint8_t proto) {
    std::vector<uint8_t> blob(static_cast<std::size_t>(n) * min_frame);
    const uint8_t payload[18] = {};
    for (uint32_t k = 0; k < n; ++k) {
        const uint32_t i = first + k;
        if (proto == 17) {
            build_frame(&blob[static_cast<std::size_t>(k) * min_frame], tb.ports[0].handle.mac, inside_host_mac, 17,
                        flow_src(i), flow_sport(i), flow_dst(i), 53, 0, 0, 0, payload, 18);
        } else {
            // An ACK carrying 6 bytes, sequence numbers as left by the handshake
            // (client ISN i, server ISN ~i): the gateway tracks states, not windows.
            build_frame(&blob[static_cast<std::size_t>(k) * min_frame], tb.ports[0].handle.mac, inside_host_mac, 6,
                        flow_src(i), flow_sport(i), flow_dst(i), 443, i + 1, ~i + 1, tcp_flag::ack, payload, 6);
        }
    }
    return blob;
}

} // namespace egress_bench
