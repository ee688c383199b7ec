// controlplane/control_commands: every command's exact response, over a real
// gateway_core (flows made by sending frames), a real policy_control (with the
// fake publisher) and a real config file for reload.
#include "control_commands.hpp"

#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "control_test_util.hpp"
#include "gateway_traffic.hpp"

namespace egress::controlplane {
namespace {

using stats::drop_reason;
using gateway::verdict;
using testing_util::temp_path;

constexpr uint64_t start_ms = 1'800'000'000'000; // Unix epoch ms when the tests begin

class control_commands_test : public ::testing::Test {
protected:
    void SetUp() override {
        hooks.version = "1.2.3";
        hooks.start_unix_ms = start_ms - 65'432;
        hooks.report = [this] { return report(); };
        hooks.run_query = [this](gateway::flow_query& q) {
            if (!worker_running) return false;
            traffic.run(q, 100, gateway_ms);
            return true;
        };
        hooks.policy = &policy;
        hooks.now_ms = [this] { return now_ms; };
        add_control_commands(server, hooks);
        policy.start(nullptr, now_ms);
    }

    // The worker, after it picked up the snapshot published last (as it does once per loop).
    testing_util::gateway_traffic& worker() {
        traffic.core.use_policy(slot.current.get());
        return traffic;
    }
    run_report report() const {
        run_report r;
        r.inside_device = "in0";
        r.outside_device = "out0";
        r.counters = traffic.core.counters();
        r.flows_active = traffic.core.flows_active();
        r.flow_capacity = traffic.core.flow_capacity();
        r.pool = traffic.core.pool_usage();
        return r;
    }
    std::string call(std::string_view request) { return server.handle_line(request); }
    static std::string error(std::string_view message) {
        return R"({"ok":false,"error":)" + json(message).dump() + "}";
    }
    void reload_with(std::string_view document) {
        testing_util::write_file(config.path, document);
        ASSERT_EQ(json::parse(call(R"({"cmd":"reload"})"))["ok"], true);
    }
    // Flows A (TCP, 140 bytes), B (UDP, 40 out and 128 back) and C (IPv6 TCP, 60 bytes).
    void three_flows() {
        ASSERT_EQ(worker().tcp_out("10.0.0.5", 40000, "198.51.100.7", 443, 100, 0), verdict::forward);
        ASSERT_EQ(worker().udp_out("10.0.0.6", 5000, "192.0.2.200", 53, 12, 1000), verdict::forward);
        ASSERT_EQ(worker().udp_in("192.0.2.200", 53, 5000, 100, 1500), verdict::forward);
        ASSERT_EQ(worker().tcp_out("fd00:0:0:1::5", 1000, "2001:db8::7", 443, 0, 0), verdict::forward);
        gateway_ms = 10'000;
    }

    temp_path socket{"ctl.sock"};
    temp_path config{"egressd.toml"};
    testing_util::fake_slot slot;
    policy_control policy{config.path, slot.publisher(), nullptr};
    // [limits] on (3 flows per host and destination): no other test reaches it.
    static gateway::settings limited() {
        gateway::settings s = gateway::testing_network::make_settings();
        s.limits.max_flows = 1000;
        s.limits.max_per_destination = 3;
        return s;
    }
    testing_util::gateway_traffic traffic{limited()};
    uint64_t now_ms = start_ms;
    uint32_t gateway_ms = 0; // the worker's clock
    bool worker_running = true;
    control_hooks hooks;
    control_server server{socket.path};
};

// The flows of three_flows() as `flows` shows them at gateway_ms 10'000.
constexpr std::string_view flow_a =
    R"({"proto":"tcp","inside":"10.0.0.5","inside_port":40000,"remote":"198.51.100.7","remote_port":443,)"
    R"("public":"203.0.113.10","public_port":40000,"state":"syn_sent","bytes_out":140,"bytes_in":0,)"
    R"("packets_out":1,"packets_in":0,"expires_in_ms":230000,"cut":false,"hostname":null,"rule":null})";
constexpr std::string_view flow_b =
    R"({"proto":"udp","inside":"10.0.0.6","inside_port":5000,"remote":"192.0.2.200","remote_port":53,)"
    R"("public":"203.0.113.10","public_port":5000,"state":"active","bytes_out":40,"bytes_in":128,)"
    R"("packets_out":1,"packets_in":1,"expires_in_ms":111500,"cut":false,"hostname":null,"rule":null})";
constexpr std::string_view flow_c =
    R"({"proto":"tcp","inside":"fd00:0:0:1::5","inside_port":1000,"remote":"2001:db8::7","remote_port":443,)"
    R"("public":null,"public_port":null,"state":"syn_sent","bytes_out":60,"bytes_in":0,)"
    R"("packets_out":1,"packets_in":0,"expires_in_ms":230000,"cut":false,"hostname":null,"rule":null})";

std::string flows_response(std::initializer_list<std::string_view> flows, int matched, int scanned) {
    std::string list;
    // Appended piece by piece: `"," + std::string(f)` made GCC 12 at -O3 report a
    // false -Wrestrict inside libstdc++ (the release build failed on it).
    for (const auto f : flows) {
        if (!list.empty()) list += ',';
        list += f;
    }
    return fmt::format(R"({{"ok":true,"flows":[{}],"matched":{},"scanned":{}}})", list, matched, scanned);
}

TEST_F(control_commands_test, unknown_commands_and_arguments) {
    EXPECT_EQ(call(R"({"cmd":"help"})"),
              error(R"(cmd: expected one of block, blocks, explain, flows, nat, policy, reload, sources, stats, status or unblock, got "help")"));
    EXPECT_EQ(call(R"({"cmd":"status","verbose":1})"), error(R"(status: unknown argument "verbose" (it takes none))"));
    EXPECT_EQ(call(R"({"cmd":"flows","limit":1})"), error(R"(flows: unknown argument "limit" (expected top, src or dst))"));
    EXPECT_EQ(call(R"({"cmd":"block","cidr":"10.0.0.0/8","tll":5})"),
              error(R"(block: unknown argument "tll" (expected cidr or ttl))"));
}

TEST_F(control_commands_test, status) {
    three_flows();
    EXPECT_EQ(call(R"({"cmd":"status"})"),
              fmt::format(R"({{"ok":true,"version":"1.2.3","pid":{},"uptime_s":65,"inside":"in0","outside":"out0",)"
                          R"("flows_active":3,"flow_capacity":1024,"policy_version":1,"blocks_active":0,)"
                          R"("reloads_ok":0,"reloads_failed":0}})",
                          ::getpid()));
    call(R"({"cmd":"block","cidr":"198.51.100.0/24"})");
    testing_util::write_file(config.path, testing_util::broken_policy_document);
    call(R"({"cmd":"reload"})");
    reload_with(testing_util::policy_document);
    now_ms += 1'000;
    const json s = json::parse(call(R"({"cmd":"status"})"));
    EXPECT_EQ(s["uptime_s"], 66);
    EXPECT_EQ(s["policy_version"], 2);
    EXPECT_EQ(s["blocks_active"], 1);
    EXPECT_EQ(s["reloads_ok"], 1);
    EXPECT_EQ(s["reloads_failed"], 1);
}

TEST_F(control_commands_test, stats_is_the_run_summary) {
    three_flows();
    const json s = json::parse(call(R"({"cmd":"stats"})"));
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s["ok"], true);
    EXPECT_EQ(s["stats"], json::parse(format_summary_json(report())));
    EXPECT_EQ(s["stats"]["flows"]["tcp"]["created"], 2);
    EXPECT_EQ(s["stats"]["flows"]["udp"]["created"], 1);
    EXPECT_EQ(s["stats"]["flows"]["active"], 3);
    EXPECT_EQ(s["stats"]["ports"]["inside"]["device"], "in0");
}

TEST_F(control_commands_test, flows_most_bytes_first) {
    three_flows();
    EXPECT_EQ(call(R"({"cmd":"flows"})"), flows_response({flow_b, flow_a, flow_c}, 3, 3));
    EXPECT_EQ(call(R"({"cmd":"flows","top":2})"), flows_response({flow_b, flow_a}, 3, 3));
    EXPECT_EQ(call(R"({"cmd":"flows","top":1})"), flows_response({flow_b}, 3, 3));
}

TEST_F(control_commands_test, flows_filtered_by_inside_and_remote) {
    three_flows();
    EXPECT_EQ(call(R"({"cmd":"flows","src":"10.0.0.5/32"})"), flows_response({flow_a}, 1, 3));
    EXPECT_EQ(call(R"({"cmd":"flows","dst":"2001:db8::/32"})"), flows_response({flow_c}, 1, 3));
    EXPECT_EQ(call(R"({"cmd":"flows","src":"10.0.0.0/24","dst":"192.0.2.0/24"})"), flows_response({flow_b}, 1, 3));
    EXPECT_EQ(call(R"({"cmd":"flows","src":"10.0.0.0/24","dst":"2001:db8::/32"})"), flows_response({}, 0, 3));
}

TEST_F(control_commands_test, flows_argument_errors) {
    EXPECT_EQ(call(R"({"cmd":"flows","top":"x"})"), error(R"(flows: top: expected an integer from 1 to 10000, got "x")"));
    EXPECT_EQ(call(R"({"cmd":"flows","top":-5})"), error("flows: top: expected an integer from 1 to 10000, got -5"));
    EXPECT_EQ(call(R"({"cmd":"flows","top":1.5})"), error("flows: top: expected an integer from 1 to 10000, got 1.5"));
    EXPECT_EQ(call(R"({"cmd":"flows","top":0})"), error("flows: top: expected an integer from 1 to 10000, got 0"));
    EXPECT_EQ(call(R"({"cmd":"flows","top":10001})"), error("flows: top: expected an integer from 1 to 10000, got 10001"));
    EXPECT_EQ(call(R"({"cmd":"flows","src":5})"), error("flows: src: expected a string, got 5"));
    EXPECT_EQ(call(R"({"cmd":"flows","src":"10.0.0.1/8"})"),
              error(R"(flows: src: expected a network address (host bits zero), got "10.0.0.1/8" (did you mean "10.0.0.0/8"?))"));
    EXPECT_EQ(call(R"({"cmd":"flows","dst":"bogus"})"),
              error(R"(flows: dst: expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got "bogus")"));
}

TEST_F(control_commands_test, without_a_running_worker_flows_and_nat_fail) {
    three_flows();
    worker_running = false;
    EXPECT_EQ(call(R"({"cmd":"flows"})"), error("flows: the packet worker is not running"));
    EXPECT_EQ(call(R"({"cmd":"nat"})"), error("nat: the packet worker is not running"));
    hooks.run_query = nullptr;
    EXPECT_EQ(call(R"({"cmd":"flows","top":3})"), error("flows: the packet worker is not running"));
}

TEST_F(control_commands_test, nat_hosts_with_the_most_mappings_first) {
    for (uint16_t p = 0; p < 3; ++p) ASSERT_EQ(worker().tcp_out("10.0.0.7", 1000 + p, "198.51.100.7", 443), verdict::forward);
    ASSERT_EQ(worker().tcp_out("10.0.0.6", 1000, "198.51.100.7", 443), verdict::forward);
    ASSERT_EQ(worker().tcp_out("10.0.0.5", 1000, "198.51.100.7", 443), verdict::forward);
    ASSERT_EQ(worker().tcp_out("fd00:0:0:1::5", 1000, "2001:db8::7", 443), verdict::forward);
    const std::string addresses =
        R"("addresses":[{"address":"203.0.113.10","mappings_active":5,"mappings_created":5,"exhausted":0}])";
    EXPECT_EQ(call(R"({"cmd":"nat","top":2})"),
              R"({"ok":true,)" + addresses +
                  R"(,"hosts":[{"inside":"10.0.0.7","mappings":3},{"inside":"10.0.0.5","mappings":1}],"hosts_total":3})");
    EXPECT_EQ(call(R"({"cmd":"nat"})"),
              R"({"ok":true,)" + addresses +
                  R"(,"hosts":[{"inside":"10.0.0.7","mappings":3},{"inside":"10.0.0.5","mappings":1},)"
                  R"({"inside":"10.0.0.6","mappings":1}],"hosts_total":3})");
    EXPECT_EQ(call(R"({"cmd":"nat","top":0})"), error("nat: top: expected an integer from 1 to 10000, got 0"));
}

TEST_F(control_commands_test, sources_with_the_most_refusals_first) {
    EXPECT_EQ(call(R"({"cmd":"sources"})"), R"({"ok":true,"sources":[],"sources_total":0})");
    for (uint16_t p = 0; p < 5; ++p) worker().tcp_out("10.0.0.7", 1000 + p, "198.51.100.7", 443);
    for (uint16_t p = 0; p < 4; ++p) worker().tcp_out("fd00:0:0:1::5", 1000 + p, "2001:db8::7", 443);
    ASSERT_EQ(worker().tcp_out("10.0.0.5", 1000, "198.51.100.7", 443), verdict::forward);
    ASSERT_EQ(worker().tcp_out("10.0.0.6", 1000, "198.51.100.7", 443), verdict::forward);
    ASSERT_EQ(worker().tcp_out("10.0.0.6", 1001, "198.51.100.8", 443), verdict::forward);
    EXPECT_EQ(traffic.core.counters().drops[static_cast<std::size_t>(stats::drop_reason::source_port_limit)], 3u);
    EXPECT_EQ(call(R"({"cmd":"sources","top":3})"),
              R"({"ok":true,"sources":[{"source":"10.0.0.7","flows":3,"refused":2},)"
              R"({"source":"fd00:0:0:1::","flows":3,"refused":1},{"source":"10.0.0.6","flows":2,"refused":0}],)"
              R"("sources_total":4})");
    EXPECT_EQ(call(R"({"cmd":"sources","top":0})"), error("sources: top: expected an integer from 1 to 10000, got 0"));
    worker_running = false;
    EXPECT_EQ(call(R"({"cmd":"sources"})"), error("sources: the packet worker is not running"));
}

TEST_F(control_commands_test, block_blocks_and_unblock) {
    EXPECT_EQ(call(R"({"cmd":"blocks"})"), R"({"ok":true,"blocks":[]})");
    EXPECT_EQ(call(R"({"cmd":"block","cidr":"2001:db8::/32"})"),
              R"({"ok":true,"block":{"cidr":"2001:db8::/32","created_unix_ms":1800000000000,"expires_unix_ms":null,"hits":0}})");
    now_ms += 5'000;
    EXPECT_EQ(call(R"({"cmd":"block","cidr":"203.0.113.0/24","ttl":600})"),
              R"({"ok":true,"block":{"cidr":"203.0.113.0/24","created_unix_ms":1800000005000,"expires_unix_ms":1800000605000,"hits":0}})");
    EXPECT_EQ(worker().tcp_out("10.0.0.5", 1000, "203.0.113.99", 443), drop_reason::policy_blocked);
    EXPECT_EQ(call(R"({"cmd":"blocks"})"),
              R"({"ok":true,"blocks":[)"
              R"({"cidr":"203.0.113.0/24","created_unix_ms":1800000005000,"expires_unix_ms":1800000605000,"hits":1},)"
              R"({"cidr":"2001:db8::/32","created_unix_ms":1800000000000,"expires_unix_ms":null,"hits":0}]})");
    EXPECT_EQ(call(R"({"cmd":"unblock","cidr":"203.0.113.0/24"})"),
              R"({"ok":true,"removed":{"cidr":"203.0.113.0/24","created_unix_ms":1800000005000,"expires_unix_ms":1800000605000,"hits":1}})");
    EXPECT_EQ(worker().tcp_out("10.0.0.5", 1000, "203.0.113.99", 443), verdict::forward);
    EXPECT_EQ(call(R"({"cmd":"unblock","cidr":"198.51.100.0/24"})"), error("no block for 198.51.100.0/24"));
    EXPECT_EQ(call(R"({"cmd":"blocks"})"),
              R"({"ok":true,"blocks":[{"cidr":"2001:db8::/32","created_unix_ms":1800000000000,"expires_unix_ms":null,"hits":0}]})");
}

TEST_F(control_commands_test, block_argument_errors) {
    EXPECT_EQ(call(R"({"cmd":"block","cidr":"10.0.0.0/8","ttl":0})"),
              error("block: ttl: expected an integer from 1 to 31536000, got 0"));
    EXPECT_EQ(call(R"({"cmd":"block","cidr":"10.0.0.0/8","ttl":31536001})"),
              error("block: ttl: expected an integer from 1 to 31536000, got 31536001"));
    EXPECT_EQ(call(R"({"cmd":"block","cidr":"10.0.0.0/8","ttl":"600"})"),
              error(R"(block: ttl: expected an integer from 1 to 31536000, got "600")"));
    EXPECT_EQ(call(R"({"cmd":"block","cidr":"10.0.0.1/8"})"),
              error(R"(block: cidr: expected a network address (host bits zero), got "10.0.0.1/8" (did you mean "10.0.0.0/8"?))"));
    EXPECT_EQ(call(R"({"cmd":"block","cidr":"10.0.0.0/33"})"),
              error(R"(block: cidr: expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got "10.0.0.0/33")"));
    EXPECT_EQ(call(R"({"cmd":"block"})"),
              error(R"(block: cidr: expected a CIDR like "10.0.0.0/8" or "2001:db8::/32", got nothing)"));
    EXPECT_EQ(call(R"({"cmd":"block","cidr":5})"), error("block: cidr: expected a string, got 5"));
    EXPECT_EQ(call(R"({"cmd":"unblock","cidr":"::ffff:10.0.0.0/104"})"),
              error(R"(unblock: cidr: expected an IPv6 CIDR outside ::ffff:0:0/96 (write IPv4 prefixes like "10.0.0.0/8"), got "::ffff:10.0.0.0/104")"));
    EXPECT_EQ(call(R"({"cmd":"blocks"})"), R"({"ok":true,"blocks":[]})");
    EXPECT_EQ(slot.generations.size(), 1u); // nothing was published
}

TEST_F(control_commands_test, a_block_cuts_an_existing_flow) {
    three_flows();
    call(R"({"cmd":"block","cidr":"198.51.100.7/32"})");
    worker().core.expire(gateway_ms, 1024); // the sweep re-checks every flow against the new snapshot
    const json f = json::parse(call(R"({"cmd":"flows","src":"10.0.0.5/32"})"))["flows"][0];
    EXPECT_EQ(f["state"], "closed");
    EXPECT_EQ(f["cut"], true);
    EXPECT_EQ(f["expires_in_ms"], 240'000); // tcp_closed_ms from the cut
    EXPECT_EQ(json::parse(call(R"({"cmd":"blocks"})"))["blocks"][0]["hits"], 1);
}

TEST_F(control_commands_test, policy_without_and_with_a_policy_table) {
    const std::string source = json(config.path).dump();
    EXPECT_EQ(call(R"({"cmd":"policy"})"),
              R"({"ok":true,"version":1,"loaded_unix_ms":1800000000000,"source":)" + source +
                  R"(,"default_action":"allow","default_hits":0,"block_hits":0,"would_deny":0,"rules":[]})");
    now_ms += 7;
    reload_with(testing_util::policy_document);
    call(R"({"cmd":"block","cidr":"203.0.113.0/24"})");
    EXPECT_EQ(worker().tcp_out("10.0.0.5", 1000, "198.51.100.7", 443), verdict::forward);                    // allow-https
    EXPECT_EQ(worker().tcp_out("10.0.0.5", 1001, "198.51.100.7", 80), drop_reason::policy_denied);  // default
    EXPECT_EQ(worker().udp_out("10.0.0.5", 1002, "198.51.100.7", 53), verdict::forward);                     // dns-trial
    EXPECT_EQ(worker().tcp_out("10.0.0.5", 1003, "203.0.113.1", 443), drop_reason::policy_blocked); // the block
    EXPECT_EQ(call(R"({"cmd":"policy"})"),
              R"({"ok":true,"version":2,"loaded_unix_ms":1800000000007,"source":)" + source +
                  R"(,"default_action":"deny","default_hits":1,"block_hits":1,"would_deny":1,"rules":[)"
                  R"({"name":"allow-https","action":"allow","mode":"enforce","line":7,"hits":1},)"
                  R"({"name":"dns-trial","action":"deny","mode":"report","line":14,"hits":1}]})");
}

TEST_F(control_commands_test, a_failed_reload_lists_every_error_and_keeps_the_version) {
    testing_util::write_file(config.path, testing_util::broken_policy_document);
    EXPECT_EQ(call(R"({"cmd":"reload"})"),
              R"({"ok":false,"error":"policy reload failed (2 error(s)); keeping policy version 1","errors":[)" +
                  json(config.path + ":2:1: policy.defualt: unknown key (did you mean default?)").dump() + "," +
                  json(config.path + ":3:1: policy.rules: unknown key (did you mean rule?)").dump() + "]}");
    EXPECT_EQ(policy.version(), 1u);
    EXPECT_EQ(slot.generations.size(), 1u);
}

TEST_F(control_commands_test, a_reload_reports_the_new_version) {
    testing_util::write_file(config.path, testing_util::policy_document);
    const std::string response = call(R"({"cmd":"reload"})");
    EXPECT_TRUE(response.starts_with(R"({"ok":true,"version":2,"rules":2,"duration_us":)")) << response;
    const json r = json::parse(response);
    EXPECT_EQ(r.size(), 7u); // and changes, flows, lines (dry_run_test)
    EXPECT_TRUE(r["duration_us"].is_number_unsigned());
    EXPECT_EQ(policy.version(), 2u);
    EXPECT_EQ(slot.current->version, 2u);
}

// A second policy for the dry run: allow-https now only to 198.51.100.0/24,
// dns-trial removed, ntp added.
constexpr std::string_view narrower_policy = R"([policy]
default = "deny"

[[policy.rule]]
name = "allow-https"
destinations = ["198.51.100.0/24"]
protocol = "tcp"
ports = [443]
action = "allow"

[[policy.rule]]
name = "ntp"
destinations = ["0.0.0.0/0"]
protocol = "udp"
ports = [123]
action = "allow"
)";

TEST_F(control_commands_test, a_dry_run_names_the_changes_and_the_flows_the_reload_then_cuts) {
    reload_with(testing_util::policy_document);
    // Five HTTPS flows: three to 192.0.2.0/24 (two to .201), two to 198.51.100.0/24.
    ASSERT_EQ(worker().tcp_out("10.0.0.5", 2001, "192.0.2.201", 443), gateway::verdict::forward);
    ASSERT_EQ(worker().tcp_out("10.0.0.5", 2002, "192.0.2.201", 443), gateway::verdict::forward);
    ASSERT_EQ(worker().tcp_out("10.0.0.6", 2003, "192.0.2.202", 443), gateway::verdict::forward);
    ASSERT_EQ(worker().tcp_out("10.0.0.5", 2004, "198.51.100.7", 443), gateway::verdict::forward);
    ASSERT_EQ(worker().tcp_out("10.0.0.5", 2005, "198.51.100.8", 443), gateway::verdict::forward);
    testing_util::write_file(config.path, narrower_policy);
    const json d = json::parse(call(R"({"cmd":"reload","dry_run":true})"));
    EXPECT_EQ(d["ok"], true);
    EXPECT_EQ(d["dry_run"], true);
    EXPECT_EQ(d["version"], 3);
    EXPECT_EQ(d["changes"]["added"], json::parse(R"([{"name":"ntp","line":11}])"));
    EXPECT_EQ(d["changes"]["removed"], json::parse(R"(["dns-trial"])"));
    ASSERT_EQ(d["changes"]["changed"].size(), 1u);
    EXPECT_EQ(d["changes"]["changed"][0]["after"],
              "sources=any destinations=198.51.100.0/24 protocol=tcp ports=443 hostnames=- action=allow mode=enforce");
    EXPECT_EQ(d["flows"], json::parse(R"({"live":5,"examined":5,"would_cut":3,"complete":true,)"
                                      R"("top_destinations":[{"remote":"192.0.2.201","flows":2},{"remote":"192.0.2.202","flows":1}]})"));
    EXPECT_EQ(d["lines"].get<std::vector<std::string>>(), (std::vector<std::string>{
        "added: \"ntp\" (line 11)",
        "removed: \"dns-trial\"",
        "changed: \"allow-https\" (line 4)",
        "  was: sources=any destinations=0.0.0.0/0,::/0 protocol=tcp ports=443 hostnames=- action=allow mode=enforce",
        "  now: sources=any destinations=198.51.100.0/24 protocol=tcp ports=443 hostnames=- action=allow mode=enforce",
        "rules: 1 added, 1 removed, 1 changed, 0 unchanged",
        "live flows it would cut: 3 of 5",
        "  192.0.2.201 2",
        "  192.0.2.202 1"}));
    // Nothing was applied.
    EXPECT_EQ(policy.version(), 2u);
    EXPECT_EQ(slot.generations.size(), 2u);
    EXPECT_EQ(policy.status().reloads_ok, 1u);

    // The reload: the same summary, and the workers then cut exactly those flows.
    const json r = json::parse(call(R"({"cmd":"reload"})"));
    EXPECT_EQ(r["version"], 3);
    EXPECT_EQ(r["changes"], d["changes"]);
    EXPECT_EQ(r["flows"], d["flows"]);
    EXPECT_EQ(r["lines"], d["lines"]);
    worker().core.expire(10, 1u << 20); // the sweep re-checks every flow under the new snapshot
    EXPECT_EQ(traffic.core.counters().policy_flows_cut, 3u);
}

TEST_F(control_commands_test, a_dry_run_with_errors_or_another_file) {
    testing_util::write_file(config.path, testing_util::broken_policy_document);
    const json d = json::parse(call(R"({"cmd":"reload","dry_run":true})"));
    EXPECT_EQ(d["ok"], false);
    EXPECT_EQ(d["errors"].size(), 2u);
    EXPECT_EQ(policy.status().reloads_failed, 0u); // a dry run counts nothing
    temp_path other{"other.toml"};
    testing_util::write_file(other.path, testing_util::policy_document);
    const json o = json::parse(call(json{{"cmd", "reload"}, {"dry_run", true}, {"file", other.path}}.dump()));
    EXPECT_EQ(o["changes"]["added"].size(), 2u);
    EXPECT_EQ(o["changes"]["default"], json::parse(R"({"before":"allow","after":"deny"})"));
    EXPECT_EQ(call(json{{"cmd", "reload"}, {"file", other.path}}.dump()), error("reload: file: only with dry_run"));
    EXPECT_EQ(call(R"({"cmd":"reload","dry_run":1})"), error("reload: dry_run: expected true or false, got 1"));
    worker_running = false;
    const json n = json::parse(call(json{{"cmd", "reload"}, {"dry_run", true}, {"file", other.path}}.dump()));
    EXPECT_EQ(n["flows"], nullptr);
    EXPECT_EQ(n["lines"].back(), "live flows: not known (the packet worker is not running)");
}

} // namespace
} // namespace egress::controlplane
