// Streaming DLP on Hyperscan: the pattern databases (one per direction) and the
// pools of stream states scanners draw from; see dlp.hpp.
#include "dlp/dlp.hpp"

#include <fmt/format.h>
#include <hs/hs.h>

namespace egress::dlp {

namespace {

constexpr std::size_t idx(dlp_direction d) noexcept { return static_cast<std::size_t>(d); }

unsigned horizon_mode(dlp_som_horizon h) noexcept {
    switch (h) {
    case dlp_som_horizon::medium: return HS_MODE_SOM_HORIZON_MEDIUM;
    case dlp_som_horizon::large: return HS_MODE_SOM_HORIZON_LARGE;
    case dlp_som_horizon::small: break;
    }
    return HS_MODE_SOM_HORIZON_SMALL;
}

unsigned pattern_flags(const dlp_pattern& p) noexcept {
    unsigned f = HS_FLAG_SOM_LEFTMOST;
    if (p.caseless) f |= HS_FLAG_CASELESS;
    if (p.dotall) f |= HS_FLAG_DOTALL;
    if (p.multiline) f |= HS_FLAG_MULTILINE;
    return f;
}

bool applies(dlp_pattern_direction pd, dlp_direction d) noexcept {
    return pd == dlp_pattern_direction::both ||
           (pd == dlp_pattern_direction::outbound) == (d == dlp_direction::outbound);
}

} // namespace

// ---- database --------------------------------------------------------------

dlp_database::~dlp_database() {
    for (hs_database* db : db_) hs_free_database(db);
}

std::size_t dlp_database::database_bytes() const noexcept {
    std::size_t total = 0;
    for (const hs_database* db : db_) {
        std::size_t s = 0;
        if (db && hs_database_size(db, &s) == HS_SUCCESS) total += s;
    }
    return total;
}

dlp_build_result dlp_database::build(std::vector<dlp_pattern> patterns, const dlp_build_options& options) {
    dlp_build_result result;
    if (patterns.size() > dlp_max_patterns) {
        result.error = fmt::format("{} patterns: at most {} are supported", patterns.size(), dlp_max_patterns);
        return result;
    }
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        if (patterns[i].regex.find('\0') != std::string::npos) {
            result.error = fmt::format("pattern \"{}\": the regex contains a NUL byte", patterns[i].name);
            result.pattern = static_cast<uint32_t>(i);
            return result;
        }
    }
    std::shared_ptr<dlp_database> db(new dlp_database());
    const unsigned mode = HS_MODE_STREAM | horizon_mode(options.som_horizon);
    for (const dlp_direction d : {dlp_direction::outbound, dlp_direction::inbound}) {
        std::vector<const char*> exprs;
        std::vector<unsigned> flags;
        std::vector<unsigned> ids;
        for (std::size_t i = 0; i < patterns.size(); ++i) {
            if (!applies(patterns[i].direction, d)) continue;
            exprs.push_back(patterns[i].regex.c_str());
            flags.push_back(pattern_flags(patterns[i]));
            ids.push_back(static_cast<unsigned>(i));
        }
        if (exprs.empty()) continue;
        hs_database_t* compiled = nullptr;
        hs_compile_error_t* err = nullptr;
        if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()), mode,
                             nullptr, &compiled, &err) != HS_SUCCESS) {
            const std::string message = err && err->message ? err->message : "unknown Hyperscan error";
            const int expression = err ? err->expression : -1;
            hs_free_compile_error(err);
            uint32_t culprit = dlp_no_pattern;
            std::string culprit_message = message;
            if (expression >= 0 && static_cast<std::size_t>(expression) < ids.size()) {
                culprit = ids[static_cast<std::size_t>(expression)];
            } else {
                // Not attributed to one expression: find one that fails alone.
                for (std::size_t k = 0; k < exprs.size() && culprit == dlp_no_pattern; ++k) {
                    hs_database_t* single = nullptr;
                    hs_compile_error_t* e = nullptr;
                    if (hs_compile(exprs[k], flags[k], mode, nullptr, &single, &e) != HS_SUCCESS) {
                        culprit = ids[k];
                        if (e && e->message) culprit_message = e->message;
                        hs_free_compile_error(e);
                    } else {
                        hs_free_database(single);
                    }
                }
            }
            if (culprit != dlp_no_pattern) {
                result.error = fmt::format("pattern \"{}\": {}", patterns[culprit].name, culprit_message);
                result.pattern = culprit;
            } else {
                result.error = fmt::format("{} patterns ({} of them): {}", to_string(d), exprs.size(), message);
            }
            return result;
        }
        db->db_[idx(d)] = compiled;
        std::size_t stream_size = 0;
        if (hs_stream_size(compiled, &stream_size) != HS_SUCCESS) {
            result.error = "hs_stream_size failed";
            return result;
        }
        db->stream_bytes_[idx(d)] = stream_size;
    }
    db->validators_.reserve(patterns.size());
    for (const dlp_pattern& p : patterns) db->validators_.push_back(p.validator);
    db->patterns_ = std::move(patterns);
    result.database = std::move(db);
    return result;
}

// ---- stream pool -----------------------------------------------------------

dlp_stream_pool::~dlp_stream_pool() {
    for (hs_stream* s : streams_) hs_close_stream(s, nullptr, nullptr, nullptr);
}

bool dlp_stream_pool::open(const hs_database* db, uint32_t capacity, std::string& error) {
    streams_.reserve(capacity);
    free_.resize(capacity);
    for (uint32_t i = 0; i < capacity; ++i) {
        hs_stream_t* s = nullptr;
        const hs_error_t rc = hs_open_stream(db, 0, &s);
        if (rc != HS_SUCCESS) {
            error = fmt::format("hs_open_stream failed (error {}) after {} of {} streams", rc, i, capacity);
            for (hs_stream* t : streams_) hs_close_stream(t, nullptr, nullptr, nullptr);
            streams_.clear();
            free_.clear();
            free_count_ = 0;
            return false;
        }
        streams_.push_back(s);
    }
    // Slot 0 on top of the stack: acquire() hands out 0, 1, 2, ...
    for (uint32_t i = 0; i < capacity; ++i) free_[i] = capacity - 1 - i;
    free_count_ = capacity;
    return true;
}

uint32_t dlp_stream_pool::acquire() noexcept {
    if (free_count_ == 0) return none;
    const uint32_t slot = free_[--free_count_];
    held_.store(held_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return slot;
}

void dlp_stream_pool::release(uint32_t slot) noexcept {
    free_[free_count_++] = slot;
    // Last access to the pool: once held_ reaches 0 a retired scanner may be freed.
    held_.fetch_sub(1, std::memory_order_release);
}

} // namespace egress::dlp
