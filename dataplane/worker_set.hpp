// The workers of one run, built, started and torn down in one place (think
// Seastar's sharded<>): worker_set owns every per-worker object (the
// gateway_core, the worker_context, the hand-off rings between each pair, the
// steering stage of each dispatching worker, the flow-event and
// security-event rings, the boxes each worker publishes its counters in) and
// offers what the process and the bench do with all of them: start on the
// lcores, visit each, sum over them, answer a flow query, count what was left
// in the rings, wait. egressd and egress-bench build their workers through it,
// so the bench measures the workers egressd runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <time.h>

#include "base/page_memory.hpp"
#include "base/seqlock.hpp"
#include "gateway/flow_query.hpp"
#include "gateway/gateway_core.hpp"
#include "gateway/settings.hpp"
#include "gateway/steering.hpp"
#include "gateway/steering_stage.hpp"
#include "policy/security_event.hpp"
#include "stats/live_stats.hpp"
#include "policy_slot.hpp"
#include "port.hpp"
#include "worker.hpp"

#include <rte_mempool.h>
#include <rte_ring.h>

namespace egress::dataplane {

// How the workers of a run are made. The gateway settings are the whole
// gateway's: the flow table and the inspection bounds are shared out among the
// workers, and without RSS each worker gets its slice of the NAT port range.
struct worker_set_settings {
    unsigned workers = 1;
    gateway::settings gateway;
    const gateway::steering* steer = nullptr; // required with several workers; owned by the caller
    port_handle ports[2];                      // indexed by stats::side
    int timestamp_offset = -1;                 // mbuf dynfield of the RX timestamp (replay mode)
    uint64_t timestamp_flag = 0;
    rte_mempool* pool = nullptr;               // for the frames workers build (resets, neighbour copies)
    uint32_t handoff_ring_size = 1024;         // each of the n(n-1) rings between two workers
    uint16_t burst = 32;
    uint32_t sweep_budget = 64;
    bool stop_when_drained = false;
    uint32_t drain_idle_ms = 200;
    bool replay_in_timestamp_order = false;
    const std::atomic<bool>* stop = nullptr;   // the workers return once it is set
    // The flow tables in reserved hugepages (else madvise(MADV_HUGEPAGE) memory):
    // where EAL itself runs on hugepages (rte_eal_has_hugepages()).
    bool tables_in_hugepages = false;
    base::idle_settings idle;                  // [run] idle (worker_context::idle)
};

// What runs on a worker's lcore, given its worker_context (dataplane::worker_main
// unless a bench replaces the loop).
using worker_entry = int (*)(void* context);

class worker_set {
public:
    // Builds every worker's objects (nothing runs yet). Throws std::runtime_error
    // when DPDK cannot make a ring or an mbuf flag.
    explicit worker_set(const worker_set_settings& s);
    // Waits for workers still running: the owner has set the stop flag (or they
    // drained) before; every context outlives its worker.
    ~worker_set();
    worker_set(const worker_set&) = delete;
    worker_set& operator=(const worker_set&) = delete;

    unsigned size() const noexcept { return static_cast<unsigned>(contexts_.size()); }
    worker_context& context(unsigned w) noexcept { return *contexts_[w]; }
    const worker_context& context(unsigned w) const noexcept { return *contexts_[w]; }
    gateway::gateway_core& core(unsigned w) noexcept { return *cores_[w]; }
    const gateway::gateway_core& core(unsigned w) const noexcept { return *cores_[w]; }

    // f(worker_context&, gateway_core&) for each worker in index order.
    template <class F>
    void for_each(F&& f) {
        for (unsigned w = 0; w < size(); ++w) f(*contexts_[w], *cores_[w]);
    }
    // The sum over the workers of f(const worker_context&, const gateway_core&).
    template <class F>
    auto sum(F&& f) const {
        decltype(f(*contexts_[0], *cores_[0])) total{};
        for (unsigned w = 0; w < size(); ++w) total += f(*contexts_[w], *cores_[w]);
        return total;
    }

    // Before start: what the control plane reads from the workers.
    void attach_policy(policy_slot* slot) noexcept;
    // One flow-event ring per worker (for the exporter), in worker order.
    std::vector<gateway::event_ring*> attach_flow_events(uint32_t ring_size);
    // One security-event ring per worker (for the event log), in worker order.
    std::vector<policy::security_ring*> attach_security_events(uint32_t ring_size);
    // verify = "resolve": one request and one answer ring per worker (for the
    // resolver thread), in worker order.
    struct resolver_rings {
        std::vector<dns::request_ring*> requests;
        std::vector<dns::answer_ring*> answers;
    };
    resolver_rings attach_resolver(uint32_t ring_size);
    // Each worker publishes its counters every publish_interval_ms from now on.
    void publish_counters();
    // The sum of what the workers published last (any thread; zero without
    // publish_counters()).
    stats::live_stats published_total() const noexcept;
    // The sum of the workers' own counters (after they stopped).
    stats::live_stats final_total() const noexcept;

    // Worker w on the w-th worker lcore (the main lcore excluded); with one lcore
    // short and main_may_run, worker 0 is left for run_on_main(). Returns once
    // every launched worker is running. Throws when the lcores are too few or a
    // launch fails (the workers already launched run until the stop flag).
    void start(worker_entry entry, bool main_may_run = true);
    bool main_runs_one() const noexcept { return main_runs_one_; }
    // Runs worker 0 on the calling (main) lcore until it returns (main_runs_one()).
    void run_on_main();
    bool all_finished() const noexcept;
    // Waits until every launched worker has returned.
    void wait();
    // After wait: packets still in hand-off rings (a stop between hand-off and
    // processing) are freed and counted against the worker they were meant for.
    void drain_handoffs() noexcept;

    // egressctl flows / nat (control thread): the query visits every worker's
    // table in turn. False when a worker stopped before it was done.
    bool query_flows(gateway::flow_query& q) const;
    // Where the workers' flow tables are (which pages, how many bytes).
    const base::page_resource& table_memory() const noexcept { return table_memory_; }
    // Sleeps of idle workers so far (any thread; [run] idle = "adaptive").
    uint64_t idle_sleeps() const noexcept;
    // Each worker's heartbeat (worker_context::last_loop_tsc: moves every
    // loop), in worker order; a finished worker counts as advancing (it
    // stopped on purpose).
    std::vector<uint64_t> heartbeats() const;
    // CPU time the launched workers' threads have had so far (ns).
    uint64_t cpu_ns() const noexcept;

private:
    struct launch {
        worker_set* set = nullptr;
        unsigned index = 0;
        worker_entry entry = nullptr;
        unsigned lcore = 0;
        bool remote = false; // running on lcore (else worker 0, for the main lcore)
        clockid_t cpu_clock{};
        std::atomic<bool> ready{false};
    };
    // Frees the hand-off rings last, whatever else failed.
    struct ring_owner {
        std::vector<rte_ring*> rings; // [from * workers + to], null on the diagonal
        ~ring_owner();
    };
    static int run_launch(void* arg);
    gateway::settings core_settings(unsigned w);
    gateway::steering_stage_settings stage_settings(unsigned w) const;
    void make_handoff_rings();
    void register_peer_copy_flag();
    void make_worker(unsigned w);

    worker_set_settings settings_;
    base::page_resource table_memory_; // before cores_: outlives the tables in it
    worker_group group_;
    uint64_t peer_copy_flag_ = 0;
    ring_owner handoff_;
    std::vector<std::unique_ptr<gateway::event_ring>> flow_events_;
    std::vector<std::unique_ptr<policy::security_ring>> security_events_;
    std::vector<std::unique_ptr<dns::request_ring>> lookup_requests_;
    std::vector<std::unique_ptr<dns::answer_ring>> lookup_answers_;
    std::vector<std::unique_ptr<base::seqlock_box<stats::live_stats>>> live_;
    std::vector<std::unique_ptr<gateway::gateway_core>> cores_;
    std::vector<std::unique_ptr<gateway::steering_stage>> steering_stages_; // per worker, with several
    std::vector<std::unique_ptr<worker_context>> contexts_;
    std::vector<std::unique_ptr<launch>> launches_;
    bool main_runs_one_ = false;
};

} // namespace egress::dataplane
