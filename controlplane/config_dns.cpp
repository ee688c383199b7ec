// [dns]: the table of observed DNS answers behind verify = "observed"
// (gateway/dns_observer.hpp). Bounds are per worker: every worker keeps the
// whole table (each records the answers all workers see).
#include <random>

#include "config_reader.hpp"

namespace egress::config::reading {

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
    dns.finish();
    // The key of the names' hash: chosen here, at start-up, so that no client
    // can search for colliding names offline.
    std::random_device random;
    out.hash_key = uint64_t{random()} << 32 | random();
}

} // namespace egress::config::reading
