#include "net/special_address.hpp"

namespace egress::net {

std::string_view to_string(special_address s) noexcept {
    switch (s) {
    case special_address::none: return "none";
    case special_address::unspecified: return "unspecified";
    case special_address::loopback: return "loopback";
    case special_address::link_local: return "link_local";
    case special_address::multicast: return "multicast";
    case special_address::broadcast: return "broadcast";
    case special_address::reserved: return "reserved";
    case special_address::v4_mapped: return "v4_mapped";
    }
    return "unknown";
}

} // namespace egress::net
