// A compiled policy as the packet path uses it: the immutable rules plus the
// decision counters of this version. The control plane builds one per (re)load
// and publishes a pointer to it (RCU: the worker reads the pointer once per loop;
// the old one is freed only after the worker has passed a quiescent state). The
// counters are written by the one worker that uses the snapshot and read by the
// control plane with relaxed atomic loads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "policy/compiled_policy.hpp"

namespace egress::policy {

struct active_policy {
    explicit active_policy(std::unique_ptr<const compiled_policy> p)
        : compiled(std::move(p)), generation(static_cast<uint8_t>(compiled->version() % 255 + 1)),
          rule_hits(compiled->rules().size(), 0) {}

    std::unique_ptr<const compiled_policy> compiled;
    // Flows remember the generation that admitted them (one byte, never 0);
    // a flow whose generation differs is re-checked on its next packet.
    uint8_t generation;
    std::vector<uint64_t> rule_hits; // new flows decided by each rule (index as in compiled->rules())
    uint64_t default_hits = 0;       // new flows decided by the default action

    // Worker side: counts one decision.
    void count(const decision& d) noexcept {
        uint64_t& c = d.rule == no_rule ? default_hits : rule_hits[d.rule];
        std::atomic_ref<uint64_t>(c).store(c + 1, std::memory_order_relaxed);
    }
    // Control side.
    uint64_t hits(uint32_t rule) const noexcept {
        return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(rule_hits[rule])).load(std::memory_order_relaxed);
    }
    uint64_t defaults() const noexcept {
        return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(default_hits)).load(std::memory_order_relaxed);
    }
};

} // namespace egress::policy
