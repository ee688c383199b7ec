// Streaming DLP on Hyperscan: see dlp.hpp.
#include "dlp/dlp.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <hs/hs.h>

namespace egress::dlp {

namespace {

inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

constexpr std::size_t idx(dlp_direction d) noexcept { return static_cast<std::size_t>(d); }
constexpr dlp_direction other(dlp_direction d) noexcept {
    return d == dlp_direction::outbound ? dlp_direction::inbound : dlp_direction::outbound;
}

constexpr uint64_t recent_end_mask = (uint64_t{1} << 48) - 1;

char printable(int c) noexcept {
    if (c < 0) return '?';
    return c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.';
}

// The sample of a match of `length` bytes whose byte i (0-based) is byte(i): -1 if
// unknown. length == 0 means "unknown start" (the caller knows only the end).
template <class ByteAt>
dlp_sample masked_sample(uint64_t length, ByteAt byte) noexcept {
    dlp_sample s;
    std::size_t n = 0;
    auto put = [&](char c) noexcept { s.text[n++] = c; };
    if (length == 0) {
        // Start beyond the SOM horizon: the first characters are unknown.
        put('?');
        put('?');
        for (std::size_t i = 0; i < dlp_sample_max_stars; ++i) put('*');
        put(printable(byte(uint64_t{0}, true)));
        put(printable(byte(uint64_t{1}, true)));
        s.size = static_cast<uint8_t>(n);
        return s;
    }
    const uint64_t keep = length >= 8 ? 2 : length >= 4 ? 1 : 0;
    for (uint64_t i = 0; i < keep; ++i) put(printable(byte(i, false)));
    const uint64_t stars = std::min<uint64_t>(length - 2 * keep, dlp_sample_max_stars);
    for (uint64_t i = 0; i < stars; ++i) put('*');
    for (uint64_t i = length - keep; i < length; ++i) put(printable(byte(i, false)));
    s.size = static_cast<uint8_t>(n);
    return s;
}

} // namespace

std::string_view to_string(dlp_severity s) noexcept {
    switch (s) {
    case dlp_severity::low: return "low";
    case dlp_severity::medium: return "medium";
    case dlp_severity::high: return "high";
    case dlp_severity::critical: return "critical";
    }
    return "?";
}

std::string_view to_string(dlp_action a) noexcept {
    switch (a) {
    case dlp_action::alert: return "alert";
    case dlp_action::block: return "block";
    }
    return "?";
}

std::string_view to_string(dlp_validator v) noexcept {
    switch (v) {
    case dlp_validator::none: return "none";
    case dlp_validator::luhn: return "luhn";
    }
    return "?";
}

std::string_view to_string(dlp_pattern_direction d) noexcept {
    switch (d) {
    case dlp_pattern_direction::outbound: return "outbound";
    case dlp_pattern_direction::inbound: return "inbound";
    case dlp_pattern_direction::both: return "both";
    }
    return "?";
}

std::string_view to_string(dlp_direction d) noexcept {
    return d == dlp_direction::outbound ? "outbound" : "inbound";
}

std::string_view to_string(dlp_stream_status s) noexcept {
    switch (s) {
    case dlp_stream_status::idle: return "idle";
    case dlp_stream_status::active: return "active";
    case dlp_stream_status::done: return "done";
    case dlp_stream_status::datagram: return "datagram";
    case dlp_stream_status::depth: return "depth";
    case dlp_stream_status::no_stream: return "no_stream";
    case dlp_stream_status::no_patterns: return "no_patterns";
    case dlp_stream_status::error: return "error";
    }
    return "?";
}

std::string_view to_string(dlp_scan_status s) noexcept {
    switch (s) {
    case dlp_scan_status::scanned: return "scanned";
    case dlp_scan_status::depth_reached: return "depth_reached";
    case dlp_scan_status::no_stream: return "no_stream";
    case dlp_scan_status::not_inspected: return "not_inspected";
    case dlp_scan_status::error: return "error";
    }
    return "?";
}

// ---- Luhn ------------------------------------------------------------------

bool luhn_checksum_ok(std::string_view digits) noexcept {
    if (digits.size() < 2) return false;
    unsigned sum = 0;
    bool dbl = false; // doubling every second digit from the right
    for (std::size_t i = digits.size(); i-- > 0;) {
        const char c = digits[i];
        if (c < '0' || c > '9') return false;
        unsigned v = static_cast<unsigned>(c - '0');
        if (dbl) {
            v *= 2;
            if (v > 9) v -= 9;
        }
        sum += v;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

bool luhn_valid(std::string_view text) noexcept {
    char digits[19];
    std::size_t n = 0;
    for (const char c : text) {
        if (c >= '0' && c <= '9') {
            if (n == sizeof digits) return false;
            digits[n++] = c;
        } else if (c != ' ' && c != '-') {
            return false;
        }
    }
    return n >= 13 && luhn_checksum_ok(std::string_view(digits, n));
}

dlp_sample make_masked_sample(std::string_view text) noexcept {
    return masked_sample(text.size(), [&](uint64_t i, bool from_end) noexcept -> int {
        const std::size_t at = from_end ? text.size() - 2 + i : i;
        return static_cast<unsigned char>(text[at]);
    });
}

// ---- scanner ---------------------------------------------------------------

struct dlp_scanner::scan_context {
    const dlp_database* db;
    dlp_counters* counters;
    const dlp_match_sink* sink;
    dlp_scan_result* result;
    dlp_direction direction;
    uint64_t base;           // flow offset of Hyperscan's stream offset 0
    uint64_t payload_start;  // flow offset of payload[0]
    const uint8_t* payload;  // the bytes being scanned (may be empty at end of data)
    std::size_t payload_size;
    const uint8_t* history;  // the bytes just before payload_start
    std::size_t history_size;
    uint64_t* recent;        // dlp_recent_reports entries
    uint8_t* recent_next;

    // The byte at flow offset off, or -1 if no longer available.
    int byte_at(uint64_t off) const noexcept {
        if (off >= payload_start) {
            const uint64_t i = off - payload_start;
            return i < payload_size ? payload[i] : -1;
        }
        const uint64_t back = payload_start - off;
        return back <= history_size ? history[history_size - back] : -1;
    }
    uint64_t oldest() const noexcept { return payload_start - history_size; }
};

int dlp_scanner::on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned /*flags*/,
                          void* context) {
    auto& ctx = *static_cast<scan_context*>(context);
    const uint64_t end = ctx.base + to;
    const bool start_known = from != HS_OFFSET_PAST_HORIZON;
    const uint64_t start = start_known ? ctx.base + from : dlp_unknown_offset;

    // Duplicate suppression: overlaps a range this pattern already reported.
    const uint64_t tag = (uint64_t{id} + 1) << 48;
    if (start_known) {
        for (std::size_t i = 0; i < dlp_recent_reports; ++i) {
            const uint64_t e = ctx.recent[i];
            if ((e & ~recent_end_mask) == tag && start < (e & recent_end_mask)) {
                ctx.recent[i] = tag | std::max(e & recent_end_mask, end & recent_end_mask);
                bump(ctx.counters->duplicates);
                return 0;
            }
        }
    }

    if (ctx.db->validator(id) == dlp_validator::luhn) {
        char buf[dlp_history_bytes];
        const uint64_t len = start_known ? end - start : 0;
        if (!start_known || len > sizeof buf || start < ctx.oldest()) {
            bump(ctx.counters->validator_unverifiable);
            ++ctx.result->validator_rejected;
            return 0;
        }
        for (uint64_t i = 0; i < len; ++i) buf[i] = static_cast<char>(ctx.byte_at(start + i));
        if (!luhn_valid(std::string_view(buf, len))) {
            bump(ctx.counters->validator_rejected);
            ++ctx.result->validator_rejected;
            return 0;
        }
    }

    ctx.recent[*ctx.recent_next] = tag | (end & recent_end_mask);
    *ctx.recent_next = static_cast<uint8_t>((*ctx.recent_next + 1) % dlp_recent_reports);

    dlp_match m;
    m.database = ctx.db;
    m.pattern = id;
    m.direction = ctx.direction;
    const dlp_pattern& p = ctx.db->patterns()[id];
    m.severity = p.severity;
    m.action = p.action;
    m.start = start;
    m.end = end;
    if (start_known) {
        m.sample = masked_sample(end - start, [&](uint64_t i, bool) noexcept { return ctx.byte_at(start + i); });
    } else {
        m.sample = masked_sample(0, [&](uint64_t i, bool) noexcept { return end >= 2 ? ctx.byte_at(end - 2 + i) : -1; });
    }
    bump(ctx.counters->matches);
    ++ctx.result->matches;
    (*ctx.sink)(m);
    return 0;
}

dlp_scanner_result dlp_scanner::create(std::shared_ptr<const dlp_database> db, const dlp_scanner_config& config) {
    dlp_scanner_result result;
    if (!db) {
        result.error = "no database";
        return result;
    }
    std::shared_ptr<dlp_scanner> s(new dlp_scanner());
    s->db_ = std::move(db);
    s->config_ = config;
    if (!s->config_.counters) s->config_.counters = std::make_shared<dlp_counters>();
    for (const dlp_direction d : {dlp_direction::outbound, dlp_direction::inbound}) {
        const hs_database* hdb = s->db_->hs(d);
        if (!hdb) continue;
        if (const hs_error_t rc = hs_alloc_scratch(hdb, &s->scratch_); rc != HS_SUCCESS) {
            result.error = fmt::format("hs_alloc_scratch failed (error {})", rc);
            return result;
        }
        if (!s->pools_[idx(d)].open(hdb, config.max_streams, result.error)) return result;
        if (const hs_error_t rc = hs_open_stream(hdb, 0, &s->datagram_[idx(d)]); rc != HS_SUCCESS) {
            result.error = fmt::format("hs_open_stream failed (error {})", rc);
            return result;
        }
    }
    if (s->scratch_) hs_scratch_size(s->scratch_, &s->scratch_bytes_);
    result.scanner = std::move(s);
    return result;
}

dlp_scanner::~dlp_scanner() {
    for (hs_stream* st : datagram_) {
        if (st) hs_close_stream(st, nullptr, nullptr, nullptr);
    }
    hs_free_scratch(scratch_);
}

uint32_t dlp_scanner::held_streams() const noexcept { return pools_[0].held() + pools_[1].held(); }

std::size_t dlp_scanner::stream_memory_bytes() const noexcept {
    std::size_t total = 0;
    for (const dlp_direction d : {dlp_direction::outbound, dlp_direction::inbound}) {
        const std::size_t per = db_->stream_bytes(d);
        total += per * pools_[idx(d)].capacity() + (datagram_[idx(d)] ? per : 0);
    }
    return total;
}

void dlp_scanner::release_direction(dlp_flow_state& flow, dlp_direction d, scan_context* eod) noexcept {
    dlp_direction_state& st = flow.of(d);
    dlp_stream_pool& pool = pools_[idx(d)];
    hs_stream* stream = pool.stream(st.slot);
    if (eod) {
        if (hs_reset_stream(stream, 0, scratch_, &dlp_scanner::on_match, eod) != HS_SUCCESS) {
            bump(config_.counters->scan_errors);
            hs_reset_stream(stream, 0, nullptr, nullptr, nullptr);
        }
    } else {
        hs_reset_stream(stream, 0, nullptr, nullptr, nullptr);
    }
    st.status = dlp_stream_status::done;
    if (flow.of(other(d)).status != dlp_stream_status::active) flow.scanner = nullptr;
    bump(config_.counters->streams_released);
    pool.release(st.slot); // last: this scanner may be freed once its count reaches 0
}

namespace {
void push_history(dlp_direction_state& st, const uint8_t* p, std::size_t n) noexcept {
    constexpr std::size_t H = dlp_history_bytes;
    if (n >= H) {
        std::memcpy(st.history.data(), p + n - H, H);
        st.history_size = static_cast<uint8_t>(H);
        return;
    }
    const std::size_t keep = std::min<std::size_t>(st.history_size, H - n);
    std::memmove(st.history.data(), st.history.data() + st.history_size - keep, keep);
    std::memcpy(st.history.data() + keep, p, n);
    st.history_size = static_cast<uint8_t>(keep + n);
}
} // namespace

dlp_scan_result dlp_scanner::scan(dlp_flow_state& flow, dlp_direction d, std::span<const uint8_t> payload,
                                  dlp_match_sink sink) noexcept {
    if (flow.scanner && flow.scanner != this) return flow.scanner->scan(flow, d, payload, sink);
    dlp_scan_result r;
    dlp_direction_state& st = flow.of(d);
    if (st.status == dlp_stream_status::idle) {
        if (payload.empty()) {
            r.status = dlp_scan_status::scanned;
            return r;
        }
        if (!db_->inspects(d)) {
            st.status = dlp_stream_status::no_patterns;
            return r;
        }
        const uint32_t slot = pools_[idx(d)].acquire();
        if (slot == dlp_stream_pool::none) {
            st.status = dlp_stream_status::no_stream;
            bump(config_.counters->pool_exhausted);
            r.status = dlp_scan_status::no_stream;
            return r;
        }
        bump(config_.counters->streams_acquired);
        st.slot = slot;
        st.status = dlp_stream_status::active;
        flow.scanner = this;
    } else if (st.status != dlp_stream_status::active) {
        return r;
    }
    r.status = dlp_scan_status::scanned;
    if (payload.empty()) return r;

    std::size_t n = payload.size();
    bool reached = false;
    if (config_.depth_bytes != 0) {
        const uint64_t remaining = config_.depth_bytes - st.offset; // active implies offset < depth
        if (n >= remaining) {
            n = static_cast<std::size_t>(remaining);
            reached = true;
        }
    }

    scan_context ctx{db_.get(), config_.counters.get(), &sink, &r, d, 0, st.offset, payload.data(), n,
                     st.history.data(), st.history_size, st.recent.data(), &st.recent_next};
    const hs_error_t rc = hs_scan_stream(pools_[idx(d)].stream(st.slot), reinterpret_cast<const char*>(payload.data()),
                                         static_cast<unsigned>(n), 0, scratch_, &dlp_scanner::on_match, &ctx);
    push_history(st, payload.data(), n);
    st.offset += n;
    bump(config_.counters->segments);
    bump(config_.counters->bytes, n);
    if (rc != HS_SUCCESS) {
        bump(config_.counters->scan_errors);
        release_direction(flow, d, nullptr); // last use of this scanner
        st.status = dlp_stream_status::error;
        r.status = dlp_scan_status::error;
    } else if (reached) {
        bump(config_.counters->depth_reached);
        release_direction(flow, d, nullptr); // no end-of-data matches: the data did not end here
        st.status = dlp_stream_status::depth;
        r.status = dlp_scan_status::depth_reached;
    }
    return r;
}

dlp_scan_result dlp_scanner::finish(dlp_flow_state& flow, dlp_direction d, dlp_match_sink sink) noexcept {
    if (flow.scanner && flow.scanner != this) return flow.scanner->finish(flow, d, sink);
    dlp_scan_result r;
    dlp_direction_state& st = flow.of(d);
    if (st.status == dlp_stream_status::idle) {
        st.status = dlp_stream_status::done;
        return r;
    }
    if (st.status != dlp_stream_status::active) return r;
    r.status = dlp_scan_status::scanned;
    scan_context ctx{db_.get(), config_.counters.get(), &sink, &r, d, 0, st.offset, nullptr, 0,
                     st.history.data(), st.history_size, st.recent.data(), &st.recent_next};
    release_direction(flow, d, &ctx);
    return r;
}

void dlp_scanner::release(dlp_flow_state& flow) noexcept {
    for (const dlp_direction d : {dlp_direction::outbound, dlp_direction::inbound}) {
        // Re-read flow.scanner each time: it is cleared when the last stream goes,
        // and after that the scanner may be gone.
        if (flow.scanner && flow.of(d).status == dlp_stream_status::active) flow.scanner->release_direction(flow, d, nullptr);
    }
    flow.scanner = nullptr;
}

dlp_overlap compare_scanned(const dlp_direction_state& st, uint64_t at, std::span<const uint8_t> bytes) noexcept {
    const uint64_t end = std::min<uint64_t>(at + bytes.size(), st.offset);
    if (end <= at) return dlp_overlap::none;
    const uint64_t from = std::max<uint64_t>(at, st.offset - st.history_size);
    for (uint64_t off = from; off < end; ++off)
        if (bytes[off - at] != st.history[st.history_size - (st.offset - off)]) return dlp_overlap::differs;
    return from > at ? dlp_overlap::uncomparable : dlp_overlap::same;
}

dlp_scan_result dlp_scanner::rescan(dlp_flow_state& flow, dlp_direction d, uint64_t at,
                                    std::span<const uint8_t> payload, dlp_match_sink sink) noexcept {
    if (flow.scanner && flow.scanner != this) return flow.scanner->rescan(flow, d, at, payload, sink);
    dlp_scan_result r;
    dlp_direction_state& st = flow.of(d);
    if (st.status != dlp_stream_status::active || payload.empty()) return r;
    r.status = dlp_scan_status::scanned;
    scan_context ctx{db_.get(), config_.counters.get(), &sink, &r, d, at, at, payload.data(), payload.size(),
                     nullptr, 0, st.recent.data(), &st.recent_next};
    hs_stream* stream = datagram_[idx(d)];
    const hs_error_t rc = hs_scan_stream(stream, reinterpret_cast<const char*>(payload.data()),
                                         static_cast<unsigned>(payload.size()), 0, scratch_, &dlp_scanner::on_match, &ctx);
    hs_reset_stream(stream, 0, nullptr, nullptr, nullptr); // no end-of-data matches
    bump(config_.counters->rescans);
    bump(config_.counters->bytes, payload.size());
    if (rc != HS_SUCCESS) {
        bump(config_.counters->scan_errors);
        r.status = dlp_scan_status::error;
    }
    return r;
}

dlp_scan_result dlp_scanner::scan_datagram(dlp_flow_state& flow, dlp_direction d, std::span<const uint8_t> payload,
                                           dlp_match_sink sink) noexcept {
    dlp_scan_result r;
    dlp_direction_state& st = flow.of(d);
    if (st.status == dlp_stream_status::idle) {
        if (!db_->inspects(d)) {
            st.status = dlp_stream_status::no_patterns;
            return r;
        }
        st.status = dlp_stream_status::datagram;
    } else if (st.status != dlp_stream_status::datagram) {
        return r;
    }
    r.status = dlp_scan_status::scanned;
    if (payload.empty()) return r;

    std::size_t n = payload.size();
    bool reached = false;
    if (config_.depth_bytes != 0) {
        const uint64_t remaining = config_.depth_bytes - st.offset;
        if (n >= remaining) {
            n = static_cast<std::size_t>(remaining);
            reached = true;
        }
    }
    std::array<uint64_t, dlp_recent_reports> recent{};
    uint8_t recent_next = 0;
    scan_context ctx{db_.get(), config_.counters.get(), &sink, &r, d, st.offset, st.offset, payload.data(), n,
                     nullptr, 0, recent.data(), &recent_next};
    hs_stream* stream = datagram_[idx(d)];
    hs_error_t rc = hs_scan_stream(stream, reinterpret_cast<const char*>(payload.data()), static_cast<unsigned>(n), 0,
                                   scratch_, &dlp_scanner::on_match, &ctx);
    if (rc == HS_SUCCESS && !reached) {
        rc = hs_reset_stream(stream, 0, scratch_, &dlp_scanner::on_match, &ctx); // end-of-data matches
    } else {
        hs_reset_stream(stream, 0, nullptr, nullptr, nullptr);
    }
    st.offset += n;
    bump(config_.counters->datagrams);
    bump(config_.counters->bytes, n);
    if (rc != HS_SUCCESS) {
        bump(config_.counters->scan_errors);
        st.status = dlp_stream_status::error;
        r.status = dlp_scan_status::error;
    } else if (reached) {
        bump(config_.counters->depth_reached);
        st.status = dlp_stream_status::depth;
        r.status = dlp_scan_status::depth_reached;
    }
    return r;
}

// ---- retired scanners --------------------------------------------------------

void dlp_retired_scanners::retire(std::shared_ptr<dlp_scanner> scanner) {
    if (scanner) retired_.push_back(std::move(scanner));
}

std::size_t dlp_retired_scanners::collect() {
    const auto before = retired_.size();
    std::erase_if(retired_, [](const std::shared_ptr<dlp_scanner>& s) { return s->held_streams() == 0; });
    return before - retired_.size();
}

uint64_t dlp_retired_scanners::held_streams() const noexcept {
    uint64_t total = 0;
    for (const auto& s : retired_) total += s->held_streams();
    return total;
}

} // namespace egress::dlp
