// The security event log: one JSON object per line, to a file (appended) or
// stdout. The packet path's events (deny, would_deny, cut, block) arrive through
// the workers' bounded rings (policy::security_ring) and are written by the
// control thread; the control plane's own events (reload, block_added,
// block_removed, block_expired, events_lost) are written where they happen, on
// the same thread, so the log is in the order things happened there.
//
// Keys, in this order:
//   every event:     time_ms (Unix epoch ms), event
//   deny, would_deny, cut:
//                    policy_version, rule ("default" for the default action),
//                    proto (IP protocol number), src, src_port, dst, dst_port,
//                    hostname (only when the flow's TLS SNI / HTTP Host is known)
//   dlp:             policy_version, pattern, severity, action ("alert" | "block"),
//                    direction ("outbound" | "inbound"), offset and length of the
//                    match in that direction's byte stream, sample (masked: at
//                    most four real characters, never the match), then the
//                    flow's proto, src, src_port, dst, dst_port, hostname
//   block:           policy_version, block (the CIDR), flow ("new" | "existing"),
//                    proto, src, src_port, dst, dst_port, hostname (when known)
//   reload:          result ("ok" | "failed"), trigger, policy_version (the
//                    version now active), then rules and duration_us (ok) or
//                    errors (failed: every error, file:line:col)
//   block_added:     block, expires_unix_ms (null: never)
//   block_removed, block_expired: block, hits
//   events_lost:     lost_total (packet-path events dropped because a ring was full, so far)
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/security_event.hpp"

namespace egress::controlplane {

std::string format_security_event(const policy::security_event& e);
std::string format_reload_event(uint64_t time_ms, std::string_view trigger, bool ok, uint64_t version,
                                std::size_t rules, uint64_t duration_us, const std::vector<std::string>& errors);
// kind: "block_added" (expires_unix_ms: 0 = never), "block_removed" or "block_expired" (hits).
std::string format_block_event(uint64_t time_ms, std::string_view kind, const policy::cidr& block,
                               uint64_t expires_unix_ms, uint64_t hits);
std::string format_events_lost(uint64_t time_ms, uint64_t lost_total);

class event_log {
public:
    // path: a file (opened for appending), "-" for stdout. Throws
    // std::runtime_error "events.log: cannot open PATH: <strerror>".
    explicit event_log(const std::string& path);
    ~event_log();
    event_log(const event_log&) = delete;
    event_log& operator=(const event_log&) = delete;

    void write(std::string_view line); // one line; '\n' is added
    // Writes every event waiting in the rings, and an events_lost line when the
    // rings' loss count grew since the last drain.
    void drain(const std::vector<policy::security_ring*>& rings, uint64_t now_ms);
    uint64_t written() const noexcept { return written_; }

private:
    void put(std::string_view line);

    std::FILE* f_ = nullptr;
    bool owned_ = false;
    uint64_t written_ = 0;
    uint64_t lost_reported_ = 0;
};

// Unix epoch milliseconds now.
uint64_t unix_ms_now();

} // namespace egress::controlplane
