// dataplane::worker_set under EAL (--no-huge, its own file prefix, three lcores on
// CPU 0): how the workers are wired to each other (hand-off rings, fragment
// steering, indices), what is left in the rings at shutdown and whom it is
// counted against, placement on the lcores, the sums the control side reads,
// and a flow query that finds a worker gone. The entries launched here are
// small test loops, not the packet loop (the system tests run that).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "worker_set.hpp"

namespace egress::dataplane {
namespace {

class eal_environment : public ::testing::Environment {
public:
    void SetUp() override {
        std::vector<std::string> args{"worker_set_test", "--lcores", "0@0,1@0,2@0", "--no-huge", "-m", "256",
                                      "--no-shconf", "--file-prefix", "worker-set-test-" + std::to_string(::getpid()),
                                      "--no-pci", "--log-level", "error"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        // Without EAL no test can run: fail the binary rather than skip them all.
        if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
            std::fprintf(stderr, "worker_set_test: EAL initialisation failed\n");
            std::exit(1);
        }
        pool = rte_pktmbuf_pool_create("worker_set_test", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                       static_cast<int>(rte_socket_id()));
        if (pool == nullptr) {
            std::fprintf(stderr, "worker_set_test: cannot create the mbuf pool\n");
            std::exit(1);
        }
    }
    // EAL leaves its runtime directory (and the telemetry socket in it) behind.
    void TearDown() override {
        const std::filesystem::path runtime_dir = rte_eal_get_runtime_dir();
        rte_mempool_free(pool);
        rte_eal_cleanup();
        std::error_code ec;
        std::filesystem::remove_all(runtime_dir, ec);
    }
    static inline rte_mempool* pool = nullptr;
};

const auto* const environment = ::testing::AddGlobalTestEnvironment(new eal_environment);

struct fixture {
    std::atomic<bool> stop{false};
    gateway::steering steer;
    worker_set_settings s;

    explicit fixture(unsigned workers)
        : steer([workers] {
              gateway::steering_settings st;
              st.workers = workers;
              return st;
          }()) {
        s.workers = workers;
        s.gateway.pool.addresses = {net::ip_address::from_v4(0xCB00710A)};
        s.gateway.max_flows = 4096;
        s.gateway.inspect.slots = 1024;
        s.steer = &steer;
        s.pool = eal_environment::pool;
        s.handoff_ring_size = 64;
        s.burst = 16;
        s.stop = &stop;
    }
};

uint64_t handoff_shutdown(const gateway::gateway_core& core) {
    return core.counters().drops[static_cast<std::size_t>(stats::drop_reason::handoff_shutdown)];
}

TEST(worker_set, each_pair_of_workers_shares_one_ring_per_direction) {
    fixture f(3);
    worker_set ws(f.s);
    ASSERT_EQ(ws.size(), 3u);
    std::set<rte_ring*> rings;
    for (unsigned a = 0; a < 3; ++a) {
        const worker_context& c = ws.context(a);
        EXPECT_EQ(c.index, a);
        EXPECT_EQ(c.core, &ws.core(a));
        EXPECT_EQ(c.steer, &f.steer);
        EXPECT_EQ(c.burst, 16);
        // Several workers: each has its steering stage (owners, fragments, the exception path).
        ASSERT_NE(c.steering, nullptr);
        EXPECT_EQ(c.steering->self(), a);
        EXPECT_EQ(&c.steering->steer(), &f.steer);
        EXPECT_EQ(c.to[a], nullptr);
        EXPECT_EQ(c.from[a], nullptr);
        for (unsigned b = 0; b < 3; ++b) {
            if (a == b) continue;
            ASSERT_NE(c.to[b], nullptr);
            EXPECT_EQ(c.to[b], ws.context(b).from[a]);
            rings.insert(c.to[b]);
        }
    }
    EXPECT_EQ(rings.size(), 6u);
    EXPECT_EQ(ws.context(0).group, ws.context(2).group);
    EXPECT_EQ(ws.context(0).group->workers, 3u);
}

TEST(worker_set, one_worker_has_no_rings_and_no_steering) {
    fixture f(1);
    f.s.steer = nullptr;
    worker_set ws(f.s);
    const worker_context& c = ws.context(0);
    EXPECT_EQ(c.steer, nullptr);
    EXPECT_EQ(c.steering, nullptr);
    EXPECT_EQ(c.peer_copy_flag, 0u);
    EXPECT_EQ(c.to[0], nullptr);
    EXPECT_EQ(c.from[0], nullptr);
}

TEST(worker_set, the_flow_table_is_shared_out_among_the_workers) {
    fixture one(1);
    one.s.steer = nullptr;
    fixture four(4);
    worker_set a(one.s), b(four.s);
    const auto capacity = [](const worker_context&, const gateway::gateway_core& core) { return core.flow_capacity(); };
    EXPECT_GT(b.core(0).flow_capacity(), 0u);
    EXPECT_LT(b.core(0).flow_capacity(), a.core(0).flow_capacity());
    EXPECT_EQ(b.sum(capacity), 4 * b.core(0).flow_capacity());
}

TEST(worker_set, packets_left_in_rings_count_against_the_worker_they_were_for) {
    fixture f(3);
    worker_set ws(f.s);
    const unsigned before = rte_mempool_avail_count(eal_environment::pool);
    const auto put = [&](unsigned from, unsigned to, unsigned n) {
        for (unsigned i = 0; i < n; ++i) {
            rte_mbuf* m = rte_pktmbuf_alloc(eal_environment::pool);
            ASSERT_NE(m, nullptr);
            ASSERT_EQ(rte_ring_sp_enqueue(ws.context(from).to[to], m), 0);
        }
    };
    put(0, 2, 2);
    put(1, 2, 1);
    put(2, 0, 4);
    ws.drain_handoffs();
    EXPECT_EQ(handoff_shutdown(ws.core(0)), 4u);
    EXPECT_EQ(handoff_shutdown(ws.core(1)), 0u);
    EXPECT_EQ(handoff_shutdown(ws.core(2)), 3u);
    EXPECT_EQ(rte_mempool_avail_count(eal_environment::pool), before); // every mbuf freed
}

// A test loop: publishes a count of 7 + its index, then waits for the stop flag.
int publish_and_wait(void* arg) {
    auto& c = *static_cast<worker_context*>(arg);
    stats::live_stats mine{};
    mine.counters.ports[0].rx_packets = 7 + c.index;
    c.live->publish(mine);
    c.busy_packets.store(10 + c.index, std::memory_order_relaxed);
    while (!c.stop->load()) rte_pause();
    c.finished.store(true, std::memory_order_release);
    return 0;
}

TEST(worker_set, workers_run_on_the_worker_lcores_and_sums_cover_them_all) {
    fixture f(2);
    worker_set ws(f.s);
    ws.publish_counters();
    ws.start(publish_and_wait);
    EXPECT_FALSE(ws.main_runs_one());
    while (ws.published_total().counters.ports[0].rx_packets != 15) rte_pause();
    EXPECT_FALSE(ws.all_finished());
    EXPECT_EQ(ws.sum([](const worker_context& c, const auto&) { return c.busy_packets.load(); }), 21u);
    f.stop.store(true);
    ws.wait();
    EXPECT_TRUE(ws.all_finished());
}

TEST(worker_set, with_one_lcore_short_the_main_lcore_runs_worker_0) {
    fixture f(3);
    worker_set ws(f.s);
    ws.publish_counters();
    ws.start(publish_and_wait);
    ASSERT_TRUE(ws.main_runs_one());
    while (ws.published_total().counters.ports[0].rx_packets != 8 + 9) rte_pause(); // workers 1 and 2
    f.stop.store(true); // worker 0 returns at once
    ws.run_on_main();
    ws.wait();
    EXPECT_TRUE(ws.all_finished());
    EXPECT_EQ(ws.published_total().counters.ports[0].rx_packets, 7u + 8 + 9);
}

TEST(worker_set, too_few_lcores_when_the_main_lcore_is_taken) {
    fixture f(3);
    worker_set ws(f.s);
    EXPECT_THROW(ws.start(publish_and_wait, false), std::runtime_error);
}

TEST(worker_set, a_flow_query_fails_once_a_worker_has_stopped) {
    fixture f(2);
    worker_set ws(f.s);
    ws.context(0).finished.store(true);
    gateway::flow_query q = gateway::flow_query::top_flows(10, std::nullopt, std::nullopt);
    EXPECT_FALSE(ws.query_flows(q));
    EXPECT_EQ(ws.context(0).query.load(), nullptr);
}

} // namespace
} // namespace egress::dataplane
