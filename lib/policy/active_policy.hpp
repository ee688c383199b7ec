// The policy as the packet path uses it: one immutable snapshot combining the
// compiled rules (may be absent: no [policy], every outbound flow allowed) and
// the emergency blocks in force, plus the decision counters. The control plane
// builds a new snapshot whenever either part changes (a reload, a block added,
// removed or expired) and publishes a pointer to it through RCU: the worker reads
// the pointer once per loop, and the old snapshot is freed only after the worker
// has passed a quiescent state.
//
// Precedence: an emergency block on the destination denies first; then the
// rules (compiled_policy.hpp), then the default action.
//
// Counters: rule and default counters live in a policy_counters object shared by
// every snapshot of the same policy version (a block change does not reset them);
// block hits live in the block_list snapshot. The workers that use a snapshot
// add to them (relaxed atomic adds, slow path only); the control plane reads them
// with relaxed loads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "policy/block_list.hpp"
#include "policy/compiled_policy.hpp"

namespace egress::policy {

// Counter helpers (written by the workers using the snapshot, read by the control plane).
// Several workers share a snapshot's counters: an atomic add (new flows only, never per packet).
inline void bump(uint64_t& c) noexcept { std::atomic_ref<uint64_t>(c).fetch_add(1, std::memory_order_relaxed); }
inline uint64_t read_counter(const uint64_t& c) noexcept {
    return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(c)).load(std::memory_order_relaxed);
}

struct policy_counters {
    explicit policy_counters(std::size_t rules) : rule_hits(rules, 0) {}
    std::vector<uint64_t> rule_hits; // new flows decided by each rule (index as in compiled_policy::rules())
    uint64_t default_hits = 0;       // new flows decided by the default action
    uint64_t block_hits = 0;         // new flows denied by an emergency block
};

struct active_policy {
    // compiled may be null (no [policy]); blocks may be null (none in force).
    // generation: chosen by the publisher, 1..255, different from the previous
    // snapshot's, so flows admitted under an older snapshot are re-checked.
    active_policy(std::shared_ptr<const compiled_policy> rules, std::shared_ptr<policy_counters> counters,
                  std::shared_ptr<const block_list> blocks, uint8_t generation, uint64_t version,
                  std::shared_ptr<dlp::dlp_scanner> dlp = nullptr,
                  std::vector<std::shared_ptr<dlp::dlp_scanner>> dlp_more = {})
        : compiled(std::move(rules)), counters(std::move(counters)), blocks(std::move(blocks)),
          dlp(std::move(dlp)), dlp_more(std::move(dlp_more)), generation(generation), version(version),
          block_hits(this->blocks ? this->blocks->entries().size() : 0, 0) {}

    // A snapshot of one compiled policy without blocks (tests); its generation
    // follows the policy version; DLP patterns get a scanner of test_dlp_streams
    // streams.
    static constexpr uint32_t test_dlp_streams = 64;
    explicit active_policy(std::shared_ptr<const compiled_policy> rules)
        : active_policy(rules, std::make_shared<policy_counters>(rules ? rules->rules().size() : 0), nullptr,
                        static_cast<uint8_t>((rules ? rules->version() : 0) % 255 + 1), rules ? rules->version() : 0,
                        make_dlp_scanner(rules.get(), test_dlp_streams, nullptr).scanner) {}

    // The worker's scanner for the policy's DLP patterns (null scanner, no error,
    // when there are none). Control plane: allocates.
    static dlp::dlp_scanner_result make_dlp_scanner(const compiled_policy* rules, uint32_t streams,
                                                        std::shared_ptr<dlp::dlp_counters> counters) {
        if (rules == nullptr || !rules->dlp()) return {};
        return dlp::dlp_scanner::create(rules->dlp(), dlp::dlp_scanner_config{streams, rules->dlp_depth(),
                                                                                      std::move(counters)});
    }

    std::shared_ptr<const compiled_policy> compiled;
    std::shared_ptr<policy_counters> counters;
    std::shared_ptr<const block_list> blocks;
    std::shared_ptr<dlp::dlp_scanner> dlp; // worker 0's DLP scanner (null: no patterns)
    // Workers 1..N-1: one scanner each (Hyperscan scratch and streams belong to one thread).
    std::vector<std::shared_ptr<dlp::dlp_scanner>> dlp_more;
    dlp::dlp_scanner* scanner(unsigned worker) const noexcept {
        if (worker == 0) return dlp.get();
        return worker - 1 < dlp_more.size() ? dlp_more[worker - 1].get() : nullptr;
    }
    // Flows remember the generation that admitted them (one byte, never 0);
    // a flow whose generation differs is re-checked.
    uint8_t generation;
    uint64_t version; // the policy version (reloads), for events and status
    std::vector<uint64_t> block_hits; // per blocks->entries() index: flows denied or cut by it

    // The decision for q, without counting it.
    decision evaluate(const query& q) const noexcept {
        if (blocks) {
            if (const uint32_t b = blocks->match(q.dst); b != block_list::none)
                return decision{verdict::deny, false, no_rule, b};
        }
        if (compiled) return compiled->evaluate(q);
        return decision{verdict::allow, false, no_rule, no_rule};
    }

    // Worker side: the decision for a new flow, counted. An allow that must
    // first be verified against DNS (decision::verify) is counted by the
    // caller once the check is over (count): as the rule's when the flow
    // passes, else under the reason that refused it.
    decision decide(const query& q) noexcept {
        const decision d = evaluate(q);
        if (d.pending) return d; // decided (and counted) once the hostname is known
        if (d.verify != verify_check::none) return d;
        count(d);
        return d;
    }
    void count(const decision& d) noexcept {
        if (d.block != no_rule) {
            bump(counters->block_hits);
            bump(block_hits[d.block]);
        } else if (compiled && !d.quic) { // QUIC at a hostname rule: the setting's (stats/policy_denial.hpp)
            bump(d.rule == no_rule ? counters->default_hits : counters->rule_hits[d.rule]);
        }
    }
    // Worker side: an existing flow re-checked and cut by a block.
    void count_block_cut(const decision& d) noexcept {
        if (d.block != no_rule) bump(block_hits[d.block]);
    }

    // Control side.
    uint64_t hits(uint32_t rule) const noexcept { return read_counter(counters->rule_hits[rule]); }
    uint64_t defaults() const noexcept { return read_counter(counters->default_hits); }
    uint64_t block_total() const noexcept { return read_counter(counters->block_hits); }
    uint64_t hits_of_block(uint32_t b) const noexcept { return read_counter(block_hits[b]); }
    // The rule name of a decision ("" for the default or a block).
    std::string_view rule_name(const decision& d) const noexcept {
        return compiled && d.rule != no_rule ? std::string_view(compiled->rules()[d.rule].name) : std::string_view();
    }
};

} // namespace egress::policy
