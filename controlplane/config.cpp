#include "config.hpp"

#include "config_exception.hpp"
#include "config_reader.hpp"
#include "net/special_address.hpp"

namespace egress::config {

namespace {

using namespace reading;

// ---------------------------------------------------------------------------
// The document

struct table_spec {
    std::string_view name;
    bool required;
};

constexpr table_spec top_level_tables[] = {
    {"eal", false},   {"inside", true},    {"outside", true}, {"nat", true},
    {"flows", false}, {"timeouts", false}, {"run", false},  {"export", false}, {"metrics", false},
    {"control", false}, {"events", false}, {"inspect", false}, {"icmp", false}, {"tcp", false},
    {"fragments", false},
    {"policy", false}, {"dlp", false}, // validated and compiled by controlplane/policy_loader.cpp
    {"neighbors", false},
    {"limits", false},
    {"health", false},
    {"dns", false},
};

struct side_result {
    bool device_ok = false;
    std::vector<located_address> addresses;
};

constexpr std::pair<std::string_view, bool> steerings[] = {{"auto", true}, {"software", false}};
constexpr std::pair<std::string_view, nat::mapping_mode> mappings[] = {
    {"endpoint-dependent", nat::mapping_mode::endpoint_dependent},
    {"endpoint-independent", nat::mapping_mode::endpoint_independent}};
constexpr std::pair<std::string_view, base::idle_mode> idle_modes[] = {{"poll", base::idle_mode::poll},
                                                                     {"adaptive", base::idle_mode::adaptive}};
constexpr std::pair<std::string_view, bool> exhaustion[] = {{"fail_open", false}, {"fail_closed", true}};
constexpr std::pair<std::string_view, bool> unverified_overlap[] = {{"drop", false}, {"pass", true}};

constexpr string_rule ip_rule{"an IPv4 or IPv6 address",
                               [](std::string_view s) { return net::ip_address::parse(s).has_value(); }};

// next_hop: at most one router per family, on one of the side's on-link
// prefixes, not one of the side's own addresses.
void check_next_hops(table_reader& r, const std::vector<located_address>& hops, gateway::side_settings& side) {
    for (std::size_t i = 0; i < hops.size(); ++i) {
        const located_address& h = hops[i];
        const auto same_family = std::find_if(hops.begin(), hops.begin() + static_cast<std::ptrdiff_t>(i),
                                              [&](const located_address& o) { return o.address.is_v4() == h.address.is_v4(); });
        if (same_family != hops.begin() + static_cast<std::ptrdiff_t>(i)) {
            r.ctx().error(h.at, h.key,
                          fmt::format("expected at most one next hop per family, got {} (also {} is {})",
                                      quote(h.text), same_family->key, h.address.is_v4() ? "IPv4" : "IPv6"));
            continue;
        }
        if (std::find(side.addresses.begin(), side.addresses.end(), h.address) != side.addresses.end()) {
            r.ctx().error(h.at, h.key,
                          fmt::format("expected a router, not one of {}, got {}", r.path("addresses"), quote(h.text)));
            continue;
        }
        if (std::none_of(side.on_link.begin(), side.on_link.end(),
                         [&](const gateway::interface_prefix& p) { return p.contains(h.address); })) {
            r.ctx().error(h.at, h.key,
                          fmt::format("expected an address on the prefix of one of {} (e.g. \"10.0.0.1/24\"), got {}",
                                      r.path("addresses"), quote(h.text)));
            continue;
        }
        (h.address.is_v4() ? side.next_hop_v4 : side.next_hop_v6) = h.address;
    }
}

// [[inside.neighbor]] / [[outside.neighbor]]: static neighbour entries.
void read_neighbors(table_reader& r, gateway::side_settings& side) {
    std::vector<std::pair<net::ip_address, std::string>> seen;
    for (const auto& [i, t] : r.get_tables("neighbor")) {
        table_reader e(r.ctx(), fmt::format("{}[{}]", r.path("neighbor"), i), t);
        std::string address_text;
        const bool address_ok = e.get_string("address", address_text, ip_rule, true);
        std::optional<net::mac_address> mac;
        const bool mac_ok = get_mac(e, "mac", mac, true);
        e.finish();
        if (!address_ok || !mac_ok || address_text.empty() || !mac) continue;
        const net::ip_address a = *net::ip_address::parse(address_text);
        const position at = t->get("address")->source().begin;
        const auto first = std::find_if(seen.begin(), seen.end(), [&](const auto& p) { return p.first == a; });
        if (first != seen.end()) {
            r.ctx().error(at, e.path("address"),
                          fmt::format("expected a distinct address, got {} again (first at {})", quote(address_text),
                                      first->second));
            continue;
        }
        if (std::find(side.addresses.begin(), side.addresses.end(), a) != side.addresses.end()) {
            r.ctx().error(at, e.path("address"),
                          fmt::format("expected a neighbour, not one of {}, got {}", r.path("addresses"),
                                      quote(address_text)));
            continue;
        }
        seen.emplace_back(a, e.path("address"));
        side.neighbors.push_back({a, *mac});
    }
}

// [outside] allow_special: special-purpose prefixes (net/special_address.hpp)
// the operator lets cross; each must name refused addresses only, of a class a
// router may forward.
void read_allow_special(table_reader& r, std::vector<gateway::interface_prefix>& out) {
    std::vector<located_address> listed;
    get_address_list(r, "allow_special", listed, families::with_prefix, 0, 64, false);
    for (const located_address& p : listed) {
        const gateway::interface_prefix prefix{p.address, p.prefix_length};
        const net::special_address c = net::classify_special_prefix(p.address, p.prefix_length);
        const std::string why =
            c == net::special_address::none
                ? "a special-purpose prefix egressd refuses (link-local, multicast, class E); this one is not "
                  "refused, nothing to allow"
                : !net::special_exceptable(c) ? fmt::format("a prefix of a class a router may forward, not {}",
                                                           net::to_string(c))
                                              : std::string();
        if (!why.empty()) {
            r.ctx().error(p.at, p.key, fmt::format("expected {}, got {}", why, quote(p.text)));
            continue;
        }
        out.push_back(prefix);
    }
}

side_result read_side(table_reader& r, port_settings& port, gateway::side_settings& side,
                      std::vector<gateway::interface_prefix>* allow_special = nullptr) {
    side_result result;
    result.device_ok = r.get_string("device", port.device, device_rule, true);
    get_mac(r, "mac", port.mac);
    get_mac(r, "next_hop_mac", side.next_hop_mac, false);
    get_address_list(r, "addresses", result.addresses, families::with_prefix, 1, 16, true);
    side.addresses.clear();
    side.on_link.clear();
    for (const auto& a : result.addresses) {
        side.addresses.push_back(a.address);
        side.on_link.push_back({a.address, static_cast<uint8_t>(a.prefix_length)});
    }
    std::vector<located_address> hops;
    if (get_address_list(r, "next_hop", hops, families::any, 1, 2, false)) check_next_hops(r, hops, side);
    r.get_uint("vlan", side.vlan, 1, 4094);
    read_neighbors(r, side);
    r.get_uint("rx_descriptors", port.rx_descriptors, 1, 32768);
    r.get_uint("tx_descriptors", port.tx_descriptors, 1, 32768);
    r.get_uint("mtu", side.mtu, 1280, 9000);
    read_exception(r, port, side);
    if (allow_special != nullptr) read_allow_special(r, *allow_special);
    r.finish();
    side.mac = port.mac.value_or(net::mac_address{});
    return result;
}

bool extra_args_start_with(const std::vector<std::string>& args, std::initializer_list<std::string_view> prefixes) {
    return std::any_of(args.begin(), args.end(), [&](const std::string& arg) {
        return std::any_of(prefixes.begin(), prefixes.end(),
                           [&](std::string_view p) { return std::string_view(arg).substr(0, p.size()) == p; });
    });
}

// A port's device must be something the EAL will create: a net_* name needs a
// matching eal.vdevs entry; a PCI address must be in eal.allow_pci (the dataplane
// passes --no-pci when that list is empty). Skipped when extra_args add devices
// of their own.
void check_device(context& ctx, const toml::node* device_node, std::string_view side, const eal_settings& eal) {
    if (device_node == nullptr) return;
    const std::string& device = device_node->as_string()->get();
    if (is_full_pci_address(device)) {
        if (extra_args_start_with(eal.extra_args, {"-a", "--allow", "-w", "--pci-whitelist"})) return;
        const std::string canonical = lower(device);
        if (std::none_of(eal.allow_pci.begin(), eal.allow_pci.end(),
                         [&](const std::string& a) { return canonical_pci(a) == canonical; })) {
            ctx.error(device_node->source().begin, fmt::format("{}.device", side),
                      fmt::format("expected a PCI address listed in eal.allow_pci, got {}", quote(device)));
        }
        return;
    }
    if (device.rfind("net_", 0) != 0 || extra_args_start_with(eal.extra_args, {"--vdev"})) return;
    if (std::any_of(eal.vdevs.begin(), eal.vdevs.end(), [&](const std::string& v) { return vdev_name(v) == device; })) {
        return;
    }
    std::string names;
    for (const auto& v : eal.vdevs) names += fmt::format("{}{}", names.empty() ? "" : ", ", vdev_name(v));
    ctx.error(device_node->source().begin, fmt::format("{}.device", side),
              fmt::format("expected the name of a device in eal.vdevs ({}), got {}",
                          names.empty() ? std::string("eal.vdevs is empty") : names, quote(device)));
}

// Reads the config tables of one document, in file-format order: each table
// by its own function, then the checks across tables. What the cross-field
// checks need from the tables (which values were valid, where they were) is
// kept in the members.
class config_document {
public:
    config_document(const toml::table& document_root, context& errors)
        : ctx(errors), root(errors, "", &document_root) {}

    egressd_config read() {
        cfg.source_path = ctx.file;
        // Top level: only the known tables (reported first), each of them a table.
        for (const auto& spec : top_level_tables) root.find(spec.name, false);
        root.finish();
        read_eal();
        read_sides();
        read_nat();
        read_flows();
        read_run();
        read_export();
        read_services();
        read_packet_path();
        read_neighbor_settings();
        reading::read_dns_settings(ctx, table("dns"), cfg.gateway.dns);
        read_events();
        read_limits();
        read_health();
        check_nat_ports();
        check_across_tables();
        return std::move(cfg);
    }

private:
    const toml::table* table(std::string_view name) {
        const auto spec = std::find_if(std::begin(top_level_tables), std::end(top_level_tables),
                                       [&](const table_spec& s) { return s.name == name; });
        return root.get_table(name, spec->required);
    }

    // [eal]
    void read_eal() {
        table_reader eal(ctx, "eal", table("eal"));
        eal.get_string("lcores", cfg.eal.lcores, core_list_rule);
        bool no_huge = false;
        if (eal.table() != nullptr && eal.table()->contains("no_huge") && eal.get_bool("no_huge", no_huge))
            cfg.eal.hugepages = no_huge ? hugepages_mode::off : hugepages_mode::on;
        static constexpr std::pair<std::string_view, hugepages_mode> hugepages_choices[] = {
            {"auto", hugepages_mode::automatic}, {"on", hugepages_mode::on}, {"off", hugepages_mode::off}};
        eal.get_enum("hugepages", cfg.eal.hugepages, hugepages_choices);
        eal.get_uint("memory_mb", cfg.eal.memory_mb, 16, 1048576);
        const bool vdevs_ok = eal.get_string_list("vdevs", cfg.eal.vdevs, vdev_rule);
        const bool allow_ok = eal.get_string_list("allow_pci", cfg.eal.allow_pci, pci_rule);
        eal.get_string("file_prefix", cfg.eal.file_prefix, file_prefix_rule);
        eal.get_bool("in_memory", cfg.eal.in_memory);
        eal.get_string("log_level", cfg.eal.log_level, log_level_rule);
        const bool extra_ok = eal.get_string_list("extra_args", cfg.eal.extra_args, any_string);
        eal.finish();
        if (cfg.eal.file_prefix.empty()) cfg.eal.in_memory = true;
        eal_devices_ok = vdevs_ok && allow_ok && extra_ok;
    }

    // [inside], [outside]
    void read_sides() {
        inside_table = table("inside");
        table_reader inside(ctx, "inside", inside_table);
        in = read_side(inside, cfg.inside_port, cfg.gateway.inside);
        outside_table = table("outside");
        table_reader outside(ctx, "outside", outside_table);
        out = read_side(outside, cfg.outside_port, cfg.gateway.outside, &cfg.gateway.allow_special);
    }

    // [nat]
    void read_nat() {
        nat_table = table("nat");
        table_reader nat(ctx, "nat", nat_table);
        // An empty pool is an IPv6-only gateway: IPv4 flows are refused (nat_no_ipv4_pool).
        get_address_list(nat, "pool", pool, families::v4_only, 0, 64, true);
        port_min_ok = nat.get_uint("port_min", cfg.gateway.pool.port_min, 1, 65535);
        port_max_ok = nat.get_uint("port_max", cfg.gateway.pool.port_max, 1, 65535);
        nat.get_enum("mapping", cfg.gateway.pool.mapping, mappings);
        nat.get_bool("hairpin", cfg.gateway.pool.hairpin);
        nat.finish();
        for (const auto& a : pool) cfg.gateway.pool.addresses.push_back(a.address);
    }

    // [flows], [timeouts]
    void read_flows() {
        table_reader flows(ctx, "flows", table("flows"));
        flows.get_uint("max_flows", cfg.gateway.max_flows, 1, 100'000'000);
        flows.finish();

        table_reader timeouts(ctx, "timeouts", table("timeouts"));
        flow::timeouts& t = cfg.gateway.timeouts;
        timeouts.get_seconds("tcp_syn_sent", t.tcp_syn_sent_ms);
        timeouts.get_seconds("tcp_syn_received", t.tcp_syn_received_ms);
        timeouts.get_seconds("tcp_established", t.tcp_established_ms);
        timeouts.get_seconds("tcp_closing", t.tcp_closing_ms);
        timeouts.get_seconds("tcp_time_wait", t.tcp_time_wait_ms);
        timeouts.get_seconds("tcp_closed", t.tcp_closed_ms);
        timeouts.get_seconds("udp", t.udp_ms);
        timeouts.get_seconds("icmp", t.icmp_ms);
        bool allow_below_rfc = false;
        timeouts.get_bool("allow_below_rfc", allow_below_rfc);
        timeouts.finish();
        if (!allow_below_rfc) refuse_below_rfc(timeouts.table());
    }

    // A timeout below a MUST of the NAT behaviour RFCs breaks what peers rely
    // on (a mapping gone while the application still uses it), so it takes an
    // explicit allow_below_rfc = true (labs, tests). SHOULDs are not refused.
    void refuse_below_rfc(const toml::table* timeouts_table) {
        if (timeouts_table == nullptr) return;
        const flow::rfc_report report = flow::below_rfc(cfg.gateway.timeouts);
        for (std::size_t i = 0; i < report.n; ++i) {
            const flow::rfc_shortfall& f = report.items[i];
            const toml::node* n = timeouts_table->get(f.key);
            if (!f.must || n == nullptr) continue;
            ctx.error(n->source().begin, fmt::format("timeouts.{}", f.key),
                      fmt::format("expected at least {} ({} MUST), or timeouts.allow_below_rfc = true, got {}",
                                  f.minimum_ms / 1000, f.requirement, f.value_ms / 1000));
        }
    }

    // [run]
    void read_run() {
        run_table = table("run");
        table_reader run(ctx, "run", run_table);
        run.get_bool("stop_when_drained", cfg.run.stop_when_drained);
        run.get_uint("drain_idle_ms", cfg.run.drain_idle_ms, 1, 600'000);
        run.get_bool("replay_in_timestamp_order", cfg.run.replay_in_timestamp_order);
        run.get_uint("burst_size", cfg.run.burst_size, 1, 512);
        run.get_uint("mbufs", cfg.run.mbufs, 1023, 16'777'215);
        run.get_bool("accept_any_dst_mac", cfg.gateway.accept_any_dst_mac);
        workers_ok = run.get_uint("workers", cfg.run.workers, 1, 64);
        run.get_enum("steering", cfg.run.rss, steerings);
        std::string rss_key;
        if (run.get_string("rss_key", rss_key, rss_key_rule) && !rss_key.empty())
            for (std::size_t i = 0; i + 1 < rss_key.size(); i += 2)
                cfg.run.rss_key.push_back(static_cast<uint8_t>(std::stoul(rss_key.substr(i, 2), nullptr, 16)));
        const bool ring_ok = run.get_uint("handoff_ring_size", cfg.run.handoff_ring_size, 64, 65536);
        if (ring_ok && (cfg.run.handoff_ring_size & (cfg.run.handoff_ring_size - 1)) != 0)
            ctx.error(run_table->get("handoff_ring_size")->source().begin, "run.handoff_ring_size",
                      fmt::format("expected a power of two from 64 to 65536, got {}", cfg.run.handoff_ring_size));
        run.get_enum("idle", cfg.run.idle, idle_modes);
        run.get_uint("idle_max_sleep_us", cfg.run.idle_max_sleep_us, 1, 100'000);
        run.finish();
    }

    // [export]
    void read_export() {
        table_reader exp(ctx, "export", table("export"));
        std::vector<std::string> collectors;
        exp.get_string_list("collectors", collectors, collector_rule);
        for (const auto& c : collectors)
            if (auto e = net::endpoint::parse(c)) cfg.flow_export.collectors.push_back(*e);
        exp.get_uint("observation_domain_id", cfg.flow_export.observation_domain_id, 0, 4'294'967'295ull);
        uint32_t active_timeout_s = cfg.gateway.flow_export.active_timeout_ms / 1000;
        exp.get_uint("active_timeout", active_timeout_s, 1, 86'400);
        cfg.gateway.flow_export.active_timeout_ms = active_timeout_s * 1000;
        exp.get_uint("template_refresh", cfg.flow_export.template_refresh_s, 1, 86'400);
        exp.get_uint("max_message_bytes", cfg.flow_export.max_message_bytes, 512, 65'000);
        exp.get_uint("enterprise_number", cfg.flow_export.enterprise_number, 1, 4'294'967'295ull);
        exp.get_string("json_log", cfg.flow_export.json_log, any_string);
        exp.get_uint("ring_size", cfg.flow_export.ring_size, 64, 16'777'216);
        exp.get_uint("denied_flush_ms", cfg.gateway.flow_export.denied_flush_ms, 10, 60'000);
        exp.get_bool("nat_session_events", cfg.gateway.flow_export.nat_session_events);
        exp.finish();
        cfg.gateway.flow_export.enabled = cfg.flow_export.enabled();
    }

    // [metrics], [control]
    void read_services() {
        table_reader metrics(ctx, "metrics", table("metrics"));
        std::string listen;
        metrics.get_string("listen", listen, listen_rule);
        metrics.finish();
        if (!listen.empty()) cfg.metrics.listen = listen_endpoint(listen);

        table_reader control(ctx, "control", table("control"));
        control.get_string("socket", cfg.control.socket, socket_rule);
        control.finish();
    }

    // [inspect], [icmp], [tcp], [fragments]
    void read_packet_path() {
        table_reader inspect(ctx, "inspect", table("inspect"));
        inspect.get_uint("slots", cfg.gateway.inspect.slots, 0, 16'777'216);
        inspect.get_uint("buffers", cfg.gateway.inspect.buffers, 1, 1'048'576);
        inspect.get_uint("max_bytes", cfg.gateway.inspect.max_bytes, 1024, 65536);
        inspect.get_enum("on_exhaustion", cfg.gateway.inspect.fail_closed, exhaustion);
        inspect.get_uint("hold_timeout_ms", cfg.gateway.inspect.hold_timeout_ms, 100, 600'000);
        inspect.get_enum("unverified_overlap", cfg.gateway.inspect.unverified_overlap_passes, unverified_overlap);
        inspect.finish();

        table_reader icmp(ctx, "icmp", table("icmp"));
        icmp.get_uint("errors_per_second", cfg.gateway.icmp.errors_per_second, 0, 1'000'000);
        icmp.get_uint("burst", cfg.gateway.icmp.burst, 1, 1'000'000);
        icmp.get_bool("prohibited", cfg.gateway.icmp.prohibited);
        icmp.finish();

        const toml::table* tcp_table = table("tcp");
        table_reader tcp(ctx, "tcp", tcp_table);
        if (tcp.get_uint("mss_clamp", cfg.gateway.mss_clamp, 0, 8960) && cfg.gateway.mss_clamp != 0 &&
            cfg.gateway.mss_clamp < 536) {
            ctx.error(tcp_table->get("mss_clamp")->source().begin, "tcp.mss_clamp",
                      fmt::format("expected 0 (off) or an integer in 536..8960, got {}", cfg.gateway.mss_clamp));
        }
        tcp.get_bool("liberal", cfg.gateway.tcp.liberal);
        tcp.get_bool("pickup", cfg.gateway.tcp.pickup);
        tcp.finish();

        table_reader fragments(ctx, "fragments", table("fragments"));
        gateway::fragment_settings& fr = cfg.gateway.fragments;
        fragments.get_uint("max_datagrams", fr.max_datagrams, 0, 16'777'216);
        fragments.get_uint("timeout_ms", fr.timeout_ms, 10, 60'000);
        fragments.get_uint("max_fragments_per_datagram", fr.max_fragments_per_datagram, 2, 1024);
        fragments.get_uint("max_held_bytes", fr.max_held_bytes, 0, 17'179'869'184ull);
        fragments.finish();
    }

    // [neighbors]
    void read_neighbor_settings() {
        table_reader neighbors(ctx, "neighbors", table("neighbors"));
        gateway::neighbor_settings& nb = cfg.gateway.neighbors;
        neighbors.get_uint("max_entries", nb.max_entries, 1, 1'048'576);
        neighbors.get_seconds("reachable_s", nb.reachable_ms);
        neighbors.get_seconds("stale_s", nb.stale_ms);
        neighbors.get_uint("retries", nb.retries, 1, 10);
        neighbors.get_uint("retry_ms", nb.retry_ms, 10, 60'000);
        neighbors.get_uint("queue_per_entry", nb.queue_per_entry, 0, 64);
        neighbors.get_uint("queue_total", nb.queue_total, 0, 65'536);
        neighbors.get_uint("echo_replies_per_s", cfg.gateway.echo_replies_per_s, 0, 1'000'000);
        neighbors.finish();
    }

    // [health]
    void read_health() {
        table_reader health(ctx, "health", table("health"));
        health.get_string("file", cfg.health.file, any_string);
        health.get_uint("stall_ms", cfg.health.stall_ms, 10, 600'000);
        health.finish();
    }

    // [events]
    void read_events() {
        table_reader events(ctx, "events", table("events"));
        events.get_string("log", cfg.events.log, any_string);
        events.get_uint("ring_size", cfg.events.ring_size, 64, 16'777'216);
        events.finish();
    }

    // [limits]: per inside source (flow::source_limits); 0 turns a limit off.
    void read_limits() {
        table_reader limits(ctx, "limits", table("limits"));
        flow::source_limit_settings& l = cfg.gateway.limits;
        limits.get_uint("max_flows_per_source", l.max_flows, 0, 16'777'216);
        limits.get_uint("new_flows_per_second", l.new_flows_per_s, 0, 1'000'000);
        limits.get_uint("new_flow_burst", l.new_flow_burst, 0, 1'000'000);
        limits.get_uint("max_flows_per_destination", l.max_per_destination, 0, 65'536);
        limits.get_uint("ipv6_prefix", l.v6_prefix, 1, 128);
        limits.get_uint("max_sources", l.max_sources, 1, 16'777'216);
        limits.get_uint("report_interval_ms", l.report_interval_ms, 100, 3'600'000);
        limits.finish();
    }

    // Cross-field checks, only between values that were themselves valid.
    void check_nat_ports() {
        const gateway::nat_pool_settings& p = cfg.gateway.pool;
        if (nat_table != nullptr && port_min_ok && port_max_ok && p.port_min > p.port_max) {
            if (const toml::node* n = nat_table->get("port_min")) {
                ctx.error(n->source().begin, "nat.port_min",
                          fmt::format("expected a port <= nat.port_max ({}), got {}", p.port_max, p.port_min));
            } else {
                ctx.error(nat_table->get("port_max")->source().begin, "nat.port_max",
                          fmt::format("expected a port >= nat.port_min ({}), got {}", p.port_min, p.port_max));
            }
        }
        // Each worker gets its own slice of the NAT port range and of the flow table.
        if (workers_ok && cfg.run.workers > 1 && port_min_ok && port_max_ok && p.port_min <= p.port_max) {
            const uint32_t ports = uint32_t{p.port_max} - p.port_min + 1;
            if (ports < cfg.run.workers * 64u)
                ctx.error(run_table->get("workers")->source().begin, "run.workers",
                          fmt::format("expected at most {} (64 NAT ports per worker: nat.port_min..port_max has {}), got {}",
                                      ports / 64, ports, cfg.run.workers));
        }
    }

    void check_across_tables() {
        for (const auto& a : pool) {
            const auto clash = std::find_if(in.addresses.begin(), in.addresses.end(),
                                            [&](const located_address& i) { return i.address == a.address; });
            if (clash != in.addresses.end()) {
                ctx.error(a.at, a.key,
                          fmt::format("expected an address that is not one of inside.addresses, got {} (also {})",
                                      quote(a.text), clash->key));
            }
        }
        if (in.device_ok && out.device_ok && cfg.inside_port.device == cfg.outside_port.device) {
            ctx.error(outside_table->get("device")->source().begin, "outside.device",
                      fmt::format("expected a device other than inside.device, got {}", quote(cfg.outside_port.device)));
        }
        if (eal_devices_ok) {
            if (in.device_ok && inside_table != nullptr) check_device(ctx, inside_table->get("device"), "inside", cfg.eal);
            if (out.device_ok && outside_table != nullptr) {
                check_device(ctx, outside_table->get("device"), "outside", cfg.eal);
            }
        }
        check_exception_interfaces(ctx, outside_table, cfg);
    }

    context& ctx;
    table_reader root;
    egressd_config cfg;
    bool eal_devices_ok = false;
    const toml::table* inside_table = nullptr;
    const toml::table* outside_table = nullptr;
    side_result in;
    side_result out;
    const toml::table* nat_table = nullptr;
    std::vector<located_address> pool;
    bool port_min_ok = false;
    bool port_max_ok = false;
    const toml::table* run_table = nullptr;
    bool workers_ok = false;
};

} // namespace

egressd_config read_config(const toml::table& root, context& ctx) { return config_document(root, ctx).read(); }

load_result load_config(const toml_text::document& doc) {
    if (!doc.parsed()) return load_result{std::nullopt, doc.errors};
    context ctx{doc.file, {}};
    egressd_config cfg = read_config(doc.root, ctx);
    if (!ctx.errors.empty()) {
        toml_text::sort_by_position(ctx.errors);
        return load_result{std::nullopt, std::move(ctx.errors)};
    }
    return load_result{std::move(cfg), {}};
}

load_result load_config_string(std::string_view text, std::string_view source_name) {
    return load_config(toml_text::parse_document(text, source_name));
}

load_result load_config_file(const std::string& path) { return load_config(toml_text::read_document(path)); }

} // namespace egress::config
