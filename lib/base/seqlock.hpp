// One writer publishes a struct of 64-bit words; any number of readers take
// consistent copies without locking the writer (a sequence lock). Every word is
// accessed through std::atomic_ref, so concurrent reads and writes are
// well-defined; the sequence number tells a reader to retry a torn copy.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace egress::base {

template <class T>
class seqlock_box {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) % sizeof(uint64_t) == 0 &&
                      alignof(T) >= alignof(uint64_t),
                  "seqlock_box holds structs made of 64-bit words");
    static constexpr std::size_t words = sizeof(T) / sizeof(uint64_t);

public:
    // Writer (one thread only).
    void publish(const T& value) noexcept {
        const uint64_t s = seq_.load(std::memory_order_relaxed);
        seq_.store(s + 1, std::memory_order_relaxed); // odd: write in progress
        std::atomic_thread_fence(std::memory_order_release);
        const auto* src = reinterpret_cast<const uint64_t*>(&value);
        for (std::size_t i = 0; i < words; ++i)
            std::atomic_ref<uint64_t>(data_[i]).store(src[i], std::memory_order_relaxed);
        seq_.store(s + 2, std::memory_order_release);
    }

    // Reader: a copy no older than the last completed publish.
    T read() const noexcept {
        T out;
        auto* dst = reinterpret_cast<uint64_t*>(&out);
        for (;;) {
            const uint64_t before = seq_.load(std::memory_order_acquire);
            if (before & 1) continue;
            for (std::size_t i = 0; i < words; ++i)
                dst[i] = std::atomic_ref<uint64_t>(const_cast<uint64_t&>(data_[i])).load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (seq_.load(std::memory_order_relaxed) == before) return out;
        }
    }

    uint64_t publications() const noexcept { return seq_.load(std::memory_order_acquire) / 2; }

private:
    std::atomic<uint64_t> seq_{0};
    alignas(64) uint64_t data_[words] = {};
};

} // namespace egress::base
