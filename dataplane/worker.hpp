// A worker lcore: polls its RX queue of each port, keeps the packets whose flow
// it owns (gateway/steering.hpp) and hands the others to their owner over an
// SPSC ring, processes its own and what other workers hand it with its
// gateway_core, transmits on its own TX queue of each port. All of its mutable
// state lives in one worker_context; what the workers share is read-only
// (steering) or made for exactly two of them (a hand-off ring) or atomic flags
// (worker_group).
#pragma once

#include <atomic>
#include <cstdint>

#include "base/idle_backoff.hpp"
#include "base/seqlock.hpp"
#include "gateway/flow_query.hpp"
#include "gateway/gateway_core.hpp"
#include "gateway/steering.hpp"
#include "gateway/steering_stage.hpp"
#include "stats/live_stats.hpp"
#include "policy_slot.hpp"
#include "port.hpp"

#include <rte_mempool.h>
#include <rte_ring.h>

namespace egress::dataplane {

class exception_io;

inline constexpr uint16_t max_burst = 512;
inline constexpr unsigned max_workers = 64;
// Later fragments a dispatching worker holds until their first fragment
// (gateway::steering_stage's fragment_steering hold slots).
inline constexpr uint32_t max_held_fragments = 64;

// What all workers of one run share: drain detection and the replay clock.
struct worker_group {
    unsigned workers = 1;
    // Bit w: worker w has had no input (RX or hand-off) for drain_idle_ms.
    std::atomic<uint64_t> quiet{0};
    // Replay mode: worker 0 polls both ports and publishes the capture time of
    // the first packet, the origin of every worker's flow clock.
    std::atomic<uint64_t> replay_origin{0};
    std::atomic<bool> replay_started{false};
    std::atomic<bool> replay_done{false}; // worker 0 has handed off its last packet
};

struct alignas(64) worker_context {
    gateway::gateway_core* core = nullptr;
    port_handle ports[2];          // indexed by stats::side
    uint16_t index = 0;            // this worker: policy reader id, TX queue, RX queue when the port has it
    const gateway::steering* steer = nullptr; // null: one worker, no steering
    worker_group* group = nullptr;
    // Hand-off rings (rte_ring, single producer, single consumer): to[w] carries
    // packets this worker received for worker w, from[w] those w received for
    // this one (null for this worker itself and with one worker).
    rte_ring* to[max_workers] = {};
    rte_ring* from[max_workers] = {};
    rte_mempool* pool = nullptr;   // for frames the worker sends on its own (resets towards servers)
    // mbuf dynamic flag marking a copy of an ARP / ND frame another worker
    // received (gateway_core::share_with_peers): learned from, not processed.
    uint64_t peer_copy_flag = 0;
    // Who handles each frame this worker receives (gateway::steering_stage:
    // owner by tuple, fragments after their first, the exception path to
    // worker 0). Null with one worker.
    gateway::steering_stage* steering = nullptr;
    uint16_t burst = 32;
    uint32_t sweep_budget = 64;    // flow records examined for expiry per loop
    bool stop_when_drained = false;
    uint32_t drain_idle_ms = 200;
    bool replay_in_timestamp_order = false;
    int timestamp_offset = -1;     // mbuf dynfield of the RX timestamp (replay mode)
    uint64_t timestamp_flag = 0;
    const std::atomic<bool>* stop = nullptr; // set by the control thread (signals)
    uint64_t start_epoch_ms = 0;   // wall clock when the worker starts (live mode)
    // Where the worker publishes its counters every publish_interval_ms (for the
    // metrics endpoint); null when nobody reads them.
    base::seqlock_box<stats::live_stats>* live = nullptr;
    uint32_t publish_interval_ms = 10;
    policy_slot* policy = nullptr; // the current policy (RCU); the worker is reader `index`
    // A control-plane question about the flows (egressctl flows / nat): the worker
    // advances it by query_budget table slots per loop and clears the pointer
    // once the query is done. Only the control thread posts, only when it is null.
    std::atomic<gateway::flow_query*> query{nullptr};
    uint32_t query_budget = 1024;
    std::atomic<bool> finished{false};       // set by the worker when it returns
    // Whole-path cost (read by bench/egress_bench_pipeline): TSC cycles spent in
    // live-mode loops that received at least one packet, from the top of the loop
    // to the end of its housekeeping, and the packets those loops received. Only
    // the worker writes them (a relaxed store once per busy loop).
    std::atomic<uint64_t> busy_tsc{0};
    std::atomic<uint64_t> busy_packets{0};
    // [run] idle: what a live-mode worker does after a loop that received
    // nothing (base/idle_backoff.hpp); idle_sleeps counts its sleeps.
    base::idle_settings idle;
    std::atomic<uint64_t> idle_sleeps{0};
    // Liveness and heartbeat: the TSC when the worker last began a loop of its
    // run (0: not started). A relaxed store once per loop, the worker's only
    // sign of life: dataplane::worker_liveness_age_ms (the metric) ages it, and
    // health (worker_set::heartbeats) reports a worker whose value stops
    // moving for [health] stall_ms as stalled.
    std::atomic<uint64_t> last_loop_tsc{0};
    // The exception path's taps (exception_tap.hpp): worker 0 only, null when
    // no side has an exception_interface. Owned by the caller.
    exception_io* exception = nullptr;
};

// What worker_set::heartbeats() says for a worker that returned on purpose
// (never stalled; controlplane::health_monitor::not_running).
inline constexpr uint64_t heartbeat_stopped = ~uint64_t{0};

// Runs until *ctx.stop, or (stop_when_drained) until every worker's input is
// drained.
// Signature fits rte_eal_remote_launch.
int worker_main(void* ctx);

} // namespace egress::dataplane
