// The end-of-run report: packets per port, flows by protocol, NAT mappings per
// public address, drops by named reason. Printed for people and written as JSON
// for tests and scripts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/ip_address.hpp"
#include "stats/counters.hpp"

namespace egress::controlplane {

struct pool_address_report {
    net::ip_address address;
    uint64_t mappings_active = 0;
    uint64_t mappings_created = 0;
    uint64_t exhausted = 0;
};

struct run_report {
    std::string inside_device;
    std::string outside_device;
    stats::worker_counters counters;
    uint64_t flows_active = 0;
    uint64_t flow_capacity = 0;
    uint64_t flow_table_bytes = 0;
    std::vector<pool_address_report> pool;
};

std::string format_summary(const run_report& r);
std::string format_summary_json(const run_report& r);

} // namespace egress::controlplane
