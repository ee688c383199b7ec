#include "health.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace egress::controlplane {

std::string_view to_string(health_state s) noexcept {
    switch (s) {
    case health_state::ready: return "ready";
    case health_state::draining: return "draining";
    case health_state::failed: return "failed";
    }
    return "failed";
}

namespace {

// Writes text to path through a temporary file renamed over it, so a reader
// sees the old state or the new one, never a part. Returns the errno text, or
// "" when it worked.
std::string write_atomically(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) return std::strerror(errno);
    const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    const int saved = errno;
    if (std::fclose(f) != 0 || !written) {
        std::remove(tmp.c_str());
        return std::strerror(written ? errno : saved);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        return why;
    }
    return "";
}

} // namespace

health_monitor::health_monitor(std::string file, uint32_t stall_ms, uint64_t now_unix_ms)
    : file_(std::move(file)), stall_ms_(stall_ms), since_ms_(now_unix_ms) {
    if (file_.empty()) return;
    const std::string why = write_atomically(file_, "ready\nok\n");
    if (!why.empty()) throw std::runtime_error(fmt::format("health.file: {}: {}", file_, why));
}

health_monitor::~health_monitor() {
    if (!file_.empty()) std::remove(file_.c_str());
}

void health_monitor::observe(uint64_t now_unix_ms, std::span<const uint64_t> heartbeats,
                             const std::vector<std::string>& ports_down) {
    if (last_beat_.size() != heartbeats.size()) { // the first look: every worker starts now
        last_beat_.assign(heartbeats.begin(), heartbeats.end());
        last_change_ms_.assign(heartbeats.size(), now_unix_ms);
    }
    for (std::size_t w = 0; w < heartbeats.size(); ++w) {
        if (heartbeats[w] == last_beat_[w] && heartbeats[w] != not_running) continue;
        last_beat_[w] = heartbeats[w];
        last_change_ms_[w] = now_unix_ms;
    }
    ports_down_ = ports_down;
    settle(now_unix_ms);
}

void health_monitor::drain(uint64_t now_unix_ms) {
    drained_ = true;
    settle(now_unix_ms);
}

void health_monitor::undrain(uint64_t now_unix_ms) {
    drained_ = false;
    settle(now_unix_ms);
}

// The state and its reason from what was observed last; the file follows
// every change (of either).
void health_monitor::settle(uint64_t now_unix_ms) {
    health_state s = drained_ ? health_state::draining : health_state::ready;
    std::string why = drained_ ? "drained by egressctl" : "ok";
    for (std::size_t w = 0; w < last_beat_.size(); ++w) {
        if (now_unix_ms - last_change_ms_[w] < stall_ms_) continue;
        s = health_state::failed;
        why = fmt::format("worker {} stalled (its loop did not advance for {} ms)", w, stall_ms_);
        break;
    }
    if (s != health_state::failed && !ports_down_.empty()) {
        s = health_state::failed;
        why = fmt::format("link down: {}", fmt::join(ports_down_, ", "));
    }
    if (s == state() && why == reason_) return;
    if (s != state()) since_ms_ = now_unix_ms;
    state_.store(s, std::memory_order_relaxed);
    reason_ = std::move(why);
    write_file();
}

void health_monitor::write_file() const {
    if (file_.empty()) return;
    const std::string why = write_atomically(file_, fmt::format("{}\n{}\n", to_string(state()), reason_));
    if (!why.empty()) fmt::print(stderr, "egressd: health.file: {}: {}\n", file_, why);
}

namespace {

json health_json(const health_monitor& h, uint64_t flows_active) {
    json j;
    j["state"] = to_string(h.state());
    j["reason"] = h.reason();
    j["since_unix_ms"] = h.since_unix_ms();
    j["drained"] = h.drained();
    j["flows_active"] = flows_active;
    return j;
}

} // namespace

void add_health_commands(control_server& server, health_monitor& health, std::function<uint64_t()> flows_active,
                         std::function<uint64_t()> now_ms) {
    health_monitor* h = &health;
    server.add("health", {}, [h, flows_active](const request_args&) { return health_json(*h, flows_active()); });
    server.add("drain", {}, [h, flows_active, now_ms](const request_args&) {
        h->drain(now_ms());
        return health_json(*h, flows_active());
    });
    server.add("undrain", {}, [h, flows_active, now_ms](const request_args&) {
        h->undrain(now_ms());
        return health_json(*h, flows_active());
    });
}

} // namespace egress::controlplane
