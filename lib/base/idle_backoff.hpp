// How a polling loop that finds nothing to do gives its core back ([run] idle =
// "adaptive"): after spin_loops empty loops it pauses the CPU for pause_loops
// more (cheap, keeps the core; covers gaps between packets of one burst of
// traffic), then sleeps, first min_sleep_us, each further empty loop twice as
// long, up to max_sleep_us. The first loop that receives anything starts over
// at full polling. With mode "poll" it always says poll: a core per worker,
// the lowest latency. DPDK-free (the worker turns the answer into rte_pause or
// nanosleep), so the schedule is tested without EAL.
#pragma once

#include <algorithm>
#include <cstdint>

namespace egress::base {

enum class idle_mode : uint8_t { poll, adaptive };

struct idle_settings {
    idle_mode mode = idle_mode::poll;
    uint32_t spin_loops = 256;   // empty loops polled at full speed before pausing
    uint32_t pause_loops = 1024; // then empty loops with a CPU pause each
    uint32_t min_sleep_us = 10;  // then sleeps from this length...
    uint32_t max_sleep_us = 200; // ... doubling up to this one (the added latency bound)
};

class idle_backoff {
public:
    enum class action : uint8_t { poll, pause, sleep };

    explicit idle_backoff(const idle_settings& s = {}) noexcept : s_(s) {}

    // After each loop: did it receive anything? Returns what to do before the
    // next one; sleep_us() says how long when it is sleep.
    action next(bool received) noexcept {
        if (received || s_.mode == idle_mode::poll) {
            empty_ = 0;
            sleep_us_ = 0;
            return action::poll;
        }
        if (empty_ <= s_.spin_loops + s_.pause_loops) ++empty_; // stops one past the pauses
        if (empty_ <= s_.spin_loops) return action::poll;
        if (empty_ <= s_.spin_loops + s_.pause_loops) return action::pause;
        sleep_us_ = sleep_us_ == 0 ? std::min(s_.min_sleep_us, s_.max_sleep_us)
                                   : std::min(sleep_us_ * 2, s_.max_sleep_us);
        return action::sleep;
    }
    uint32_t sleep_us() const noexcept { return sleep_us_; }

private:
    idle_settings s_;
    uint32_t empty_ = 0;
    uint32_t sleep_us_ = 0;
};

} // namespace egress::base
