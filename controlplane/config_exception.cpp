#include "config_exception.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "config_reader.hpp"
#include "net/packet_view.hpp"

namespace egress::config::reading {

namespace {

// Linux interface names: at most IFNAMSIZ - 1 = 15 bytes, no '/' or space
// (kept to the characters an operator types in a routing daemon's config).
bool is_interface_name(std::string_view s) {
    return !s.empty() && s.size() <= 15 && s != "." && s != ".." &&
           std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.';
           });
}

// "tcp/22", "udp/161": the protocol and a port 1..65535; nullopt otherwise.
std::optional<gateway::exception_port> parse_exception_port(std::string_view s) {
    gateway::exception_port p;
    if (s.substr(0, 4) == "tcp/") {
        p.proto = net::proto_tcp;
    } else if (s.substr(0, 4) == "udp/") {
        p.proto = net::proto_udp;
    } else {
        return std::nullopt;
    }
    const std::string_view digits = s.substr(4);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535)
        return std::nullopt;
    p.port = static_cast<uint16_t>(port);
    return p;
}

constexpr string_rule interface_rule{
    R"(a kernel interface name of 1 to 15 letters, digits, "-", "_" or "." like "egx-out0")",
    is_interface_name};
constexpr string_rule port_rule{R"("tcp/PORT" or "udp/PORT" with PORT 1..65535, like "tcp/22")",
                                [](std::string_view s) { return parse_exception_port(s).has_value(); }};

} // namespace

void read_exception(table_reader& r, port_settings& port, gateway::side_settings& side) {
    r.get_string("exception_interface", port.exception_interface, interface_rule);
    std::vector<std::string> ports;
    r.get_string_list("exception_ports", ports, port_rule);
    r.get_uint("exception_rate", side.exception.rate, 1, 1'000'000);
    r.get_uint("exception_burst", side.exception.burst, 1, 100'000);
    side.exception.enabled = !port.exception_interface.empty();
    side.exception.ports.clear();
    for (const std::string& text : ports)
        if (const auto p = parse_exception_port(text);
            p && std::find(side.exception.ports.begin(), side.exception.ports.end(), *p) == side.exception.ports.end())
            side.exception.ports.push_back(*p);
    if (r.table() == nullptr) return;
    if (const toml::node* n = r.table()->get("exception_ports"); n != nullptr && !side.exception.enabled)
        r.ctx().error(n->source().begin, r.path("exception_ports"),
                      fmt::format("expected {} to be set (the ports go to that interface), got none",
                                  r.path("exception_interface")));
    // The kernel interface carries untagged frames; a side with a VLAN would
    // need its tag popped and pushed on the way (not done).
    if (const toml::node* n = r.table()->get("exception_interface"); n != nullptr && side.exception.enabled &&
                                                                     side.vlan != 0)
        r.ctx().error(n->source().begin, r.path("exception_interface"),
                      fmt::format("expected a side without {} (the exception path is untagged), got vlan {}",
                                  r.path("vlan"), side.vlan));
}

void check_exception_interfaces(context& ctx, const toml::table* outside_table, const egressd_config& cfg) {
    if (outside_table == nullptr || cfg.outside_port.exception_interface.empty() ||
        cfg.outside_port.exception_interface != cfg.inside_port.exception_interface)
        return;
    ctx.error(outside_table->get("exception_interface")->source().begin, "outside.exception_interface",
              fmt::format("expected a name other than inside.exception_interface, got {}",
                          quote(cfg.outside_port.exception_interface)));
}

} // namespace egress::config::reading
