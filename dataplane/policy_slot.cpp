#include "policy_slot.hpp"

#include <stdexcept>

#include <rte_errno.h>
#include <rte_malloc.h>

namespace egress::dataplane {

policy_slot::policy_slot(unsigned readers) {
    const size_t size = rte_rcu_qsbr_get_memsize(readers);
    qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("egress_policy_qsbr", size, RTE_CACHE_LINE_SIZE));
    if (qsbr_ == nullptr || rte_rcu_qsbr_init(qsbr_, readers) != 0)
        throw std::runtime_error("policy: cannot set up RCU (rte_rcu_qsbr)");
}

policy_slot::~policy_slot() { rte_free(qsbr_); }

void policy_slot::reader_online(unsigned reader) noexcept {
    rte_rcu_qsbr_thread_register(qsbr_, reader);
    rte_rcu_qsbr_thread_online(qsbr_, reader);
}

void policy_slot::reader_offline(unsigned reader) noexcept {
    rte_rcu_qsbr_thread_offline(qsbr_, reader);
    rte_rcu_qsbr_thread_unregister(qsbr_, reader);
}

std::unique_ptr<policy::active_policy> policy_slot::publish(std::unique_ptr<policy::active_policy> next) {
    std::unique_ptr<policy::active_policy> previous = std::move(owned_);
    owned_ = std::move(next);
    current_.store(owned_.get(), std::memory_order_release);
    // Every online reader passes a quiescent state after this point before we
    // return: none can still be using `previous`.
    rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
    return previous;
}

} // namespace egress::dataplane
