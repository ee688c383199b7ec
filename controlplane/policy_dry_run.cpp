#include "policy_dry_run.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include "flow/flow_record.hpp"

namespace egress::controlplane {

policy_diff diff_policies(const policy::compiled_policy* before, const policy::compiled_policy* after) {
    policy_diff d;
    d.present_before = before != nullptr;
    d.present_after = after != nullptr;
    const auto old_rules = before ? before->rules() : std::span<const policy::rule_info>{};
    const auto new_rules = after ? after->rules() : std::span<const policy::rule_info>{};
    std::map<std::string_view, std::size_t> old_index;
    for (std::size_t i = 0; i < old_rules.size(); ++i) old_index.emplace(old_rules[i].name, i);
    std::map<std::string_view, std::size_t> new_index;
    for (std::size_t i = 0; i < new_rules.size(); ++i) new_index.emplace(new_rules[i].name, i);
    std::vector<std::size_t> kept_old_positions; // old index of each kept rule, in new order
    for (const auto& r : new_rules) {
        const auto o = old_index.find(r.name);
        if (o == old_index.end()) {
            d.added.emplace_back(r.name, r.line);
            continue;
        }
        kept_old_positions.push_back(o->second);
        if (old_rules[o->second].definition != r.definition)
            d.changed.push_back({r.name, r.line, old_rules[o->second].definition, r.definition});
        else
            ++d.unchanged;
    }
    for (const auto& r : old_rules)
        if (!new_index.count(r.name)) d.removed.push_back(r.name);
    d.order_changed = !std::is_sorted(kept_old_positions.begin(), kept_old_positions.end());
    const policy::verdict was = before ? before->default_action() : policy::verdict::allow;
    const policy::verdict will = after ? after->default_action() : policy::verdict::allow;
    if (was != will) d.default_changed = std::pair{was, will};
    return d;
}

policy::query query_of(const gateway::flow_summary& f, unsigned worker) {
    policy::query q{f.inside, f.remote, f.proto, f.remote_port, policy::host_state::unknown, {}, worker};
    namespace ff = flow::flow_flags;
    if ((f.flags & (ff::awaits_hostname | ff::inspection_slot)) == ff::inspection_slot) {
        q.hostname = f.host();
        q.host = q.hostname.empty() ? policy::host_state::absent : policy::host_state::known;
    } else if ((f.flags & ff::awaits_hostname) == 0) {
        q.host = policy::host_state::absent; // admitted without inspection: no name will come
    }
    return q;
}

cut_estimate estimate_cuts(const policy::active_policy& next, const std::vector<gateway::flow_summary>& flows,
                           uint64_t live) {
    cut_estimate c;
    c.live = live;
    c.examined = flows.size();
    const unsigned worker = next.compiled ? next.compiled->control_worker() : 0;
    std::map<std::string, uint64_t> by_remote;
    for (const auto& f : flows) {
        if (f.flags & flow::flow_flags::cut) continue; // already over
        if (next.evaluate(query_of(f, worker)).action != policy::verdict::deny) continue;
        ++c.would_cut;
        ++by_remote[f.remote.to_string()];
    }
    c.top_destinations.assign(by_remote.begin(), by_remote.end());
    std::stable_sort(c.top_destinations.begin(), c.top_destinations.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    if (c.top_destinations.size() > 5) c.top_destinations.resize(5);
    return c;
}

namespace {

// One request line to the control socket, one response line back (10 s at most,
// as egressctl). Empty on failure, with why set.
std::string ask(const std::string& socket_path, const std::string& request, std::string& why) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path) {
        why = "socket path too long";
        return {};
    }
    std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        why = fmt::format("cannot connect to {}: {}", socket_path, std::strerror(errno));
        if (fd >= 0) ::close(fd);
        return {};
    }
    const std::string line = request + "\n";
    std::string in;
    bool sent = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
    for (int waited_ms = 0; sent && in.find('\n') == std::string::npos && waited_ms < 10'000; waited_ms += 100) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        char buf[65536];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (in.find('\n') == std::string::npos) {
        why = fmt::format("no response from {}", socket_path);
        return {};
    }
    return in.substr(0, in.find('\n'));
}

} // namespace

int dry_run_against(const std::string& file, const std::string& socket_path) {
    std::error_code ec;
    const std::string absolute = std::filesystem::absolute(file, ec).string();
    const json request{{"cmd", "reload"}, {"dry_run", true}, {"file", ec ? file : absolute}};
    std::string why;
    const std::string line = ask(socket_path, request.dump(), why);
    if (line.empty()) {
        fmt::print(stderr, "egressd: {}\n", why);
        return 3;
    }
    const json r = json::parse(line, nullptr, false);
    if (!r.is_object() || r.value("ok", false) != true) {
        fmt::print(stderr, "egressd: {}\n", r.is_object() ? r.value("error", std::string("refused")) : "bad response");
        if (r.is_object() && r.contains("errors"))
            for (const auto& e : r["errors"]) fmt::print(stderr, "{}\n", e.get<std::string>());
        return 1;
    }
    fmt::print("reload of {} against the running policy (version {}):\n", file, r.value("version", 0u) - 1);
    for (const auto& l : r["lines"]) fmt::print("{}\n", l.get<std::string>());
    return 0;
}

json diff_json(const policy_diff& d, std::vector<std::string>& lines) {
    json added = json::array();
    for (const auto& [name, line] : d.added) {
        added.push_back({{"name", name}, {"line", line}});
        lines.push_back(fmt::format("added: \"{}\" (line {})", name, line));
    }
    for (const auto& name : d.removed) lines.push_back(fmt::format("removed: \"{}\"", name));
    json changed = json::array();
    for (const auto& c : d.changed) {
        changed.push_back({{"name", c.name}, {"line", c.line}, {"before", c.before}, {"after", c.after}});
        lines.push_back(fmt::format("changed: \"{}\" (line {})", c.name, c.line));
        lines.push_back(fmt::format("  was: {}", c.before));
        lines.push_back(fmt::format("  now: {}", c.after));
    }
    if (d.order_changed) lines.push_back("order: rules kept from the running policy are in another order");
    if (d.default_changed)
        lines.push_back(fmt::format("default: {} -> {}", policy::to_string(d.default_changed->first),
                                    policy::to_string(d.default_changed->second)));
    if (!d.present_after && d.present_before) lines.push_back("no [policy] any more: every flow will be allowed");
    lines.push_back(fmt::format("rules: {} added, {} removed, {} changed, {} unchanged", d.added.size(), d.removed.size(),
                                d.changed.size(), d.unchanged));
    json j;
    j["added"] = std::move(added);
    j["removed"] = d.removed;
    j["changed"] = std::move(changed);
    j["order_changed"] = d.order_changed;
    j["default"] = d.default_changed ? json{{"before", policy::to_string(d.default_changed->first)},
                                            {"after", policy::to_string(d.default_changed->second)}}
                                     : json();
    j["unchanged"] = d.unchanged;
    return j;
}

json cuts_json(const cut_estimate& c, std::vector<std::string>& lines) {
    json top = json::array();
    for (const auto& [remote, n] : c.top_destinations) top.push_back({{"remote", remote}, {"flows", n}});
    lines.push_back(c.complete() ? fmt::format("live flows it would cut: {} of {}", c.would_cut, c.live)
                                 : fmt::format("live flows it would cut: {} of the {} largest (of {} live)", c.would_cut,
                                               c.examined, c.live));
    for (const auto& [remote, n] : c.top_destinations) lines.push_back(fmt::format("  {} {}", remote, n));
    json j;
    j["live"] = c.live;
    j["examined"] = c.examined;
    j["would_cut"] = c.would_cut;
    j["complete"] = c.complete();
    j["top_destinations"] = std::move(top);
    return j;
}

} // namespace egress::controlplane
