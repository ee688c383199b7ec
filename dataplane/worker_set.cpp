#include "worker_set.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include <pthread.h>

#include <fmt/format.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

namespace egress::dataplane {

worker_set::ring_owner::~ring_owner() {
    for (rte_ring* r : rings) rte_ring_free(r);
}

worker_set::worker_set(const worker_set_settings& s) : settings_(s), table_memory_(s.tables_in_hugepages) {
    const unsigned n = s.workers;
    if (n == 0 || n > max_workers) throw std::runtime_error(fmt::format("{} workers: 1 to {} are possible", n, max_workers));
    if (n > 1 && s.steer == nullptr) throw std::logic_error("several workers need a steering");
    group_.workers = n;
    make_handoff_rings();
    register_peer_copy_flag();
    for (unsigned w = 0; w < n; ++w) live_.push_back(std::make_unique<base::seqlock_box<stats::live_stats>>());
    for (unsigned w = 0; w < n; ++w) make_worker(w);
}

worker_set::~worker_set() { wait(); }

// The hand-off rings: one for each ordered pair of workers, single producer,
// single consumer.
void worker_set::make_handoff_rings() {
    const unsigned n = settings_.workers;
    handoff_.rings.assign(std::size_t{n} * n, nullptr);
    if (n < 2) return;
    for (unsigned a = 0; a < n; ++a)
        for (unsigned b = 0; b < n; ++b) {
            if (a == b) continue;
            const std::string name = fmt::format("egress_ho_{}_{}", a, b);
            rte_ring* r = rte_ring_create(name.c_str(), settings_.handoff_ring_size, static_cast<int>(rte_socket_id()),
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
            if (r == nullptr)
                throw std::runtime_error(fmt::format("cannot create hand-off ring {}: {}", name, rte_strerror(rte_errno)));
            handoff_.rings[a * n + b] = r;
        }
}

// Marks the copies of neighbour messages workers hand each other (worker.cpp).
void worker_set::register_peer_copy_flag() {
    if (settings_.workers < 2) return;
    rte_mbuf_dynflag desc{};
    std::snprintf(desc.name, sizeof desc.name, "egress_neighbor_copy");
    const int bit = rte_mbuf_dynflag_register(&desc);
    if (bit < 0) throw std::runtime_error(fmt::format("cannot register an mbuf flag: {}", rte_strerror(rte_errno)));
    peer_copy_flag_ = uint64_t{1} << bit;
}

// Worker w's share of the gateway: the flow table and the inspection bounds
// divided among the workers (rounded up), its index, the shared steering and,
// when replies are not steered by RSS, its slice of the NAT port range.
gateway::settings worker_set::core_settings(unsigned w) {
    const unsigned n = settings_.workers;
    const gateway::settings& all = settings_.gateway;
    const auto share = [n](uint32_t total) { return (total + n - 1) / n; };
    gateway::settings s = all;
    s.max_flows = std::max<uint32_t>(1, share(all.max_flows));
    s.inspect.slots = share(all.inspect.slots);
    s.inspect.buffers = std::max<uint32_t>(1, share(all.inspect.buffers));
    // [limits]: a host's flows spread over the workers (RSS or steering by
    // tuple), so each worker holds its share of every per-source limit (0
    // stays off); every worker may see every source: max_sources is not split.
    s.limits.max_flows = share(all.limits.max_flows);
    s.limits.new_flows_per_s = share(all.limits.new_flows_per_s);
    s.limits.new_flow_burst = share(all.limits.new_flow_burst);
    s.limits.max_per_destination = share(all.limits.max_per_destination);
    s.limits.workers = n; // group limits are shared out the same way, at admission
    s.worker = static_cast<uint16_t>(w);
    if (s.table_memory == nullptr) s.table_memory = &table_memory_;
    if (n > 1) {
        s.steer = settings_.steer;
        if (!settings_.steer->rss()) {
            const gateway::port_slice slice = settings_.steer->slice(w);
            s.pool.port_min = slice.min;
            s.pool.port_max = slice.max;
        }
    }
    return s;
}

// Worker w's steering stage: its index, the sides (frames for the kernel go
// to worker 0) and, with fragments on, where it sends later fragments.
gateway::steering_stage_settings worker_set::stage_settings(unsigned w) const {
    gateway::steering_stage_settings s;
    s.self = static_cast<uint16_t>(w);
    s.inside = settings_.gateway.inside;
    s.outside = settings_.gateway.outside;
    if (settings_.gateway.fragments.max_datagrams != 0) {
        gateway::fragment_steering_settings fs;
        fs.self = s.self;
        fs.entries = settings_.gateway.fragments.max_datagrams;
        fs.lifetime_ms = settings_.gateway.fragments.timeout_ms;
        fs.hold_slots = max_held_fragments;
        s.fragments = fs;
    }
    return s;
}

void worker_set::make_worker(unsigned w) {
    const unsigned n = settings_.workers;
    cores_.push_back(std::make_unique<gateway::gateway_core>(core_settings(w)));
    auto c = std::make_unique<worker_context>();
    c->core = cores_.back().get();
    c->ports[0] = settings_.ports[0];
    c->ports[1] = settings_.ports[1];
    c->index = static_cast<uint16_t>(w);
    c->steer = n > 1 ? settings_.steer : nullptr;
    c->group = &group_;
    c->pool = settings_.pool;
    c->peer_copy_flag = peer_copy_flag_;
    c->burst = settings_.burst;
    c->sweep_budget = settings_.sweep_budget;
    c->stop_when_drained = settings_.stop_when_drained;
    c->drain_idle_ms = settings_.drain_idle_ms;
    c->replay_in_timestamp_order = settings_.replay_in_timestamp_order;
    c->timestamp_offset = settings_.timestamp_offset;
    c->timestamp_flag = settings_.timestamp_flag;
    c->stop = settings_.stop;
    c->idle = settings_.idle;
    if (n > 1) {
        steering_stages_.push_back(std::make_unique<gateway::steering_stage>(*settings_.steer, stage_settings(w),
                                                                        cores_.back()->counters()));
        c->steering = steering_stages_.back().get();
    }
    for (unsigned o = 0; o < n && n > 1; ++o) {
        c->to[o] = handoff_.rings[w * n + o];
        c->from[o] = handoff_.rings[o * n + w];
    }
    contexts_.push_back(std::move(c));
}

void worker_set::attach_policy(policy_slot* slot) noexcept {
    for (auto& c : contexts_) c->policy = slot;
}

std::vector<gateway::event_ring*> worker_set::attach_flow_events(uint32_t ring_size) {
    std::vector<gateway::event_ring*> rings;
    for (auto& core : cores_) {
        flow_events_.push_back(std::make_unique<gateway::event_ring>(ring_size));
        core->attach_events(flow_events_.back().get());
        rings.push_back(flow_events_.back().get());
    }
    return rings;
}

std::vector<policy::security_ring*> worker_set::attach_security_events(uint32_t ring_size) {
    std::vector<policy::security_ring*> rings;
    for (auto& core : cores_) {
        security_events_.push_back(std::make_unique<policy::security_ring>(ring_size));
        core->attach_security_events(security_events_.back().get());
        rings.push_back(security_events_.back().get());
    }
    return rings;
}

worker_set::resolver_rings worker_set::attach_resolver(uint32_t ring_size) {
    resolver_rings rings;
    for (auto& core : cores_) {
        lookup_requests_.push_back(std::make_unique<dns::request_ring>(ring_size));
        lookup_answers_.push_back(std::make_unique<dns::answer_ring>(ring_size));
        core->attach_resolver(lookup_requests_.back().get(), lookup_answers_.back().get());
        rings.requests.push_back(lookup_requests_.back().get());
        rings.answers.push_back(lookup_answers_.back().get());
    }
    return rings;
}

void worker_set::publish_counters() {
    for (unsigned w = 0; w < size(); ++w) contexts_[w]->live = live_[w].get();
}

stats::live_stats worker_set::published_total() const noexcept {
    stats::live_stats total{};
    for (const auto& box : live_) stats::add_worker(total, box->read());
    return total;
}

stats::live_stats worker_set::final_total() const noexcept {
    stats::live_stats total{};
    for (const auto& core : cores_) {
        stats::live_stats one;
        core->snapshot(one);
        stats::add_worker(total, one);
    }
    return total;
}

// On the worker's lcore: notes the thread's CPU clock (cpu_ns), says it is
// running, then runs the loop.
int worker_set::run_launch(void* arg) {
    auto* l = static_cast<launch*>(arg);
    pthread_getcpuclockid(pthread_self(), &l->cpu_clock);
    l->ready.store(true, std::memory_order_release);
    return l->entry(l->set->contexts_[l->index].get());
}

void worker_set::start(worker_entry entry, bool main_may_run) {
    std::vector<unsigned> lcores;
    unsigned lc = 0;
    RTE_LCORE_FOREACH_WORKER(lc) lcores.push_back(lc);
    main_runs_one_ = lcores.size() < size();
    if (lcores.size() + (main_may_run ? 1 : 0) < size())
        throw std::runtime_error(fmt::format("{} worker(s) need {} worker lcore(s), EAL has {}", size(),
                                             main_may_run ? size() - 1 : size(), lcores.size()));
    const uint64_t start_epoch_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count()); // the workers' clocks start about now
    for (auto& c : contexts_) c->start_epoch_ms = start_epoch_ms;
    if (main_runs_one_) {
        auto l = std::make_unique<launch>(); // worker 0, for run_on_main
        l->set = this;
        l->entry = entry;
        launches_.push_back(std::move(l));
    }
    for (unsigned w = main_runs_one_ ? 1 : 0; w < size(); ++w) {
        auto l = std::make_unique<launch>();
        l->set = this;
        l->index = w;
        l->entry = entry;
        l->lcore = lcores[main_runs_one_ ? w - 1 : w];
        if (rte_eal_remote_launch(run_launch, l.get(), l->lcore) != 0)
            throw std::runtime_error(fmt::format("cannot launch worker {} on lcore {}", w, l->lcore));
        l->remote = true;
        launches_.push_back(std::move(l));
    }
    for (const auto& l : launches_)
        while (l->remote && !l->ready.load(std::memory_order_acquire)) std::this_thread::yield();
}

void worker_set::run_on_main() {
    if (launches_.empty() || launches_.front()->remote) return;
    run_launch(launches_.front().get());
}

bool worker_set::all_finished() const noexcept {
    for (const auto& c : contexts_)
        if (!c->finished.load(std::memory_order_acquire)) return false;
    return true;
}

void worker_set::wait() {
    for (const auto& l : launches_)
        if (l->remote) rte_eal_wait_lcore(l->lcore);
}

void worker_set::drain_handoffs() noexcept {
    const unsigned n = size();
    for (unsigned a = 0; a < n; ++a)
        for (unsigned b = 0; b < n; ++b) {
            rte_ring* r = handoff_.rings[a * n + b];
            void* m = nullptr;
            while (r != nullptr && rte_ring_sc_dequeue(r, &m) == 0) {
                rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
                cores_[b]->counters().count_drop(stats::drop_reason::handoff_shutdown);
            }
        }
}

bool worker_set::query_flows(gateway::flow_query& q) const {
    for (std::size_t w = 0; w < contexts_.size(); ++w) {
        worker_context* c = contexts_[w].get();
        if (w != 0) q.next_table();
        if (c->finished.load(std::memory_order_acquire)) return false;
        c->query.store(&q, std::memory_order_release);
        while (!q.done.load(std::memory_order_acquire)) {
            if (c->finished.load(std::memory_order_acquire)) { // it stopped mid-scan and will not look again
                c->query.store(nullptr, std::memory_order_release);
                return false;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
    return true;
}

uint64_t worker_set::idle_sleeps() const noexcept {
    uint64_t total = 0;
    for (const auto& c : contexts_) total += c->idle_sleeps.load(std::memory_order_relaxed);
    return total;
}

std::vector<uint64_t> worker_set::heartbeats() const {
    std::vector<uint64_t> beats;
    for (const auto& c : contexts_) {
        const bool done = c->finished.load(std::memory_order_acquire);
        beats.push_back(done ? heartbeat_stopped : c->last_loop_tsc.load(std::memory_order_relaxed));
    }
    return beats;
}

uint64_t worker_set::cpu_ns() const noexcept {
    uint64_t t = 0;
    for (const auto& l : launches_) {
        if (!l->ready.load(std::memory_order_acquire)) continue;
        timespec ts{};
        clock_gettime(l->cpu_clock, &ts);
        t += static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
    }
    return t;
}

} // namespace egress::dataplane
