// A token bucket on the gateway's millisecond clock (wrapping, serial
// arithmetic): `rate` tokens per second, at most `burst` banked. No allocation,
// no time source of its own: callers pass `now_ms`, so tests drive it with a
// fake clock. Rate 0: never grants.
#pragma once

#include <cstdint>

namespace egress::base {

class token_bucket {
public:
    token_bucket(uint32_t rate_per_second, uint32_t burst) noexcept
        : rate_(rate_per_second), capacity_(uint64_t{burst} * unit), level_(capacity_) {}

    // Takes one token if there is one.
    bool try_take(uint32_t now_ms) noexcept {
        refill(now_ms);
        if (rate_ == 0 || level_ < unit) return false;
        level_ -= unit;
        return true;
    }

private:
    // One token is 1000 units, so a millisecond adds exactly `rate` units.
    static constexpr uint64_t unit = 1000;

    void refill(uint32_t now_ms) noexcept {
        if (!started_) {
            started_ = true;
            last_ms_ = now_ms;
            return;
        }
        const auto elapsed = static_cast<int32_t>(now_ms - last_ms_);
        if (elapsed <= 0) return; // the clock did not move (or went back): nothing earned
        last_ms_ = now_ms;
        const uint64_t earned = uint64_t(static_cast<uint32_t>(elapsed)) * rate_;
        level_ = earned >= capacity_ - level_ ? capacity_ : level_ + earned;
    }

    uint64_t rate_;
    uint64_t capacity_;
    uint64_t level_;
    uint32_t last_ms_ = 0;
    bool started_ = false;
};

} // namespace egress::base
