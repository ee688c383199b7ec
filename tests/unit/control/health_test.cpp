// controlplane/health: the state machine (stall detection, ports, drain), the
// file a routing daemon reads, and the health / drain / undrain commands'
// exact responses.
#include "health.hpp"

#include <filesystem>
#include <vector>

#include <gtest/gtest.h>

#include "control_test_util.hpp"

namespace egress::controlplane {
namespace {

using testing_util::read_lines;
using testing_util::temp_path;

constexpr uint64_t t0 = 1'800'000'000'000;
const std::vector<std::string> no_ports_down;

TEST(health_monitor, starts_ready_and_writes_the_file) {
    temp_path file("health");
    health_monitor h(file.path, 500, t0);
    EXPECT_EQ(h.state(), health_state::ready);
    EXPECT_EQ(h.reason(), "ok");
    EXPECT_EQ(h.since_unix_ms(), t0);
    EXPECT_EQ(read_lines(file.path), (std::vector<std::string>{"ready", "ok"}));
    EXPECT_FALSE(std::filesystem::exists(file.path + ".tmp"));
}

TEST(health_monitor, a_worker_whose_loop_stops_fails_it_after_stall_ms_and_recovers) {
    temp_path file("health");
    health_monitor h(file.path, 500, t0);
    h.observe(t0, std::vector<uint64_t>{10, 20}, no_ports_down);
    h.observe(t0 + 300, std::vector<uint64_t>{11, 20}, no_ports_down); // worker 1 quiet for 300 ms: fine
    EXPECT_EQ(h.state(), health_state::ready);
    h.observe(t0 + 499, std::vector<uint64_t>{12, 20}, no_ports_down);
    EXPECT_EQ(h.state(), health_state::ready);
    h.observe(t0 + 500, std::vector<uint64_t>{13, 20}, no_ports_down);
    EXPECT_EQ(h.state(), health_state::failed);
    EXPECT_EQ(h.reason(), "worker 1 stalled (its loop did not advance for 500 ms)");
    EXPECT_EQ(h.since_unix_ms(), t0 + 500);
    EXPECT_EQ(read_lines(file.path),
              (std::vector<std::string>{"failed", "worker 1 stalled (its loop did not advance for 500 ms)"}));
    h.observe(t0 + 600, std::vector<uint64_t>{14, 21}, no_ports_down);
    EXPECT_EQ(h.state(), health_state::ready);
    EXPECT_EQ(h.since_unix_ms(), t0 + 600);
    EXPECT_EQ(read_lines(file.path), (std::vector<std::string>{"ready", "ok"}));
}

TEST(health_monitor, a_worker_that_stopped_on_purpose_is_not_stalled) {
    health_monitor h("", 100, t0);
    const uint64_t gone = health_monitor::not_running;
    h.observe(t0, std::vector<uint64_t>{1, gone}, no_ports_down);
    h.observe(t0 + 1000, std::vector<uint64_t>{2, gone}, no_ports_down);
    EXPECT_EQ(h.state(), health_state::ready);
}

TEST(health_monitor, a_port_down_fails_it) {
    health_monitor h("", 100, t0);
    h.observe(t0, std::vector<uint64_t>{1}, {"inside", "outside"});
    EXPECT_EQ(h.state(), health_state::failed);
    EXPECT_EQ(h.reason(), "link down: inside, outside");
    h.observe(t0 + 20, std::vector<uint64_t>{2}, no_ports_down);
    EXPECT_EQ(h.state(), health_state::ready);
}

TEST(health_monitor, drain_and_undrain_with_failed_winning) {
    temp_path file("health");
    health_monitor h(file.path, 100, t0);
    h.drain(t0 + 5);
    EXPECT_EQ(h.state(), health_state::draining);
    EXPECT_TRUE(h.drained());
    EXPECT_EQ(read_lines(file.path), (std::vector<std::string>{"draining", "drained by egressctl"}));
    h.observe(t0 + 10, std::vector<uint64_t>{1}, {"outside"});
    EXPECT_EQ(h.state(), health_state::failed);
    h.observe(t0 + 30, std::vector<uint64_t>{2}, no_ports_down);
    EXPECT_EQ(h.state(), health_state::draining); // still drained once the port is back
    h.undrain(t0 + 40);
    EXPECT_EQ(h.state(), health_state::ready);
    EXPECT_EQ(h.since_unix_ms(), t0 + 40);
    EXPECT_EQ(read_lines(file.path), (std::vector<std::string>{"ready", "ok"}));
}

TEST(health_monitor, the_file_goes_with_the_monitor) {
    temp_path file("health");
    { health_monitor h(file.path, 100, t0); EXPECT_TRUE(std::filesystem::exists(file.path)); }
    EXPECT_FALSE(std::filesystem::exists(file.path));
}

TEST(health_monitor, an_unwritable_file_is_refused_at_start) {
    try {
        health_monitor h("/nonexistent-dir/health", 100, t0);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "health.file: /nonexistent-dir/health: No such file or directory");
    }
}

TEST(health_commands, exact_responses) {
    temp_path sock("hsock");
    control_server server(sock.path);
    uint64_t now = t0 + 7;
    uint64_t flows = 3;
    health_monitor h("", 100, t0);
    add_health_commands(server, h, [&] { return flows; }, [&] { return now; });
    EXPECT_EQ(server.handle_line(R"({"cmd":"health"})"),
              R"({"ok":true,"state":"ready","reason":"ok","since_unix_ms":1800000000000,"drained":false,)"
              R"("flows_active":3})");
    EXPECT_EQ(server.handle_line(R"({"cmd":"drain"})"),
              R"({"ok":true,"state":"draining","reason":"drained by egressctl","since_unix_ms":1800000000007,)"
              R"("drained":true,"flows_active":3})");
    flows = 0;
    now = t0 + 9;
    EXPECT_EQ(server.handle_line(R"({"cmd":"health"})"),
              R"({"ok":true,"state":"draining","reason":"drained by egressctl","since_unix_ms":1800000000007,)"
              R"("drained":true,"flows_active":0})");
    EXPECT_EQ(server.handle_line(R"({"cmd":"undrain"})"),
              R"({"ok":true,"state":"ready","reason":"ok","since_unix_ms":1800000000009,"drained":false,)"
              R"("flows_active":0})");
    EXPECT_EQ(server.handle_line(R"({"cmd":"drain","wait":5})"),
              R"x({"ok":false,"error":"drain: unknown argument \"wait\" (it takes none)"})x");
}

} // namespace
} // namespace egress::controlplane
