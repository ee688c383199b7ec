// [dns]: the table of observed DNS answers behind verify = "observed"
// (gateway/dns_observer.hpp), and egressd's own lookups behind verify =
// "resolve" (controlplane/dns_resolver.hpp). Bounds are per worker: every
// worker keeps the whole table (each records the answers all workers see).
#include <random>

#include "config_reader.hpp"

namespace egress::config::reading {

namespace {

constexpr std::pair<std::string_view, bool> failure_actions[] = {{"deny", false}, {"allow", true}};

// verify = "resolve": the resolvers egressd asks, and the lookups' bounds.
void read_resolve_settings(table_reader& dns, gateway::resolve_settings& r) {
    std::vector<located_address> resolvers;
    get_address_list(dns, "resolvers", resolvers, families::with_port, 0, 8, false);
    for (const located_address& a : resolvers) r.resolvers.push_back(net::endpoint{a.address, a.port});
    dns.get_uint("resolve_timeout_ms", r.timeout_ms, 10, 60'000);
    dns.get_enum("on_resolve_failure", r.allow_on_failure, failure_actions, false);
    dns.get_uint("resolve_pending", r.pending_per_worker, 1, 65'536);
    dns.get_uint("resolve_outstanding", r.max_outstanding, 1, 65'536);
    dns.get_uint("resolve_cache", r.cache_bindings, 1, 16'777'216);
}

} // namespace

void read_dns_settings(toml_text::context& ctx, const toml::table* table, gateway::dns_settings& out) {
    table_reader dns(ctx, "dns", table);
    dns::observed_limits& o = out.observed;
    dns.get_uint("grace_seconds", o.grace_seconds, 0, 3600);
    dns.get_uint("max_ttl_seconds", o.max_ttl_seconds, 1, 604'800);
    dns.get_uint("max_bindings", o.max_bindings, 1, 16'777'216);
    dns.get_uint("max_bindings_per_host", o.max_bindings_per_scope, 1, 16'777'216);
    dns.get_uint("max_hosts", o.max_scopes, 1, 1'048'576);
    dns.get_uint("max_cname_depth", o.max_cname_depth, 1, 16);
    for (auto [key, list] : {std::pair{"inside_resolvers", &out.inside_resolvers}, std::pair{"servers", &out.servers}}) {
        std::vector<located_address> read;
        get_address_list(dns, key, read, families::any, 0, 16, false);
        for (const located_address& a : read) list->push_back(a.address);
    }
    read_resolve_settings(dns, out.resolve);
    dns.finish();
    // The key of the names' hash: chosen here, at start-up, so that no client
    // can search for colliding names offline.
    std::random_device random;
    out.hash_key = uint64_t{random()} << 32 | random();
}

} // namespace egress::config::reading
