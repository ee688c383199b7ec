#include "port_link.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <rte_ethdev.h>

namespace egress::dataplane {

std::string kernel_interface(const std::vector<std::string>& vdevs, std::string_view device) {
    for (const std::string& v : vdevs) {
        std::string_view rest = v;
        const std::size_t comma = rest.find(',');
        if (rest.substr(0, comma) != device || comma == std::string_view::npos) continue;
        rest.remove_prefix(comma + 1);
        while (!rest.empty()) {
            const std::size_t end = rest.find(',');
            const std::string_view arg = rest.substr(0, end);
            if (arg.starts_with("iface=")) return std::string(arg.substr(6));
            if (end == std::string_view::npos) break;
            rest.remove_prefix(end + 1);
        }
    }
    return "";
}

bool link_up(uint16_t port_id, const std::string& kernel_iface) {
    if (!kernel_iface.empty() && kernel_iface.size() < IFNAMSIZ) {
        const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            ifreq req{};
            std::memcpy(req.ifr_name, kernel_iface.data(), kernel_iface.size());
            const bool asked = ::ioctl(fd, SIOCGIFFLAGS, &req) == 0;
            const int why = errno;
            ::close(fd);
            if (asked) return (req.ifr_flags & IFF_RUNNING) != 0;
            if (why == ENODEV) return false; // the interface is gone (its namespace or its peer deleted)
        }
    }
    rte_eth_link link{};
    return rte_eth_link_get_nowait(port_id, &link) != 0 || link.link_status != RTE_ETH_LINK_DOWN;
}

} // namespace egress::dataplane
