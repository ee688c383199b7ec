#include "policy_control.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "policy_loader.hpp"

namespace egress::controlplane {

namespace {

// blocks_ is kept sorted by prefix (address, then length): the order blocks()
// lists them in, and a prefix is found by binary search (up to max_blocks()
// entries, every block change and every blocks() call looks up each of them).
bool prefix_less(const policy::cidr& a, const policy::cidr& b) noexcept {
    return a.base != b.base ? a.base < b.base : a.prefix_len < b.prefix_len;
}
const policy::cidr& prefix_of(const block_info& b) noexcept { return b.prefix; }
template <class State>
auto prefix_of(const State& s) noexcept -> decltype((s.entry.prefix)) { return s.entry.prefix; }

// Where p is, or would be inserted, in v (sorted by prefix).
template <class Vec>
auto position_of(Vec& v, const policy::cidr& p) {
    return std::lower_bound(v.begin(), v.end(), p, [](const auto& x, const policy::cidr& q) { return prefix_less(prefix_of(x), q); });
}
// The element of v with prefix p, or v.end().
template <class Vec>
auto find_prefix(Vec& v, const policy::cidr& p) {
    const auto it = position_of(v, p);
    return it != v.end() && prefix_of(*it) == p ? it : v.end();
}

} // namespace

policy_control::policy_control(std::string path, publisher publish, event_log* log)
    : path_(std::move(path)), publish_(std::move(publish)), log_(log) {}

void policy_control::log(const std::string& line) {
    if (log_ != nullptr) log_->write(line);
}

void policy_control::set_workers(unsigned workers) {
    workers_ = workers == 0 ? 1 : workers;
    dlp_counters_.clear();
    for (unsigned w = 0; w < workers_; ++w) dlp_counters_.push_back(std::make_shared<dlp::dlp_counters>());
}

std::vector<std::shared_ptr<dlp::dlp_scanner>> policy_control::make_scanners(const policy::compiled_policy* p,
                                                                                 std::string& error) const {
    std::vector<std::shared_ptr<dlp::dlp_scanner>> out;
    if (p == nullptr || !p->dlp()) return out;
    for (unsigned w = 0; w < workers_; ++w) {
        auto made = policy::active_policy::make_dlp_scanner(p, dlp_streams_, dlp_counters_[w]);
        if (!made.scanner) {
            error = made.error;
            return {};
        }
        out.push_back(std::move(made.scanner));
    }
    return out;
}

void policy_control::start(std::unique_ptr<const policy::compiled_policy> initial, uint64_t now_ms) {
    std::string error;
    auto scanners = make_scanners(initial.get(), error);
    if (initial && initial->dlp() && scanners.empty()) throw std::runtime_error("dlp: " + error);
    {
        std::lock_guard lock(mu_);
        scanners_ = std::move(scanners);
        compiled_ = std::move(initial);
        counters_ = std::make_shared<policy::policy_counters>(compiled_ ? compiled_->rules().size() : 0);
        carried_rules_.assign(compiled_ ? compiled_->rules().size() : 0, 0);
        version_ = 1;
        loaded_unix_ms_ = now_ms;
        last_success_unix_ms_ = now_ms;
    }
    publish_current();
}

// Called on the control thread only (so blocks_, compiled_ and counters_ cannot
// change underneath); the lock is taken only to swap what status() reads.
// Returns the final hit count of every block of the previous snapshot; blocks
// still in force carry theirs over.
std::vector<std::pair<policy::cidr, uint64_t>> policy_control::publish_current() {
    std::vector<policy::block_entry> entries;
    entries.reserve(blocks_.size());
    for (const auto& b : blocks_) entries.push_back(b.entry);
    auto list = entries.empty() ? nullptr : std::make_shared<const policy::block_list>(std::move(entries));
    generation_ = static_cast<uint8_t>(generation_ % 255 + 1); // 1..255, never the previous one
    auto next = std::make_unique<policy::active_policy>(
        compiled_, counters_, std::move(list), generation_, version_, scanners_.empty() ? nullptr : scanners_[0],
        scanners_.size() > 1 ? std::vector(scanners_.begin() + 1, scanners_.end())
                             : std::vector<std::shared_ptr<dlp::dlp_scanner>>{});
    const policy::active_policy* published = next.get();
    // Returns once no worker can hold the previous snapshot: its block hits are final.
    std::unique_ptr<policy::active_policy> previous = publish_(std::move(next));
    std::vector<std::pair<policy::cidr, uint64_t>> final_hits;
    std::lock_guard lock(mu_);
    if (previous && previous->blocks) {
        const auto old = previous->blocks->entries();
        for (uint32_t i = 0; i < old.size(); ++i) {
            final_hits.emplace_back(old[i].prefix, previous->hits_of_block(i));
            const auto b = find_prefix(blocks_, old[i].prefix);
            if (b != blocks_.end()) b->carried_hits += final_hits.back().second;
        }
    }
    current_ = published;
    return final_hits;
}

// Removes the blocks pred selects, republishes, and returns them with their
// final hit counts.
template <class Pred>
std::vector<block_info> policy_control::remove_blocks(Pred pred) {
    std::vector<block_info> removed;
    {
        std::lock_guard lock(mu_);
        for (const auto& b : blocks_)
            if (pred(b.entry)) removed.push_back({b.entry.prefix, b.entry.created_unix_ms, b.entry.expires_unix_ms, b.carried_hits});
        if (removed.empty()) return removed;
        std::erase_if(blocks_, [&](const block_state& s) { return pred(s.entry); });
    }
    for (const auto& [prefix, hits] : publish_current())
        for (auto& r : removed)
            if (r.prefix == prefix) r.hits += hits;
    return removed;
}

// The workers' [limits] tables are sized at start; group limits cannot add one.
std::string policy_control::missing_source_tables(const policy::compiled_policy* next) const {
    if (next == nullptr) return {};
    if (next->has_group_limits() && !source_tables_)
        return "policy.group limits: the per-source tables were not made at start ([limits] sets no limit and the "
               "policy at start had no group limits); restart egressd to apply them";
    if (next->group_limits_per_destination() && !destination_table_)
        return "policy.group limits: max_flows_per_destination needs the per-destination table, which was not made "
               "at start; restart egressd to apply it";
    return {};
}

reload_result policy_control::reload(std::string_view trigger, uint64_t now_ms) {
    const auto t0 = std::chrono::steady_clock::now();
    reload_result r;
    // Any error keeps the running policy: counted, logged, returned.
    const auto refuse = [&](std::vector<std::string> errors) {
        r.errors = std::move(errors);
        {
            std::lock_guard lock(mu_);
            ++reloads_failed_;
            r.version = version_;
        }
        log(format_reload_event(now_ms, trigger, false, r.version, 0, 0, r.errors));
        return r;
    };
    auto loaded = policy::load_policy_file(path_, version() + 1, workers_);
    if (!loaded.errors.empty()) {
        std::vector<std::string> errors;
        for (const auto& e : loaded.errors) errors.push_back(e.to_string());
        return refuse(std::move(errors));
    }
    std::shared_ptr<const policy::compiled_policy> next =
        loaded.present ? std::shared_ptr<const policy::compiled_policy>(std::move(loaded.policy)) : nullptr;
    if (std::string why = missing_source_tables(next.get()); !why.empty())
        return refuse({fmt::format("{}: {}", path_, why)});
    std::string dlp_error;
    auto scanners = make_scanners(next.get(), dlp_error);
    if (next && next->dlp() && scanners.empty()) return refuse({fmt::format("{}: dlp: {}", path_, dlp_error)});
    std::shared_ptr<const policy::compiled_policy> old_compiled;
    std::shared_ptr<policy::policy_counters> old_counters;
    std::vector<uint64_t> old_carried_rules;
    uint64_t old_carried_default = 0;
    std::vector<std::shared_ptr<dlp::dlp_scanner>> old_scanners;
    {
        std::lock_guard lock(mu_);
        old_compiled = std::exchange(compiled_, std::move(next));
        old_counters = std::exchange(counters_, std::make_shared<policy::policy_counters>(
                                                    compiled_ ? compiled_->rules().size() : 0));
        old_carried_rules = carried_rules_;
        old_carried_default = carried_default_;
        begin_counting(old_compiled.get(), std::move(old_counters), old_carried_rules, old_carried_default);
        old_scanners = std::exchange(scanners_, std::move(scanners));
        ++version_;
        loaded_unix_ms_ = now_ms;
    }
    publish_current(); // returns after the grace period; the old snapshot is freed here
    {
        // No worker can count on the old version's counters any more.
        std::lock_guard lock(mu_);
        end_counting(old_compiled.get(), old_carried_rules, old_carried_default);
    }
    // Flows may still hold streams of the old scanner: it lives until they end.
    for (auto& old : old_scanners) retired_.retire(std::move(old));
    r.ok = true;
    r.version = version();
    r.rules = compiled_ ? compiled_->rules().size() : 0;
    r.duration_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
    {
        std::lock_guard lock(mu_);
        ++reloads_ok_;
        last_success_unix_ms_ = now_ms;
    }
    log(format_reload_event(now_ms, trigger, true, r.version, r.rules, r.duration_us, {}));
    return r;
}

dry_run_result policy_control::dry_run(const std::string& path) const {
    dry_run_result r;
    const std::string& file = path.empty() ? path_ : path;
    auto loaded = policy::load_policy_file(file, version() + 1, workers_);
    for (const auto& e : loaded.errors) r.errors.push_back(e.to_string());
    if (!r.errors.empty()) return r;
    std::shared_ptr<const policy::compiled_policy> next =
        loaded.present ? std::shared_ptr<const policy::compiled_policy>(std::move(loaded.policy)) : nullptr;
    r.version = version() + 1;
    r.rules = next ? next->rules().size() : 0;
    r.diff = diff_policies(compiled_.get(), next.get());
    r.candidate = std::make_unique<policy::active_policy>(
        next, std::make_shared<policy::policy_counters>(r.rules), current_ ? current_->blocks : nullptr, 1, r.version);
    return r;
}

policy_control::block_outcome policy_control::block(const policy::cidr& prefix, uint64_t ttl_s, uint64_t now_ms) {
    if (ttl_s > max_ttl_s) return {std::nullopt, fmt::format("ttl: expected at most {} seconds, got {}", max_ttl_s, ttl_s)};
    const uint64_t expires = ttl_s == 0 ? 0 : now_ms + ttl_s * 1000;
    const auto existing = find_prefix(blocks_, prefix);
    if (existing == blocks_.end() && blocks_.size() >= max_blocks_)
        return {std::nullopt, fmt::format("too many blocks (at most {})", max_blocks_)};
    {
        std::lock_guard lock(mu_);
        if (existing != blocks_.end()) {
            existing->entry.expires_unix_ms = expires; // same prefix: only the expiry changes
        } else {
            blocks_.insert(position_of(blocks_, prefix), block_state{policy::block_entry{prefix, now_ms, expires}, 0});
        }
    }
    publish_current();
    log(format_block_event(now_ms, "block_added", prefix, expires, 0));
    for (const auto& b : blocks())
        if (b.prefix == prefix) return {b, {}};
    return {std::nullopt, "block vanished"}; // not reached: only this thread changes blocks_
}

std::optional<block_info> policy_control::unblock(const policy::cidr& prefix, uint64_t now_ms) {
    auto removed = remove_blocks([&](const policy::block_entry& e) { return e.prefix == prefix; });
    if (removed.empty()) return std::nullopt;
    log(format_block_event(now_ms, "block_removed", prefix, 0, removed[0].hits));
    return removed[0];
}

void policy_control::expire_blocks(uint64_t now_ms) {
    for (const auto& b : remove_blocks([&](const policy::block_entry& e) { return e.expired_at(now_ms); }))
        log(format_block_event(now_ms, "block_expired", b.prefix, 0, b.hits));
}

void policy_control::tick(uint64_t now_ms) {
    expire_blocks(now_ms);
    if (retired_.size() != 0) {
        std::lock_guard lock(mu_); // status() reads retired_
        retired_.collect();
    }
}

std::vector<block_info> policy_control::blocks() const {
    std::lock_guard lock(mu_);
    std::vector<block_info> out;
    out.reserve(blocks_.size());
    for (const auto& b : blocks_) // in prefix order
        out.push_back({b.entry.prefix, b.entry.created_unix_ms, b.entry.expires_unix_ms, b.carried_hits});
    // Plus what the published snapshot has counted so far.
    if (current_ != nullptr && current_->blocks) {
        const auto entries = current_->blocks->entries();
        for (uint32_t i = 0; i < entries.size(); ++i)
            if (const auto b = find_prefix(out, entries[i].prefix); b != out.end()) b->hits += current_->hits_of_block(i);
    }
    return out;
}

policy_status policy_control::status() const {
    std::lock_guard lock(mu_);
    policy_status s;
    s.present = compiled_ != nullptr;
    s.version = version_;
    s.loaded_unix_ms = loaded_unix_ms_;
    s.source = path_;
    s.default_action = compiled_ ? compiled_->default_action() : policy::verdict::allow;
    s.default_hits = default_total();
    s.block_hits = carried_block_total_ + policy::read_counter(counters_->block_hits) +
                   (retiring_ ? policy::read_counter(retiring_->block_hits) : 0);
    s.dlp_patterns = compiled_ && compiled_->dlp() ? compiled_->dlp()->patterns().size() : 0;
    for (const auto& c : dlp_counters_) { // one per worker
        const dlp::dlp_counters& d = *c;
        s.dlp_bytes += d.bytes.load(std::memory_order_relaxed);
        s.dlp_matches += d.matches.load(std::memory_order_relaxed);
        s.dlp_validator_rejected += d.validator_rejected.load(std::memory_order_relaxed);
        s.dlp_pool_exhausted += d.pool_exhausted.load(std::memory_order_relaxed);
        s.dlp_depth_reached += d.depth_reached.load(std::memory_order_relaxed);
        s.dlp_rescans += d.rescans.load(std::memory_order_relaxed);
    }
    s.dlp_streams_held = retired_.held_streams();
    for (const auto& sc : scanners_) s.dlp_streams_held += sc->held_streams();
    if (compiled_) {
        const auto rules = compiled_->rules();
        for (uint32_t i = 0; i < rules.size(); ++i)
            s.rules.push_back({rules[i].name, rules[i].action, rules[i].mode, rules[i].line, rule_total(i)});
    }
    s.blocks_active = blocks_.size();
    s.reloads_ok = reloads_ok_;
    s.reloads_failed = reloads_failed_;
    s.last_reload_success_unix_ms = last_success_unix_ms_;
    return s;
}

std::string policy_control::series_key(std::string_view rule, policy::verdict action, policy::rule_mode mode) {
    // The label values of the series; the action label comes first and has no ':',
    // so no two series share a key whatever their names hold.
    const std::string_view label = mode == policy::rule_mode::report ? "report" : policy::to_string(action);
    return fmt::format("{}:{}", label, rule);
}

std::string policy_control::default_key(policy::verdict action) {
    return series_key("default", action, policy::rule_mode::enforce);
}

void policy_control::begin_counting(const policy::compiled_policy* old,
                                    std::shared_ptr<policy::policy_counters> old_counters,
                                    const std::vector<uint64_t>& old_carried_rules, uint64_t old_carried_default) {
    std::map<std::string, uint32_t> old_index; // series key -> index in old->rules()
    if (old != nullptr) {
        const auto rules = old->rules();
        for (uint32_t j = 0; j < rules.size(); ++j) old_index.emplace(series_key(rules[j].name, rules[j].action, rules[j].mode), j);
    }
    const std::size_t n = compiled_ ? compiled_->rules().size() : 0;
    carried_rules_.assign(n, 0);
    retiring_map_.assign(n, policy::no_rule);
    for (uint32_t i = 0; i < n; ++i) {
        const auto& rule = compiled_->rules()[i];
        const std::string key = series_key(rule.name, rule.action, rule.mode);
        if (const auto j = old_index.find(key); j != old_index.end()) {
            retiring_map_[i] = j->second;
            carried_rules_[i] = old_carried_rules[j->second];
        } else if (const auto t = retired_totals_.find(key); t != retired_totals_.end()) {
            carried_rules_[i] = t->second;
        }
    }
    retiring_default_ = old != nullptr && compiled_ && old->default_action() == compiled_->default_action();
    carried_default_ = 0;
    if (retiring_default_) {
        carried_default_ = old_carried_default;
    } else if (compiled_) {
        const auto t = retired_totals_.find(default_key(compiled_->default_action()));
        if (t != retired_totals_.end()) carried_default_ = t->second;
    }
    retiring_ = std::move(old_counters);
}

void policy_control::end_counting(const policy::compiled_policy* old, const std::vector<uint64_t>& old_carried_rules,
                                  uint64_t old_carried_default) {
    std::vector<bool> kept(old != nullptr ? old->rules().size() : 0, false);
    for (std::size_t i = 0; i < retiring_map_.size(); ++i) {
        if (retiring_map_[i] == policy::no_rule) continue;
        kept[retiring_map_[i]] = true;
        carried_rules_[i] += policy::read_counter(retiring_->rule_hits[retiring_map_[i]]);
    }
    const uint64_t old_default = policy::read_counter(retiring_->default_hits);
    if (retiring_default_) carried_default_ += old_default;
    if (old != nullptr) {
        const auto rules = old->rules();
        for (uint32_t j = 0; j < rules.size(); ++j)
            if (!kept[j])
                retired_totals_[series_key(rules[j].name, rules[j].action, rules[j].mode)] =
                    old_carried_rules[j] + policy::read_counter(retiring_->rule_hits[j]);
        if (!retiring_default_) retired_totals_[default_key(old->default_action())] = old_carried_default + old_default;
    }
    // Live series are counted in carried_rules_ / carried_default_, not here.
    if (compiled_) {
        for (const auto& rule : compiled_->rules()) retired_totals_.erase(series_key(rule.name, rule.action, rule.mode));
        retired_totals_.erase(default_key(compiled_->default_action()));
    }
    carried_block_total_ += policy::read_counter(retiring_->block_hits);
    retiring_.reset();
    retiring_map_.clear();
    retiring_default_ = false;
}

uint64_t policy_control::rule_total(uint32_t rule) const {
    uint64_t total = carried_rules_[rule] + policy::read_counter(counters_->rule_hits[rule]);
    if (retiring_ && retiring_map_[rule] != policy::no_rule)
        total += policy::read_counter(retiring_->rule_hits[retiring_map_[rule]]);
    return total;
}

uint64_t policy_control::default_total() const {
    return carried_default_ + policy::read_counter(counters_->default_hits) +
           (retiring_ && retiring_default_ ? policy::read_counter(retiring_->default_hits) : 0);
}

uint64_t policy_control::version() const {
    std::lock_guard lock(mu_);
    return version_;
}

} // namespace egress::controlplane
