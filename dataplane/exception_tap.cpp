#include "exception_tap.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/exception_path.hpp"

namespace egress::dataplane {

namespace {

using stats::side;

constexpr uint16_t tap_descriptors = 256;
constexpr const char* tap_device[2] = {"net_tap_exc_inside", "net_tap_exc_outside"};

[[noreturn]] void fail(const std::string& iface, const std::string& what, int rc) {
    throw std::runtime_error(fmt::format("exception interface {}: {} failed: {}", iface, what,
                                         std::strerror(rc < 0 ? -rc : rc)));
}

// One address with its prefix on the interface (RTM_NEWADDR over rtnetlink;
// IPv6 without duplicate address detection: the address is the port's,
// already in use on the link by egressd itself).
void add_address(const std::string& iface, const gateway::interface_prefix& p) {
    const unsigned index = if_nametoindex(iface.c_str());
    if (index == 0) fail(iface, "if_nametoindex", errno);
    struct {
        nlmsghdr nh;
        ifaddrmsg ifa;
        char attrs[64];
    } req{};
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
    req.nh.nlmsg_type = RTM_NEWADDR;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK;
    const bool v4 = p.address.is_v4();
    req.ifa.ifa_family = v4 ? AF_INET : AF_INET6;
    req.ifa.ifa_prefixlen = p.length;
    req.ifa.ifa_flags = v4 ? 0 : IFA_F_NODAD;
    req.ifa.ifa_index = index;
    const std::size_t len = v4 ? 4 : 16;
    const uint8_t* bytes = p.address.bytes.data() + (v4 ? 12 : 0);
    for (const unsigned short type : {IFA_LOCAL, IFA_ADDRESS}) {
        auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(req.nh.nlmsg_len));
        rta->rta_type = type;
        rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
        std::memcpy(RTA_DATA(rta), bytes, len);
        req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
    }
    const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) fail(iface, "opening a netlink socket", errno);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    std::array<char, 512> answer{};
    int rc = sendto(fd, &req, req.nh.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0 ? errno : 0;
    const ssize_t got = rc == 0 ? recv(fd, answer.data(), answer.size(), 0) : -1;
    if (rc == 0 && got < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr)))) rc = got < 0 ? errno : EPROTO;
    close(fd);
    if (rc == 0) {
        const auto* nh = reinterpret_cast<const nlmsghdr*>(answer.data());
        if (nh->nlmsg_type == NLMSG_ERROR) rc = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(nh))->error;
    }
    if (rc != 0) fail(iface, fmt::format("adding the address {}/{}", p.address, p.length), rc);
}

// A side without IPv6 addresses: the kernel interface sends no IPv6 at all
// (its link-local address, router solicitations and MLD reports would only be
// refused on the way out).
void disable_ipv6(const std::string& iface) {
    std::ofstream f("/proc/sys/net/ipv6/conf/" + iface + "/disable_ipv6");
    f << "1\n";
}

uint16_t start_tap(side s, const config::port_settings& port, const gateway::side_settings& own, rte_mempool* pool,
                   const net::mac_address& mac) {
    const std::string& iface = port.exception_interface;
    const std::string args = fmt::format("iface={}", iface);
    if (int rc = rte_eal_hotplug_add("vdev", tap_device[static_cast<int>(s)], args.c_str()); rc != 0)
        fail(iface, "creating the net_tap device (is librte-net-tap23 installed?)", rc);
    uint16_t id = 0;
    if (int rc = rte_eth_dev_get_port_by_name(tap_device[static_cast<int>(s)], &id); rc != 0)
        fail(iface, "finding the net_tap device", rc);
    bool has_v6 = false;
    for (const auto& a : own.addresses) has_v6 = has_v6 || !a.is_v4();
    if (!has_v6) disable_ipv6(iface);
    rte_eth_conf conf{};
    if (int rc = rte_eth_dev_configure(id, 1, 1, &conf); rc != 0) fail(iface, "rte_eth_dev_configure", rc);
    const int socket = rte_eth_dev_socket_id(id);
    const unsigned sock = socket < 0 ? 0u : static_cast<unsigned>(socket);
    if (int rc = rte_eth_rx_queue_setup(id, 0, tap_descriptors, sock, nullptr, pool); rc != 0)
        fail(iface, "rte_eth_rx_queue_setup", rc);
    if (int rc = rte_eth_tx_queue_setup(id, 0, tap_descriptors, sock, nullptr); rc != 0)
        fail(iface, "rte_eth_tx_queue_setup", rc);
    rte_ether_addr addr;
    std::copy(mac.bytes.begin(), mac.bytes.end(), addr.addr_bytes);
    if (int rc = rte_eth_dev_default_mac_addr_set(id, &addr); rc != 0) fail(iface, "setting the MAC address", rc);
    if (int rc = rte_eth_dev_set_mtu(id, own.mtu); rc != 0) fail(iface, "setting the MTU", rc);
    if (int rc = rte_eth_dev_start(id); rc != 0) fail(iface, "rte_eth_dev_start", rc);
    for (const auto& p : own.on_link) add_address(iface, p);
    return id;
}

} // namespace

exception_ports start_exception_taps(const config::egressd_config& cfg, rte_mempool* pool,
                                     const net::mac_address macs[2]) {
    exception_ports taps;
    const config::port_settings* ports[2] = {&cfg.inside_port, &cfg.outside_port};
    const gateway::side_settings* sides[2] = {&cfg.gateway.inside, &cfg.gateway.outside};
    for (const side s : {side::inside, side::outside}) {
        const auto i = static_cast<std::size_t>(s);
        if (ports[i]->exception_interface.empty()) continue;
        taps.port[i] = start_tap(s, *ports[i], *sides[i], pool, macs[i]);
    }
    return taps;
}

void stop_exception_taps(const exception_ports& taps) {
    for (const int p : taps.port) {
        if (p == no_exception_port) continue;
        (void)rte_eth_dev_stop(static_cast<uint16_t>(p));
        (void)rte_eth_dev_close(static_cast<uint16_t>(p));
    }
}

void exception_io::send(side from, rte_mbuf* m, stats::worker_counters& counters) noexcept {
    const int tap = taps_.port[static_cast<std::size_t>(from)];
    if (tap == no_exception_port || rte_eth_tx_burst(static_cast<uint16_t>(tap), 0, &m, 1) != 1) {
        counters.count_drop(stats::drop_reason::exception_queue_full);
        rte_pktmbuf_free(m);
        return;
    }
    ++counters.exception_to_kernel;
}

void exception_io::send_copy(side from, const rte_mbuf* m, rte_mempool* pool,
                             stats::worker_counters& counters) noexcept {
    rte_mbuf* c = pool != nullptr ? rte_pktmbuf_copy(m, pool, 0, UINT32_MAX) : nullptr;
    if (c == nullptr) {
        counters.count_drop(stats::drop_reason::exception_queue_full);
        return;
    }
    send(from, c, counters);
}

uint16_t exception_io::receive(side s, rte_mbuf** out, uint16_t max, uint32_t now_ms,
                               stats::worker_counters& counters) noexcept {
    const auto i = static_cast<std::size_t>(s);
    const int tap = taps_.port[i];
    if (tap == no_exception_port || last_read_ms_[i] == now_ms) return 0;
    last_read_ms_[i] = now_ms;
    const uint16_t n = rte_eth_rx_burst(static_cast<uint16_t>(tap), 0, out, max);
    const gateway::side_settings& own = s == side::inside ? gateway_.inside : gateway_.outside;
    uint16_t k = 0;
    for (uint16_t j = 0; j < n; ++j) {
        rte_mbuf* m = out[j];
        const bool whole = m->nb_segs == 1;
        const stats::drop_reason why =
            whole ? gateway::from_kernel_check(own, {rte_pktmbuf_mtod(m, const uint8_t*), m->data_len})
                  : stats::drop_reason::exception_source_refused;
        if (why != stats::no_drop) {
            counters.count_drop(why);
            rte_pktmbuf_free(m);
            continue;
        }
        ++counters.exception_from_kernel;
        out[k++] = m;
    }
    return k;
}

} // namespace egress::dataplane
