#include "policy_explain.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "policy_loader.hpp"

namespace egress::controlplane {

namespace {

net::ip_address address_arg(const request_args& args, std::string_view key) {
    const auto text = args.get_string(key);
    const auto a = text ? net::ip_address::parse(*text) : std::nullopt;
    if (!a) args.fail(key, "an IPv4 or IPv6 address");
    return *a;
}

uint8_t proto_arg(const request_args& args) {
    const auto text = args.get_string("proto").value_or("tcp");
    if (text == "tcp") return 6;
    if (text == "udp") return 17;
    if (text == "icmp") return 1;
    if (text == "icmpv6") return 58;
    unsigned n = 0;
    if (!text.empty() && text.size() <= 3 && text.find_first_not_of("0123456789") == std::string::npos &&
        (n = static_cast<unsigned>(std::stoul(text))) <= 255)
        return static_cast<uint8_t>(n);
    args.fail("proto", "tcp, udp, icmp, icmpv6 or a protocol number");
}

std::string_view proto_text(uint8_t p) {
    switch (p) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "icmpv6";
    default: return "";
    }
}

// The decision in words.
std::string verdict_line(const policy::active_policy& p, const policy::explanation& x, std::string_view source) {
    const std::string action(policy::to_string(x.result.action));
    switch (x.by) {
    case policy::decided_by::emergency_block:
        return fmt::format("decision: deny by emergency block {}", p.blocks->entries()[x.result.block].prefix);
    case policy::decided_by::default_action: return fmt::format("decision: {} by the default action", action);
    case policy::decided_by::inspection:
        return fmt::format("decision: {} by [policy.inspection] {}: the flow sends no name", action,
                           x.inspection == policy::inspection_kind::http ? "http_no_host" : "no_sni");
    case policy::decided_by::name_needed:
        return fmt::format("decision: waits for the name ({}): rule \"{}\" has hostnames; give --sni or --host",
                           x.inspection == policy::inspection_kind::http ? "HTTP Host" : "TLS SNI",
                           p.compiled->rules()[x.steps.back().stopped_at].name);
    case policy::decided_by::rule: break;
    }
    const auto& r = p.compiled->rules()[x.result.rule];
    if (x.result.quic)
        return fmt::format("decision: deny by rule \"{}\" ({}:{}): QUIC to a hostname rule (inspection.quic = deny)",
                           r.name, source, r.line);
    // verify = "observed" / "resolve": the allow also needs the destination among DNS's answers for the name.
    const std::string_view verify = x.result.verify == policy::verify_check::none ? ""
                                    : x.result.resolve
                                        ? "; only to an address egressd's resolvers give the name (verify = resolve)"
                                        : "; only to an address DNS gave the name (verify = observed)";
    if (r.mode == policy::rule_mode::report)
        return fmt::format("decision: allow by rule \"{}\" ({}:{}), report mode{}{}", r.name, source, r.line,
                           x.result.would_deny ? ": would deny" : "", verify);
    return fmt::format("decision: {} by rule \"{}\" ({}:{}){}", action, r.name, source, r.line, verify);
}

json rules_json(const policy::active_policy& p, const policy::explain_step& s, std::string_view source,
                std::vector<std::string>& lines) {
    json rules = json::array();
    if (!p.compiled) return rules;
    const auto infos = p.compiled->rules();
    for (uint32_t i = 0; i < infos.size(); ++i) {
        const bool stopped = i == s.stopped_at;
        const std::string why = stopped ? (s.result.pending ? "hostname rule; waits for the name" : "matched")
                                        : std::string(policy::to_string(s.skipped[i]));
        json r;
        r["name"] = infos[i].name;
        r["line"] = infos[i].line;
        r["action"] = policy::to_string(infos[i].action);
        r["mode"] = policy::to_string(infos[i].mode);
        r["result"] = stopped ? "matched" : s.skipped[i] == policy::rule_skip::not_reached ? "not_reached" : "no_match";
        r["why"] = why;
        rules.push_back(std::move(r));
        lines.push_back(fmt::format("  {} \"{}\" {}:{} ({} {}): {}", i + 1, infos[i].name, source, infos[i].line,
                                    policy::to_string(infos[i].mode), policy::to_string(infos[i].action), why));
    }
    return rules;
}

} // namespace

policy::explain_query explain_query_of(const request_args& args) {
    policy::explain_query q;
    q.src = address_arg(args, "src");
    q.dst = address_arg(args, "dst");
    q.proto = proto_arg(args);
    if (q.src.is_v4() != q.dst.is_v4()) throw request_error(fmt::format("{}: src and dst: one address family", args.cmd()));
    if (q.proto == 6 || q.proto == 17) {
        q.dst_port = static_cast<uint16_t>(args.get_uint("port", 1, 65535, 0));
        if (q.dst_port == 0) args.fail("port", "an integer from 1 to 65535");
    }
    const auto sni = args.get_string("sni");
    const auto host = args.get_string("host");
    if (sni && host) throw request_error(fmt::format("{}: give sni or host, not both", args.cmd()));
    if (sni) q.name = *sni;
    if (host) q.name = *host;
    return q;
}

json explanation_json(const policy::active_policy& p, const policy::explain_query& q, std::string_view source) {
    const policy::explanation x = policy::explain(p, q);
    std::vector<std::string> lines;
    const std::string_view proto = proto_text(q.proto);
    lines.push_back(fmt::format("{} -> {} {}{}{}{}", q.src, q.dst, proto.empty() ? fmt::format("proto {}", q.proto) : std::string(proto),
                                q.dst_port != 0 ? fmt::format("/{}", q.dst_port) : "",
                                q.name ? fmt::format(" name \"{}\"", *q.name) : "",
                                fmt::format(" (policy version {})", p.version)));
    lines.push_back(verdict_line(p, x, source));
    if (x.inspection != policy::inspection_kind::none)
        lines.push_back(fmt::format("name read on this port: {}", policy::to_string(x.inspection)));
    json j;
    j["policy_version"] = p.version;
    j["source"] = source;
    j["action"] = policy::to_string(x.result.action);
    j["would_deny"] = x.result.would_deny;
    if (x.result.verify != policy::verify_check::none) j["verify"] = x.result.resolve ? "resolve" : "observed";
    j["decided_by"] = policy::to_string(x.by);
    j["inspection"] = policy::to_string(x.inspection);
    j["rule"] = x.by == policy::decided_by::rule ? json(p.compiled->rules()[x.result.rule].name) : json();
    j["line"] = x.by == policy::decided_by::rule ? json(p.compiled->rules()[x.result.rule].line) : json();
    j["block"] = x.by == policy::decided_by::emergency_block ? json(p.blocks->entries()[x.result.block].prefix.to_string()) : json();
    j["default_action"] = p.compiled ? policy::to_string(p.compiled->default_action()) : "allow";
    if (!p.compiled) lines.push_back("no [policy]: every flow is allowed");
    else lines.push_back(x.steps.size() == 2 ? "rules (evaluated with the name):" : "rules:");
    j["rules"] = rules_json(p, x.steps.back(), source, lines);
    j["lines"] = std::move(lines);
    return j;
}

namespace {

constexpr const char* explain_usage =
    "usage: egressd --explain FILE.toml --src ADDR --dst ADDR [--proto tcp|udp|icmp|N] [--port N]\n"
    "                [--sni NAME | --host NAME] [--json]\n";

// The command line as the control socket's request object (the same parsing).
bool request_of(int argc, char** argv, std::string& path, json& req, bool& as_json) {
    req["cmd"] = "explain";
    for (int i = 0; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--json") {
            as_json = true;
            continue;
        }
        if (!a.starts_with("--")) {
            if (!path.empty()) return false;
            path = a;
            continue;
        }
        const std::string key(a.substr(2));
        if (i + 1 >= argc || (key != "src" && key != "dst" && key != "proto" && key != "port" && key != "sni" &&
                               key != "host"))
            return false;
        const std::string value = argv[++i];
        if (key == "port") {
            if (value.empty() || value.size() > 5 || value.find_first_not_of("0123456789") != std::string::npos) {
                req[key] = value; // refused below with the socket's message
            } else {
                req[key] = std::stoul(value);
            }
        } else {
            req[key] = value;
        }
    }
    return !path.empty();
}

} // namespace

int explain_offline(int argc, char** argv) {
    std::string path;
    json req = json::object();
    bool as_json = false;
    if (!request_of(argc, argv, path, req, as_json)) {
        std::fputs(explain_usage, stderr);
        return 2;
    }
    policy::explain_query q;
    try {
        q = explain_query_of(request_args("explain", req));
    } catch (const request_error& e) {
        fmt::print(stderr, "egressd: {}\n{}", e.what(), explain_usage);
        return 2;
    }
    auto loaded = policy::load_policy_file(path, 1, 1);
    if (!loaded.errors.empty()) {
        for (const auto& e : loaded.errors) fmt::print(stderr, "{}\n", e.to_string());
        fmt::print(stderr, "egressd: configuration {} has {} error(s)\n", path, loaded.errors.size());
        return 1;
    }
    std::shared_ptr<const policy::compiled_policy> rules =
        loaded.present ? std::shared_ptr<const policy::compiled_policy>(std::move(loaded.policy)) : nullptr;
    const policy::active_policy p(rules, std::make_shared<policy::policy_counters>(rules ? rules->rules().size() : 0),
                                  nullptr, 1, 1);
    const json j = explanation_json(p, q, path);
    if (as_json) {
        fmt::print("{}\n", j.dump());
    } else {
        for (const auto& line : j["lines"]) fmt::print("{}\n", line.get<std::string>());
    }
    return 0;
}

} // namespace egress::controlplane
