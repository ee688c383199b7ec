// Where the worker finds the current policy, and how the control plane replaces
// it without stopping traffic: an atomic pointer read once per worker loop, and
// DPDK's quiescent-state RCU (rte_rcu_qsbr) so an old policy is freed only
// after every worker has finished every loop that could still be using it.
#pragma once

#include <atomic>
#include <memory>

#include <rte_rcu_qsbr.h>

#include "policy/active_policy.hpp"

namespace egress::dataplane {

class policy_slot {
public:
    // One reader per worker (reader id = worker index).
    explicit policy_slot(unsigned readers = 1);
    ~policy_slot();
    policy_slot(const policy_slot&) = delete;
    policy_slot& operator=(const policy_slot&) = delete;

    // Worker side. A registered, online reader must report quiescent regularly.
    void reader_online(unsigned reader) noexcept;
    void reader_offline(unsigned reader) noexcept;
    void quiescent(unsigned reader) noexcept { rte_rcu_qsbr_quiescent(qsbr_, reader); }
    policy::active_policy* current() const noexcept { return current_.load(std::memory_order_acquire); }

    // Control side: publishes next (may be null: no policy) and waits for the
    // grace period; returns the previous policy, which no reader can still hold.
    std::unique_ptr<policy::active_policy> publish(std::unique_ptr<policy::active_policy> next);
    const policy::active_policy* owned() const noexcept { return owned_.get(); }

private:
    rte_rcu_qsbr* qsbr_ = nullptr;
    std::atomic<policy::active_policy*> current_{nullptr};
    std::unique_ptr<policy::active_policy> owned_;
};

} // namespace egress::dataplane
