// kc-send: the traffic of bench/kernel_compare.py. Writes 64-byte UDP frames of
// flows 0..N-1 (bench_frames.hpp: the same flows and shape as egress-bench's
// established scenario, each packet the next flow in turn) to an interface
// through an AF_PACKET socket (qdisc bypassed), 64 frames per sendmmsg, for a number of seconds
// or one pass, optionally paced. Prints one JSON line: {"sent": .., "seconds": ..}.
//
// usage: kc-send --iface IF --dst-mac MAC --src-mac MAC --flows N
//                (--seconds S | --once) [--pps RATE]
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_frames.hpp"

namespace {

bool parse_mac(const std::string& s, egress::net::mac_address& m) {
    unsigned b[6];
    if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) return false;
    for (int i = 0; i < 6; ++i) m.bytes[i] = static_cast<uint8_t>(b[i]);
    return true;
}

using namespace egress_bench;

struct send_options {
    std::string iface;
    egress::net::mac_address dst{}, src{};
    uint32_t flows = 1000;
    double seconds = 0, pps = 0;
    bool once = false;
};

// The command line; false (after a message) when it is not usable.
bool parse_options(int argc, char** argv, send_options& o) {
    bool have_dst = false, have_src = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : "";
        if (a == "--iface") o.iface = v, ++i;
        else if (a == "--dst-mac") have_dst = parse_mac(v, o.dst), ++i;
        else if (a == "--src-mac") have_src = parse_mac(v, o.src), ++i;
        else if (a == "--flows") o.flows = static_cast<uint32_t>(std::stoul(v)), ++i;
        else if (a == "--seconds") o.seconds = std::stod(v), ++i;
        else if (a == "--pps") o.pps = std::stod(v), ++i;
        else if (a == "--once") o.once = true;
        else {
            std::fprintf(stderr, "kc-send: unknown argument %s\n", a.c_str());
            return false;
        }
    }
    if (o.iface.empty() || !have_dst || !have_src || o.flows == 0 || (!o.once && o.seconds <= 0)) {
        std::fprintf(stderr, "usage: kc-send --iface IF --dst-mac MAC --src-mac MAC --flows N (--seconds S | --once) [--pps R]\n");
        return false;
    }
    return true;
}

// A raw packet socket bound to the interface, or -1 (after a message).
int open_socket(const std::string& iface) {
    const int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) {
        std::perror("kc-send: socket");
        return -1;
    }
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    // Straight to the driver (veth_xmit), past the qdisc layer: the sender does
    // less per frame, so it stays ahead of the gateway it measures.
    const int bypass = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &bypass, sizeof bypass);
    if (addr.sll_ifindex == 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("kc-send: bind");
        close(fd);
        return -1;
    }
    // Do not see our own frames on receive (we never read).
    int zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &zero, sizeof zero);
    return fd;
}

// Sends the frames of `blob` round robin (each min_frame bytes) until the time
// or the count is reached; returns how many were sent, or -1 on a send error.
int64_t send_frames(int fd, std::vector<uint8_t>& blob, const send_options& o) {
    const uint32_t flows = o.flows;
    constexpr unsigned batch = 64;
    iovec iov[batch];
    mmsghdr msgs[batch];
    std::memset(msgs, 0, sizeof msgs);
    const auto start = std::chrono::steady_clock::now();
    const uint64_t total = o.once ? flows : UINT64_MAX;
    uint64_t sent = 0, next = 0;
    while (sent < total) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!o.once && elapsed >= o.seconds) break;
        if (o.pps > 0 && static_cast<double>(sent) > elapsed * o.pps) {
            std::this_thread::sleep_for(std::chrono::microseconds(50));
            continue;
        }
        const unsigned n = static_cast<unsigned>(std::min<uint64_t>(batch, total - sent));
        for (unsigned k = 0; k < n; ++k) {
            iov[k].iov_base = &blob[next * min_frame];
            iov[k].iov_len = min_frame;
            msgs[k].msg_hdr.msg_iov = &iov[k];
            msgs[k].msg_hdr.msg_iovlen = 1;
            next = next + 1 == flows ? 0 : next + 1;
        }
        const int r = sendmmsg(fd, msgs, n, 0);
        if (r < 0) {
            if (errno == ENOBUFS || errno == EAGAIN) {
                next = (next + flows - n % flows) % flows; // resend the same frames
                continue;
            }
            std::perror("kc-send: sendmmsg");
            return -1;
        }
        sent += static_cast<unsigned>(r);
        if (static_cast<unsigned>(r) < n) next = (next + flows - (n - static_cast<unsigned>(r)) % flows) % flows;
    }
    return static_cast<int64_t>(sent);
}

} // namespace

int main(int argc, char** argv) {
    send_options o;
    if (!parse_options(argc, argv, o)) return 2;
    const int fd = open_socket(o.iface);
    if (fd < 0) return 1;
    std::vector<uint8_t> blob(static_cast<std::size_t>(o.flows) * min_frame);
    const uint8_t payload[18] = {};
    for (uint32_t i = 0; i < o.flows; ++i)
        build_frame(&blob[static_cast<std::size_t>(i) * min_frame], o.dst, o.src, 17, flow_src(i), flow_sport(i),
                    flow_dst(i), 53, 0, 0, 0, payload, 18);
    const auto start = std::chrono::steady_clock::now();
    const int64_t sent = send_frames(fd, blob, o);
    if (sent < 0) return 1;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("{\"sent\": %llu, \"seconds\": %.6f}\n", static_cast<unsigned long long>(sent), elapsed);
    close(fd);
    return 0;
}
