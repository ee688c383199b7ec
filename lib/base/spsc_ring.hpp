// A bounded single-producer / single-consumer ring of trivially copyable items.
// The producer (a worker lcore) never blocks: try_push fails when the ring is
// full and the caller counts the overflow. The consumer is the control thread.
// Memory is allocated once at construction.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <type_traits>

namespace egress::base {

template <class T>
class spsc_ring {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    // capacity is rounded up to a power of two.
    explicit spsc_ring(std::size_t capacity) {
        if (capacity == 0) throw std::invalid_argument("spsc_ring capacity must be > 0");
        std::size_t c = 1;
        while (c < capacity) c <<= 1;
        mask_ = c - 1;
        slots_ = std::make_unique<T[]>(c);
    }
    spsc_ring(const spsc_ring&) = delete;
    spsc_ring& operator=(const spsc_ring&) = delete;

    std::size_t capacity() const noexcept { return mask_ + 1; }

    // Producer side.
    bool try_push(const T& item) noexcept {
        const uint64_t head = head_.load(std::memory_order_relaxed);
        if (head - tail_cache_ > mask_) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (head - tail_cache_ > mask_) return false;
        }
        slots_[head & mask_] = item;
        head_.store(head + 1, std::memory_order_release);
        return true;
    }

    // Consumer side: up to max items into out; returns how many.
    std::size_t pop_burst(T* out, std::size_t max) noexcept {
        const uint64_t tail = tail_.load(std::memory_order_relaxed);
        const uint64_t head = head_.load(std::memory_order_acquire);
        std::size_t n = static_cast<std::size_t>(head - tail);
        if (n > max) n = max;
        for (std::size_t i = 0; i < n; ++i) out[i] = slots_[(tail + i) & mask_];
        tail_.store(tail + n, std::memory_order_release);
        return n;
    }

    // Producer side: an item that did not fit (the producer counts what it could
    // not push here, so the consumer can report the loss).
    void record_overflow() noexcept {
        overflows_.store(overflows_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    uint64_t overflows() const noexcept { return overflows_.load(std::memory_order_relaxed); }

    std::size_t size_approx() const noexcept {
        return static_cast<std::size_t>(head_.load(std::memory_order_acquire) -
                                        tail_.load(std::memory_order_acquire));
    }

private:
    alignas(64) std::atomic<uint64_t> head_{0}; // written by the producer
    uint64_t tail_cache_ = 0;                    // producer's view of tail_
    std::atomic<uint64_t> overflows_{0};         // written by the producer
    alignas(64) std::atomic<uint64_t> tail_{0}; // written by the consumer
    std::size_t mask_ = 0;
    std::unique_ptr<T[]> slots_;
};

} // namespace egress::base
