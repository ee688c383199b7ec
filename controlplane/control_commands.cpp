#include "control_commands.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/fixed_text.hpp"
#include "flow/tcp_state.hpp"
#include "net/packet_view.hpp"
#include "policy_explain.hpp"

namespace egress::controlplane {

namespace {

std::string_view proto_name(uint8_t proto) {
    switch (proto) {
    case net::proto_tcp: return "tcp";
    case net::proto_udp: return "udp";
    case net::proto_icmp: return "icmp";
    case net::proto_icmpv6: return "icmpv6";
    default: return "other";
    }
}

policy::cidr cidr_arg(const request_args& args, std::string_view key) {
    const auto text = args.get_string(key);
    std::string why;
    const auto c = text ? policy::cidr::parse(*text, &why) : std::nullopt;
    if (!c) {
        if (!text) args.fail(key, "a CIDR like \"10.0.0.0/8\" or \"2001:db8::/32\"");
        throw request_error(fmt::format("{}: {}: {}", args.cmd(), key, why));
    }
    return *c;
}

std::optional<policy::cidr> optional_cidr(const request_args& args, std::string_view key) {
    if (!args.get_string(key)) return std::nullopt;
    return cidr_arg(args, key);
}

json nullable_ms(uint64_t ms) { return ms == 0 ? json() : json(ms); }

void run(const control_hooks& hooks, gateway::flow_query& q, std::string_view cmd) {
    if (!hooks.run_query || !hooks.run_query(q))
        throw request_error(fmt::format("{}: the packet worker is not running", cmd));
}

} // namespace

json flow_json(const gateway::flow_summary& f) {
    json j;
    j["proto"] = proto_name(f.proto);
    j["inside"] = f.inside.to_string();
    j["inside_port"] = f.inside_port;
    j["remote"] = f.remote.to_string();
    j["remote_port"] = f.remote_port;
    j["public"] = f.v4 ? json(net::ip_address::from_v4(f.public_addr).to_string()) : json();
    j["public_port"] = f.v4 ? json(f.public_port) : json();
    j["state"] = f.proto == net::proto_tcp ? flow::name_of(static_cast<flow::tcp_state>(f.tcp_state))
                                           : std::string_view("active");
    j["bytes_out"] = f.bytes_out;
    j["bytes_in"] = f.bytes_in;
    j["packets_out"] = f.packets_out;
    j["packets_in"] = f.packets_in;
    j["expires_in_ms"] = f.expires_in_ms;
    j["cut"] = (f.flags & flow::flow_flags::cut) != 0;
    j["hostname"] = f.hostname_length != 0 ? json(std::string(f.host())) : json();
    const std::string_view rule = base::field_text(f.rule);
    j["rule"] = rule.empty() ? json() : json(std::string(rule));
    return j;
}

json block_json(const block_info& b) {
    json j;
    j["cidr"] = b.prefix.to_string();
    j["created_unix_ms"] = b.created_unix_ms;
    j["expires_unix_ms"] = nullable_ms(b.expires_unix_ms);
    j["hits"] = b.hits;
    return j;
}

namespace {

json status_command(const control_hooks* h, const request_args&) {
    const run_report r = h->report();
    const policy_status p = h->policy->status();
    json j;
    j["version"] = h->version;
    j["pid"] = ::getpid();
    j["uptime_s"] = (h->now_ms() - h->start_unix_ms) / 1000;
    j["inside"] = r.inside_device;
    j["outside"] = r.outside_device;
    j["flows_active"] = r.flows_active;
    j["flow_capacity"] = r.flow_capacity;
    j["policy_version"] = p.version;
    j["blocks_active"] = p.blocks_active;
    j["reloads_ok"] = p.reloads_ok;
    j["reloads_failed"] = p.reloads_failed;
    return j;
}

json stats_command(const control_hooks* h, const request_args&) {
    json j;
    j["stats"] = json::parse(format_summary_json(h->report()));
    return j;
}

json flows_command(const control_hooks* h, const request_args& args) {
    const auto top = static_cast<uint32_t>(args.get_uint("top", 1, gateway::flow_query::max_top, 20));
    const auto src = optional_cidr(args, "src");
    const auto dst = optional_cidr(args, "dst");
    gateway::flow_query q = gateway::flow_query::top_flows(top, src, dst);
    run(*h, q, "flows");
    json flows = json::array();
    for (const auto& f : q.flows()) flows.push_back(flow_json(f));
    json j;
    j["flows"] = std::move(flows);
    j["matched"] = q.matched;
    j["scanned"] = q.scanned;
    return j;
}

json policy_command(const control_hooks* h, const request_args&) {
    const policy_status p = h->policy->status();
    json rules = json::array();
    for (const auto& r : p.rules) {
        json x;
        x["name"] = r.name;
        x["action"] = policy::to_string(r.action);
        x["mode"] = policy::to_string(r.mode);
        x["line"] = r.line;
        x["hits"] = r.hits;
        rules.push_back(std::move(x));
    }
    json j;
    j["version"] = p.version;
    j["loaded_unix_ms"] = p.loaded_unix_ms;
    j["source"] = p.source;
    j["default_action"] = policy::to_string(p.default_action);
    j["default_hits"] = p.default_hits;
    j["block_hits"] = p.block_hits;
    j["would_deny"] = h->report().counters.policy_would_deny;
    j["rules"] = std::move(rules);
    return j;
}

// The live flows the candidate would cut (null when no worker can answer).
json flows_cut_json(const control_hooks* h, const policy::active_policy& candidate, std::vector<std::string>& lines) {
    gateway::flow_query q = gateway::flow_query::top_flows(gateway::flow_query::max_top, std::nullopt, std::nullopt);
    if (!h->run_query || !h->run_query(q)) {
        lines.push_back("live flows: not known (the packet worker is not running)");
        return json();
    }
    return cuts_json(estimate_cuts(candidate, q.flows(), q.scanned), lines);
}

json reload_failed(const std::vector<std::string>& errors, uint64_t version) {
    // The caller wants every error, not only the summary sentence.
    json j;
    j["ok"] = false;
    j["error"] = fmt::format("policy reload failed ({} error(s)); keeping policy version {}", errors.size(), version);
    j["errors"] = errors;
    return j;
}

// reload, and reload with dry_run: the changes (and the live flows cut) are
// worked out before anything is applied; a dry run stops there. file (dry run
// only): another file to compare instead of the config file.
json reload_command(const control_hooks* h, const request_args& args) {
    const bool dry = args.get_bool("dry_run", false);
    const auto file = args.get_string("file");
    if (file && !dry) throw request_error("reload: file: only with dry_run");
    const dry_run_result d = h->policy->dry_run(file.value_or(""));
    if (!d.errors.empty() && dry) return reload_failed(d.errors, h->policy->version());
    std::vector<std::string> lines;
    json changes;
    json flows;
    if (d.errors.empty()) {
        changes = diff_json(d.diff, lines);
        flows = flows_cut_json(h, *d.candidate, lines);
    }
    json j;
    if (dry) {
        j["dry_run"] = true;
        j["version"] = d.version;
        j["rules"] = d.rules;
    } else {
        const reload_result r = h->policy->reload("egressctl", h->now_ms());
        if (!r.ok) return reload_failed(r.errors, r.version);
        j["version"] = r.version;
        j["rules"] = r.rules;
        j["duration_us"] = r.duration_us;
    }
    j["changes"] = std::move(changes);
    j["flows"] = std::move(flows);
    j["lines"] = std::move(lines);
    return j;
}

json explain_command(const control_hooks* h, const request_args& args) {
    const policy::explain_query q = explain_query_of(args);
    const policy::active_policy* p = h->policy->current();
    if (p == nullptr) throw request_error("explain: no policy published yet");
    return explanation_json(*p, q, h->policy->path());
}

json block_command(const control_hooks* h, const request_args& args) {
    const policy::cidr c = cidr_arg(args, "cidr");
    const uint64_t ttl = args.get_uint("ttl", 1, policy_control::max_ttl_s, 0);
    const auto outcome = h->policy->block(c, ttl, h->now_ms());
    if (!outcome.block) throw request_error(fmt::format("block: {}", outcome.error));
    json j;
    j["block"] = block_json(*outcome.block);
    return j;
}

json unblock_command(const control_hooks* h, const request_args& args) {
    const policy::cidr c = cidr_arg(args, "cidr");
    const auto removed = h->policy->unblock(c, h->now_ms());
    if (!removed) throw request_error(fmt::format("no block for {}", c.to_string()));
    json j;
    j["removed"] = block_json(*removed);
    return j;
}

json blocks_command(const control_hooks* h, const request_args&) {
    json list = json::array();
    for (const auto& b : h->policy->blocks()) list.push_back(block_json(b));
    json j;
    j["blocks"] = std::move(list);
    return j;
}

json nat_command(const control_hooks* h, const request_args& args) {
    const auto top = static_cast<uint32_t>(args.get_uint("top", 1, gateway::flow_query::max_top, 10));
    const run_report r = h->report();
    gateway::flow_query q = gateway::flow_query::nat_hosts(top);
    run(*h, q, "nat");
    json addresses = json::array();
    for (const auto& p : r.pool) {
        json a;
        a["address"] = p.address.to_string();
        a["mappings_active"] = p.mappings_active;
        a["mappings_created"] = p.mappings_created;
        a["exhausted"] = p.exhausted;
        addresses.push_back(std::move(a));
    }
    json hosts = json::array();
    for (const auto& x : q.hosts()) {
        json e;
        e["inside"] = x.inside.to_string();
        e["mappings"] = x.mappings;
        hosts.push_back(std::move(e));
    }
    json j;
    j["addresses"] = std::move(addresses);
    j["hosts"] = std::move(hosts);
    j["hosts_total"] = q.hosts_total;
    return j;
}

// [limits]: the inside hosts refused most, then those with most flows counted
// (summed over the workers); the event log names each refusal's limit.
json sources_command(const control_hooks* h, const request_args& args) {
    const auto top = static_cast<uint32_t>(args.get_uint("top", 1, gateway::flow_query::max_top, 10));
    gateway::flow_query q = gateway::flow_query::sources(top);
    run(*h, q, "sources");
    json sources = json::array();
    for (const auto& s : q.offenders()) {
        json e;
        e["source"] = s.source.to_string();
        e["flows"] = s.flows;
        e["refused"] = s.refused;
        sources.push_back(std::move(e));
    }
    json j;
    j["sources"] = std::move(sources);
    j["sources_total"] = q.hosts_total;
    return j;
}

} // namespace

void add_control_commands(control_server& server, const control_hooks& hooks) {
    const control_hooks* h = &hooks;
    server.add("status", {}, [h](const request_args& args) { return status_command(h, args); });
    server.add("stats", {}, [h](const request_args& args) { return stats_command(h, args); });
    server.add("flows", {"top", "src", "dst"}, [h](const request_args& args) { return flows_command(h, args); });
    server.add("policy", {}, [h](const request_args& args) { return policy_command(h, args); });
    server.add("reload", {"dry_run", "file"}, [h](const request_args& args) { return reload_command(h, args); });
    server.add("explain", {"src", "dst", "proto", "port", "sni", "host"},
               [h](const request_args& args) { return explain_command(h, args); });
    server.add("block", {"cidr", "ttl"}, [h](const request_args& args) { return block_command(h, args); });
    server.add("unblock", {"cidr"}, [h](const request_args& args) { return unblock_command(h, args); });
    server.add("blocks", {}, [h](const request_args& args) { return blocks_command(h, args); });
    server.add("nat", {"top"}, [h](const request_args& args) { return nat_command(h, args); });
    server.add("sources", {"top"}, [h](const request_args& args) { return sources_command(h, args); });
}

} // namespace egress::controlplane
