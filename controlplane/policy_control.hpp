// The control plane's side of the policy: what is in force (the compiled
// [policy] of the config file and the emergency blocks), how it changes (reload,
// block, unblock, block expiry) and what it has decided so far. DPDK-free: it
// hands every new snapshot to a publisher (dataplane/policy_slot: RCU publish,
// then the grace period) and gets the previous one back once no worker can
// still be using it.
//
// Threads: every mutating call is made by the control thread; status() and
// blocks() may also be called by the metrics thread (a mutex guards what they
// read; the packet path never takes it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "event_log.hpp"
#include "policy_dry_run.hpp"
#include "policy/active_policy.hpp"

namespace egress::controlplane {

struct block_info {
    policy::cidr prefix;
    uint64_t created_unix_ms = 0;
    uint64_t expires_unix_ms = 0; // 0: never
    uint64_t hits = 0;            // flows denied or cut by this block
};

struct rule_status {
    std::string name;
    policy::verdict action = policy::verdict::deny;
    policy::rule_mode mode = policy::rule_mode::enforce;
    uint32_t line = 0;
    uint64_t hits = 0;
};

struct policy_status {
    bool present = false;           // the config has a [policy] table
    uint64_t version = 0;
    uint64_t loaded_unix_ms = 0;
    std::string source;
    policy::verdict default_action = policy::verdict::allow;
    uint64_t default_hits = 0;
    uint64_t block_hits = 0;
    std::vector<rule_status> rules;
    std::size_t blocks_active = 0;
    uint64_t reloads_ok = 0;
    uint64_t reloads_failed = 0;
    uint64_t last_reload_success_unix_ms = 0; // the initial load counts as a success
    // DLP ([[dlp.pattern]]): the worker's counters since start.
    std::size_t dlp_patterns = 0;
    uint64_t dlp_bytes = 0;
    uint64_t dlp_matches = 0;
    uint64_t dlp_validator_rejected = 0;
    uint64_t dlp_pool_exhausted = 0;
    uint64_t dlp_depth_reached = 0;
    uint64_t dlp_rescans = 0; // retransmitted copies scanned again (stream normalisation)
    uint64_t dlp_streams_held = 0; // streams lent to flows now, retired scanners included
};

struct reload_result {
    bool ok = false;
    uint64_t version = 0; // active after the call
    std::size_t rules = 0;
    uint64_t duration_us = 0;
    std::vector<std::string> errors; // file:line:col: key: ...
};

// What a reload of a file would do (reload --dry-run), nothing applied.
struct dry_run_result {
    std::vector<std::string> errors; // as reload_result::errors; then nothing else is set
    uint64_t version = 0;            // the version the reload would make active
    std::size_t rules = 0;
    policy_diff diff;                // against the policy in force
    // The snapshot the reload would publish (the emergency blocks in force
    // included), for evaluating live flows; never published.
    std::unique_ptr<policy::active_policy> candidate;
};

class policy_control {
public:
    static constexpr std::size_t default_max_blocks = 10000;
    static constexpr uint64_t max_ttl_s = 31'536'000; // one year

    // Publishes next, waits until no worker can use the previous snapshot, returns it.
    using publisher = std::function<std::unique_ptr<policy::active_policy>(std::unique_ptr<policy::active_policy>)>;

    // path: the config file whose [policy] reload() reads. log may be null.
    policy_control(std::string path, publisher publish, event_log* log);

    // Emergency blocks in force at once (each change rebuilds the block list:
    // about 6 ms per change at 10,000 blocks).
    void set_max_blocks(std::size_t n) noexcept { max_blocks_ = n; }
    std::size_t max_blocks() const noexcept { return max_blocks_; }

    // DLP streams per scanner (the flows one worker inspects at once); set before start().
    void set_dlp_streams(uint32_t streams) noexcept { dlp_streams_ = streams; }
    // Which [limits] tables the workers have (sized at start): a reloaded
    // policy whose [[policy.group]] limits need one that is missing is refused.
    void set_source_tables(bool sources, bool destinations) noexcept {
        source_tables_ = sources;
        destination_table_ = destinations;
    }
    // Worker threads (set before start()): each gets its own DLP scanner and
    // counters, and reloaded policies get one hostname-matcher scratch per worker.
    void set_workers(unsigned workers);

    // The policy loaded at start-up (null: no [policy]), version 1. Throws
    // std::runtime_error when its DLP scanner cannot be created.
    void start(std::unique_ptr<const policy::compiled_policy> initial, uint64_t now_ms);

    // Re-reads the [policy] of the file; on any error keeps the running policy.
    reload_result reload(std::string_view trigger, uint64_t now_ms);
    // Reads the [policy] of path (empty: the config file) as reload() would and
    // compares it with the policy in force; publishes and counts nothing.
    // Control thread only.
    dry_run_result dry_run(const std::string& path = {}) const;

    // Blocks every destination in prefix (ttl_s 0: until unblocked); blocking a
    // CIDR already blocked sets its new expiry. Returns the entry, or the reason it
    // was refused.
    struct block_outcome {
        std::optional<block_info> block;
        std::string error;
    };
    block_outcome block(const policy::cidr& prefix, uint64_t ttl_s, uint64_t now_ms);
    std::optional<block_info> unblock(const policy::cidr& prefix, uint64_t now_ms);
    // Removes the blocks whose time is up (the control thread calls it often).
    void expire_blocks(uint64_t now_ms);
    // The control thread's periodic work: expire blocks, free retired DLP
    // scanners no flow uses any more.
    void tick(uint64_t now_ms);

    std::vector<block_info> blocks() const;
    policy_status status() const;
    // The snapshot in force (null before start()). Control thread only: only it
    // publishes, so the snapshot lives at least until its next call.
    const policy::active_policy* current() const noexcept { return current_; }
    const std::string& path() const noexcept { return path_; }
    uint64_t version() const;

private:
    struct block_state {
        policy::block_entry entry;
        uint64_t carried_hits = 0; // counted by snapshots already retired
    };

    // Builds the snapshot of (compiled_, blocks_) and publishes it.
    std::vector<std::pair<policy::cidr, uint64_t>> publish_current();
    template <class Pred>
    std::vector<block_info> remove_blocks(Pred pred);
    void log(const std::string& line);

    // Counters that survive reloads. A series is a rule name with its action
    // label (as egress_policy_decisions_total shows it: allow, deny, report; the
    // default action under "default"); a reloaded policy continues the total of
    // every series it keeps, a removed series stops, and one that comes back later
    // continues from where it stopped. So a counter goes down only on restart.
    static std::string series_key(std::string_view rule, policy::verdict action, policy::rule_mode mode);
    static std::string default_key(policy::verdict action);
    // Opens the series of compiled_ (under mu_), counting on from old's: carried_
    // and retiring_ are set for the grace period of the reload.
    void begin_counting(const policy::compiled_policy* old, std::shared_ptr<policy::policy_counters> old_counters,
                        const std::vector<uint64_t>& old_carried_rules, uint64_t old_carried_default);
    // After the grace period (under mu_): old's counts are final; they move into
    // carried_ (kept series) or retired_totals_ (series that stop).
    void end_counting(const policy::compiled_policy* old, const std::vector<uint64_t>& old_carried_rules,
                      uint64_t old_carried_default);
    uint64_t rule_total(uint32_t rule) const;   // under mu_
    uint64_t default_total() const;              // under mu_

    std::string path_;
    publisher publish_;
    event_log* log_;
    uint8_t generation_ = 0;

    mutable std::mutex mu_; // guards everything below
    std::shared_ptr<const policy::compiled_policy> compiled_;
    std::shared_ptr<policy::policy_counters> counters_;
    uint64_t carried_block_total_ = 0; // emergency-block hits counted under earlier policy versions
    // What earlier versions counted in the series of compiled_'s rules (index as
    // in compiled_->rules()) and of its default action.
    std::vector<uint64_t> carried_rules_;
    uint64_t carried_default_ = 0;
    // During a reload's grace period the workers may still count on the previous
    // version's counters: status() adds them in (retiring_map_[i]: the previous
    // index of rule i's series, or no_rule), so no total ever goes down.
    std::shared_ptr<policy::policy_counters> retiring_;
    std::vector<uint32_t> retiring_map_;
    bool retiring_default_ = false; // the default series is the same in both versions
    // Final totals of the series no published version has (removed rules).
    std::map<std::string, uint64_t> retired_totals_;
    std::string missing_source_tables(const policy::compiled_policy* next) const;
    uint32_t dlp_streams_ = 1024;
    bool source_tables_ = true;
    bool destination_table_ = true;
    std::size_t max_blocks_ = default_max_blocks;
    unsigned workers_ = 1;
    // Per worker (index = worker): DLP counters, and the scanners for compiled_'s
    // DLP patterns (empty: none).
    std::vector<std::shared_ptr<dlp::dlp_counters>> dlp_counters_{std::make_shared<dlp::dlp_counters>()};
    std::vector<std::shared_ptr<dlp::dlp_scanner>> scanners_;
    // One scanner per worker for p's DLP patterns (empty when none); error set on failure.
    std::vector<std::shared_ptr<dlp::dlp_scanner>> make_scanners(const policy::compiled_policy* p,
                                                                     std::string& error) const;
    dlp::dlp_retired_scanners retired_;
    std::vector<block_state> blocks_;
    const policy::active_policy* current_ = nullptr; // the published snapshot (owned by the slot)
    uint64_t version_ = 0;
    uint64_t loaded_unix_ms_ = 0;
    uint64_t reloads_ok_ = 0;
    uint64_t reloads_failed_ = 0;
    uint64_t last_success_unix_ms_ = 0;
};

} // namespace egress::controlplane
