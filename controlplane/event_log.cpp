#include "event_log.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace egress::controlplane {

namespace {

using ordered = nlohmann::ordered_json;

ordered head(uint64_t time_ms, std::string_view event) {
    ordered j;
    j["time_ms"] = time_ms;
    j["event"] = event;
    return j;
}

} // namespace

uint64_t unix_ms_now() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

std::string format_security_event(const policy::security_event& e) {
    ordered j = head(e.time_unix_ms, policy::to_string(e.kind));
    j["policy_version"] = e.policy_version;
    if (e.kind == policy::security_event_kind::block) {
        j["block"] = e.blocked.to_string();
        j["flow"] = e.existing_flow ? "existing" : "new";
    } else if (e.kind == policy::security_event_kind::dlp) {
        j["pattern"] = base::field_text(e.rule);
        j["severity"] = dlp::to_string(static_cast<dlp::dlp_severity>(e.dlp_severity));
        j["action"] = dlp::to_string(static_cast<dlp::dlp_action>(e.dlp_action));
        j["direction"] = dlp::to_string(static_cast<dlp::dlp_direction>(e.dlp_direction));
        j["offset"] = e.dlp_offset;
        j["length"] = e.dlp_length;
        j["sample"] = e.dlp_sample.view();
    } else if (e.kind == policy::security_event_kind::source_limit) {
        j["limit"] = base::field_text(e.rule);
    } else {
        const std::string_view rule = base::field_text(e.rule);
        j["rule"] = rule.empty() ? std::string_view("default") : rule;
    }
    // Why the flow's packet was dropped, as in the drop counters and the flow records.
    if (e.reason != stats::no_drop) j["reason"] = stats::name_of(e.reason);
    j["proto"] = e.proto;
    j["src"] = e.src.to_string();
    j["src_port"] = e.src_port;
    j["dst"] = e.dst.to_string();
    j["dst_port"] = e.dst_port;
    const std::string_view host = base::field_text(e.hostname);
    if (!host.empty()) j["hostname"] = host;
    if (e.reason == stats::drop_reason::sni_unverified) {
        ordered said = ordered::array();
        for (std::size_t i = 0; i < e.dns_said_count && i < e.dns_said.size(); ++i) said.push_back(e.dns_said[i].to_string());
        j["dns_said"] = std::move(said);
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string format_reload_event(uint64_t time_ms, std::string_view trigger, bool ok, uint64_t version,
                                std::size_t rules, uint64_t duration_us, const std::vector<std::string>& errors) {
    ordered j = head(time_ms, "reload");
    j["result"] = ok ? "ok" : "failed";
    j["trigger"] = trigger;
    j["policy_version"] = version;
    if (ok) {
        j["rules"] = rules;
        j["duration_us"] = duration_us;
    } else {
        j["errors"] = errors;
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string format_block_event(uint64_t time_ms, std::string_view kind, const policy::cidr& block,
                               uint64_t expires_unix_ms, uint64_t hits) {
    ordered j = head(time_ms, kind);
    j["block"] = block.to_string();
    if (kind == "block_added") {
        j["expires_unix_ms"] = expires_unix_ms == 0 ? ordered() : ordered(expires_unix_ms);
    } else {
        j["hits"] = hits;
    }
    return j.dump();
}

std::string format_events_lost(uint64_t time_ms, uint64_t lost_total) {
    ordered j = head(time_ms, "events_lost");
    j["lost_total"] = lost_total;
    return j.dump();
}

event_log::event_log(const std::string& path) {
    if (path == "-") {
        f_ = stdout;
        return;
    }
    f_ = std::fopen(path.c_str(), "a");
    if (f_ == nullptr) throw std::runtime_error(fmt::format("events.log: cannot open {}: {}", path, std::strerror(errno)));
    owned_ = true;
}

event_log::~event_log() {
    if (owned_) std::fclose(f_);
}

void event_log::put(std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), f_);
    std::fputc('\n', f_);
    ++written_;
}

void event_log::write(std::string_view line) {
    put(line);
    std::fflush(f_);
}

void event_log::drain(const std::vector<policy::security_ring*>& rings, uint64_t now_ms) {
    policy::security_event batch[64];
    uint64_t lost = 0;
    for (policy::security_ring* r : rings) {
        for (std::size_t n; (n = r->pop_burst(batch, std::size(batch))) != 0;) {
            for (std::size_t i = 0; i < n; ++i) put(format_security_event(batch[i]));
        }
        lost += r->overflows();
    }
    if (lost > lost_reported_) {
        put(format_events_lost(now_ms, lost));
        lost_reported_ = lost;
    }
    std::fflush(f_);
}

} // namespace egress::controlplane
