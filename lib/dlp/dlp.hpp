// Streaming DLP (data loss prevention) on Hyperscan: regular expressions over the
// payload byte stream of each flow direction, matches across segment boundaries
// included, with start and end offsets, an optional validator (Luhn) and a masked
// sample for the security event. DPDK-free.
//
// Pieces and who uses them
//   dlp_pattern        what the config loader produces, one per [[dlp.pattern]].
//   dlp_database       control plane: every pattern compiled (Hyperscan stream
//                      mode, HS_FLAG_SOM_LEFTMOST) into one database per data
//                      direction (see "Databases" below). Immutable, shared by
//                      all workers. Building allocates; errors name the pattern.
//   dlp_scanner        one per worker per database, created on the control plane:
//                      the worker's Hyperscan scratch, a fixed pool of pre-opened
//                      streams per direction (max_streams: the cap on flows this
//                      worker inspects at once, i.e. the stream-state memory cap),
//                      one extra stream per direction for datagrams, the
//                      inspection depth. Its data-path calls (scan, scan_datagram,
//                      finish, release) never allocate, lock, log, throw or exit.
//                      Not thread-safe: one worker uses it (held_streams() is the
//                      exception, the control thread reads it).
//   dlp_flow_state     per-flow state (fixed size, trivially copyable while it
//                      holds no stream): the stream slot per direction, the bytes
//                      inspected per direction, the last dlp_history_bytes bytes
//                      scanned per direction and a few recent reports (duplicate
//                      suppression). The integrator keeps one per inspected flow in
//                      a fixed array; a new flow starts from dlp_flow_state{}.
//                      232 bytes (plus Hyperscan's stream state, in the pool:
//                      dlp_database::stream_bytes(), ~180 bytes for 16 patterns).
//   dlp_retired_scanners  control plane: keeps a replaced scanner (and so its
//                      database, pools and scratch) alive until no flow holds one
//                      of its streams.
//
// Databases: one Hyperscan stream-mode database per data direction. A pattern
// with direction `both` is compiled into both; `outbound` (the default) only
// into the outbound one. Each byte is scanned against exactly one database (one
// pass over all the patterns of its direction), and with the usual outbound-only
// pattern set inbound bytes are not scanned at all and hold no stream. Pattern
// indexes (dlp_match::pattern) are the positions in the list given to build(),
// whatever database matched. Mode: HS_MODE_STREAM | HS_MODE_SOM_HORIZON_SMALL by
// default (start offsets exact for matches up to 64 KiB long; a longer match is
// reported with start = dlp_unknown_offset); dlp_build_options::som_horizon picks
// medium (4 GiB) or large (exact) at the cost of stream state.
//
// Streams without allocation: hs_open_stream allocates, so every stream a worker
// can ever use is opened when its scanner is created. A flow's first payload in a
// direction takes a stream from the pool (an index free list; streams go back
// reset with hs_reset_stream, which does not allocate). An empty pool fails the
// acquisition: scan() returns dlp_scan_status::no_stream once, the direction is
// then not inspected for the rest of the flow (no retry, so a flow is never
// inspected from the middle), and the caller applies fail-open or fail-closed.
//
// Offsets: each direction is its own byte stream; offsets count the bytes given to
// this scanner for that direction since the flow's first (dlp_flow_state::dir
// [d].offset). Payload must be given in order, without overlap or gaps (the
// caller handles retransmissions and reordering).
//
// Depth: dlp_scanner_config::depth_bytes limits the bytes inspected per direction
// per flow. The call that reaches it scans up to the limit, releases the stream
// (without end-of-data matches: the data did not end there) and returns
// dlp_scan_status::depth_reached; later calls return not_inspected.
//
// End of data: some matches can only be decided at the end of the data (a
// trailing \b or $: a card number that is the last thing a client sends). finish()
// (FIN, or the flow ending normally) reports them and releases the stream;
// release() (flow cut or expired, or a slot being reused) releases without them.
// Every flow state that holds a stream must see finish() or release() before it
// is reused or forgotten, or the stream is lost to the pool (and a retired scanner
// is never freed).
//
// Datagrams (UDP): scan_datagram() scans one datagram as a whole, on a stream
// reserved for datagrams in the scanner (not from the pool, so datagrams never
// compete with TCP flows for streams): scan, then hs_reset_stream with the match
// callback (end-of-data matches count: the datagram did end). No match spans two
// datagrams. Offsets and depth still count per flow direction; no stream is held
// between datagrams, so datagram flows never bind to a scanner. A direction is
// either a stream (scan(), finish()) or datagrams (scan_datagram()), whichever
// call came first; the other kind of call then returns not_inspected.
//
// Reload: a flow binds to the scanner that gave it its first stream
// (dlp_flow_state::scanner) and is inspected by that scanner's patterns until its
// streams are released (a stream's state belongs to its database; it cannot
// continue under another). scan()/finish() called on the new scanner with a flow
// bound to an older one forward to the older one. The integrator may instead
// release() the flow to drop it from inspection at a reload. An old scanner must
// therefore outlive the streams it lent: each scanner counts its held streams
// (atomic, written by the worker, read by the control thread); when the RCU grace
// period that unpublishes a scanner has passed, the control thread hands it to
// dlp_retired_scanners::retire(), and collect() (every control tick) frees it once
// held_streams() is 0. After the grace period the worker reaches the old scanner
// only through flows bound to it, i.e. flows holding one of its streams (such a
// flow may still take a second stream, for its other direction, while the count
// is above 0); so once the count is 0 it stays 0 and freeing is safe. The worker's
// last access to a scanner when releasing a stream is the count's decrement
// (release order; collect() reads it with acquire). Memory during the overlap:
// old and new pools both exist (2 x the stream-state cap at worst).
//
// Match reports (dlp_match): the pattern, direction, start offset and length, and
// a masked sample. Hyperscan reports every end position of a pattern with its
// leftmost start; the scanner suppresses a report whose pattern matches a range
// that starts before the end of a range that pattern already reported in the same
// direction (the last dlp_recent_reports reports per direction are remembered),
// so "4111 1111 1111 1111" followed by " x" is one report, not one per possible
// end. A pattern with a validator is reported only if the validator accepts the
// matched bytes; a rejection is counted (validator_rejected), as is a match whose
// bytes are no longer available to validate (validator_unverifiable: longer than
// dlp_history_bytes and not within the current segment; cannot happen for a
// 13-19-digit card number).
//
// Masked sample (dlp_sample, at most 28 bytes, printable ASCII): the match's
// first two and last two characters with each character in between replaced by
// '*', so "4111111111111111" -> "41************11" and "4111 1111 1111 1111" ->
// "41***************11". At most dlp_sample_max_stars stars: a longer match keeps
// 24 (dlp_match::length has the true length), e.g. a 31-character PEM header
// -> "--************************--". Matches of 4 to 7 characters keep one real
// character at each end ("AB1234" -> "A****4"), shorter ones none ("abc" -> "***").
// So a sample never shows more than 4 real characters. A kept character that is no
// longer available (the match started more than dlp_history_bytes before the
// current segment) is shown as '?', a non-printable byte as '.'. A match whose
// start is beyond the SOM horizon: "??", 24 stars, its last two characters.
//
// The sink: scan() calls the sink for each report, synchronously, inside the
// Hyperscan callback. The sink must not throw and must not call back into the
// scanner; it should copy what it needs (e.g. into a security event) and return.
//
// Limitations
//   * Hyperscan syntax: no back-references, no lookaround or other zero-width
//     assertions besides \b ^ $ (errors name the pattern); patterns that can
//     match the empty string are rejected.
//   * Start of match (SOM) has its own limits: some patterns that compile without
//     it fail with it ("Pattern is too large.", e.g. (a|aa)*b.{100}c); the error
//     names the pattern. SOM also adds stream state (the 16-pattern set of
//     bench/dlp_bench.cpp: ~182 bytes per stream with the small horizon).
//   * One report per end offset, with the leftmost start: for \b(?:\d[ -]?){13,19}\b
//     in "123 4111111111111111" the match is all 19 digits (Luhn fails), not the
//     16-digit card inside it, which is then not reported.
//   * Cost: a pattern without a literal to anchor on, such as the generic card
//     number regex above, makes Hyperscan examine every digit of digit-heavy text
//     and dominates the scan time. bench/dlp_bench.cpp, 16 patterns, 1,460-byte
//     segments, one core: 2.6 Gbps with that card regex, 5.6 Gbps with an
//     issuer-anchored one, 20 Gbps with no card pattern.
//   * Matches cut by the depth limit are lost; so are end-of-data matches at the
//     depth, and matches spanning two datagrams.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

struct hs_database;
struct hs_scratch;
struct hs_stream;

namespace egress::dlp {

enum class dlp_severity : uint8_t { low, medium, high, critical };
enum class dlp_action : uint8_t { alert, block };
enum class dlp_validator : uint8_t { none, luhn };
// Which data a pattern applies to.
enum class dlp_pattern_direction : uint8_t { outbound, inbound, both };
// Which way a segment travels: outbound = from the inside host (client) out.
enum class dlp_direction : uint8_t { outbound = 0, inbound = 1 };

std::string_view to_string(dlp_severity s) noexcept;
std::string_view to_string(dlp_action a) noexcept;
std::string_view to_string(dlp_validator v) noexcept;
std::string_view to_string(dlp_pattern_direction d) noexcept;
std::string_view to_string(dlp_direction d) noexcept;

struct dlp_pattern {
    std::string name;
    std::string regex; // Hyperscan (PCRE subset) syntax; see Limitations above
    bool caseless = false;
    bool dotall = false;
    bool multiline = false;
    dlp_severity severity = dlp_severity::medium;
    dlp_action action = dlp_action::alert;
    dlp_validator validator = dlp_validator::none;
    dlp_pattern_direction direction = dlp_pattern_direction::outbound;
};

// Luhn validator for card numbers: true iff text holds 13 to 19 decimal digits,
// possibly separated by spaces and dashes (any other byte: false), whose Luhn
// checksum is valid.
bool luhn_valid(std::string_view text) noexcept;
// The plain Luhn checksum over a string of digits only (at least 2): true iff valid.
bool luhn_checksum_ok(std::string_view digits) noexcept;

constexpr uint32_t dlp_no_pattern = std::numeric_limits<uint32_t>::max();
constexpr uint64_t dlp_unknown_offset = std::numeric_limits<uint64_t>::max();
constexpr std::size_t dlp_max_patterns = 65535;
constexpr std::size_t dlp_history_bytes = 64;
constexpr std::size_t dlp_recent_reports = 4;
constexpr std::size_t dlp_sample_max_stars = 24;

enum class dlp_som_horizon : uint8_t {
    small,  // 2^16 bytes: least stream state (default)
    medium, // 2^32 bytes
    large,  // exact
};

struct dlp_build_options {
    dlp_som_horizon som_horizon = dlp_som_horizon::small;
};

class dlp_database;

struct dlp_build_result {
    std::shared_ptr<const dlp_database> database; // null on error
    // Why not: `pattern "aws-key": <Hyperscan message>` when one pattern is at
    // fault (its index in `pattern`), else a message about the whole set.
    std::string error;
    uint32_t pattern = dlp_no_pattern;
};

class dlp_database {
public:
    // Compiles the patterns (control plane; allocates). An empty list gives a
    // database that inspects nothing. At most dlp_max_patterns patterns.
    static dlp_build_result build(std::vector<dlp_pattern> patterns, const dlp_build_options& options = {});

    ~dlp_database();
    dlp_database(const dlp_database&) = delete;
    dlp_database& operator=(const dlp_database&) = delete;

    std::span<const dlp_pattern> patterns() const noexcept { return patterns_; }
    // Are there patterns for data travelling in direction d?
    bool inspects(dlp_direction d) const noexcept { return db_[index(d)] != nullptr; }
    // Hyperscan stream state per stream of direction d (0 if none).
    std::size_t stream_bytes(dlp_direction d) const noexcept { return stream_bytes_[index(d)]; }
    // The compiled databases' size.
    std::size_t database_bytes() const noexcept;

    // For the scanner.
    const hs_database* hs(dlp_direction d) const noexcept { return db_[index(d)]; }
    dlp_validator validator(uint32_t pattern) const noexcept { return validators_[pattern]; }

private:
    dlp_database() = default;
    static constexpr std::size_t index(dlp_direction d) noexcept { return static_cast<std::size_t>(d); }

    std::vector<dlp_pattern> patterns_;
    std::vector<dlp_validator> validators_;
    hs_database* db_[2] = {nullptr, nullptr};
    std::size_t stream_bytes_[2] = {0, 0};
};

// A masked sample: see the header comment. Not NUL-terminated; use view().
struct dlp_sample {
    std::array<char, 4 + dlp_sample_max_stars> text{};
    uint8_t size = 0;
    std::string_view view() const noexcept { return {text.data(), size}; }
};

// The sample of a match from its bytes: text holds the match (length bytes); use
// '?' in text for unknown bytes that the caller could not recover.
dlp_sample make_masked_sample(std::string_view text) noexcept;

struct dlp_match {
    const dlp_database* database = nullptr; // the database that matched (pattern indexes refer to it)
    uint32_t pattern = dlp_no_pattern;      // index into database->patterns()
    dlp_direction direction = dlp_direction::outbound;
    dlp_severity severity = dlp_severity::medium; // copies of the pattern's
    dlp_action action = dlp_action::alert;
    uint64_t start = 0;  // offset of the first matched byte in this direction's stream
                         // (dlp_unknown_offset: beyond the SOM horizon)
    uint64_t end = 0;    // offset after the last matched byte
    dlp_sample sample;
    uint64_t length() const noexcept { return start == dlp_unknown_offset ? 0 : end - start; }
    const dlp_pattern& info() const noexcept { return database->patterns()[pattern]; }
};

// A non-owning reference to a callable void(const dlp_match&) (no allocation).
// The callable must outlive the call it is passed to (a lambda written in the
// argument list does).
class dlp_match_sink {
public:
    template <class F>
        requires(!std::is_same_v<std::remove_cvref_t<F>, dlp_match_sink> &&
                 std::is_invocable_v<std::remove_reference_t<F>&, const dlp_match&>)
    dlp_match_sink(F&& f) noexcept // NOLINT(google-explicit-constructor)
        : ctx_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
          fn_([](void* c, const dlp_match& m) { (*static_cast<std::remove_reference_t<F>*>(c))(m); }) {}
    void operator()(const dlp_match& m) const { fn_(ctx_, m); }

private:
    void* ctx_;
    void (*fn_)(void*, const dlp_match&);
};

// Per direction state of an inspected flow.
enum class dlp_stream_status : uint8_t {
    idle,        // nothing inspected yet
    active,      // holds a stream (slot)
    done,        // finished (finish()/release())
    datagram,    // inspected per datagram (scan_datagram()); holds no stream
    depth,       // inspection depth reached
    no_stream,   // the pool was empty at the first payload
    no_patterns, // the flow's database has no patterns for this direction
    error,       // a Hyperscan runtime error (counted); not inspected further
};
std::string_view to_string(dlp_stream_status s) noexcept;

struct dlp_direction_state {
    uint64_t offset = 0;              // bytes of this direction inspected (offset of the next byte)
    uint32_t slot = 0;                // the pool slot while status == active
    dlp_stream_status status = dlp_stream_status::idle;
    uint8_t history_size = 0;         // valid bytes in history: offsets [offset - history_size, offset)
    uint8_t recent_next = 0;          // next recent[] entry to overwrite
    std::array<uint8_t, dlp_history_bytes> history{};
    // Recent reports, for duplicate suppression: (pattern + 1) << 48 | end, 0 = empty.
    std::array<uint64_t, dlp_recent_reports> recent{};
};

class dlp_scanner;

struct dlp_flow_state {
    dlp_scanner* scanner = nullptr; // the scanner whose streams this flow holds (null: none)
    std::array<dlp_direction_state, 2> dir{};

    dlp_direction_state& of(dlp_direction d) noexcept { return dir[static_cast<std::size_t>(d)]; }
    const dlp_direction_state& of(dlp_direction d) const noexcept { return dir[static_cast<std::size_t>(d)]; }
    bool holds_stream() const noexcept { return scanner != nullptr; }
};

// Stream normalisation: a TCP segment's bytes at stream offset `at` against
// the bytes of the direction already scanned (dlp_direction_state::offset).
enum class dlp_overlap : uint8_t {
    none,         // nothing of it was scanned before
    same,         // it repeats scanned bytes, all compared (the last dlp_history_bytes) and equal
    differs,      // a byte differs from the scanned one at its offset
    uncomparable, // the compared bytes are equal, but some are older than the history
};
dlp_overlap compare_scanned(const dlp_direction_state& st, uint64_t at, std::span<const uint8_t> bytes) noexcept;

enum class dlp_scan_status : uint8_t {
    scanned,       // the payload was scanned (matches, if any, went to the sink)
    depth_reached, // this call reached the depth: scanned up to it, stream released
    no_stream,     // the pool was empty: this direction of the flow is not inspected
    not_inspected, // nothing done: no patterns for the direction, or depth reached,
                   // no stream or an error on an earlier call, or after finish()
    error,         // a Hyperscan runtime error: stream released, direction not inspected
};
std::string_view to_string(dlp_scan_status s) noexcept;

struct dlp_scan_result {
    dlp_scan_status status = dlp_scan_status::not_inspected;
    uint32_t matches = 0;            // reports given to the sink
    uint32_t validator_rejected = 0; // matches a validator rejected (not reported)
};

// Per worker, single writer (the worker; relaxed stores), read by any thread.
// Shared by the scanners one worker uses across reloads.
struct dlp_counters {
    std::atomic<uint64_t> segments{0};           // scan() calls that scanned bytes
    std::atomic<uint64_t> datagrams{0};          // scan_datagram() calls that scanned bytes
    std::atomic<uint64_t> bytes{0};              // bytes scanned
    std::atomic<uint64_t> matches{0};            // reports given to sinks
    std::atomic<uint64_t> validator_rejected{0}; // validator said no
    std::atomic<uint64_t> validator_unverifiable{0}; // match bytes no longer available
    std::atomic<uint64_t> duplicates{0};         // reports suppressed as overlapping an earlier one
    std::atomic<uint64_t> streams_acquired{0};
    std::atomic<uint64_t> streams_released{0};
    std::atomic<uint64_t> pool_exhausted{0};     // flow directions not inspected: pool empty
    std::atomic<uint64_t> depth_reached{0};      // flow directions that reached the depth
    std::atomic<uint64_t> scan_errors{0};        // Hyperscan runtime errors
    std::atomic<uint64_t> rescans{0};            // rescan() calls: retransmitted copies scanned again
};

struct dlp_scanner_config {
    // Streams per inspected direction: how many flows this scanner inspects at
    // once (the per-worker share of the global cap on inspected flows).
    uint32_t max_streams = 0;
    // Bytes inspected per direction per flow; 0: no limit.
    uint64_t depth_bytes = 0;
    // Null: the scanner makes its own.
    std::shared_ptr<dlp_counters> counters;
};

struct dlp_scanner_result {
    std::shared_ptr<dlp_scanner> scanner; // null on error
    std::string error;
};

// A fixed pool of pre-opened streams for one database: an index free list.
// acquire() and release() are the worker's (single-threaded, no allocation);
// held() may be read by any thread.
class dlp_stream_pool {
public:
    static constexpr uint32_t none = std::numeric_limits<uint32_t>::max();

    dlp_stream_pool() = default;
    ~dlp_stream_pool();
    dlp_stream_pool(const dlp_stream_pool&) = delete;
    dlp_stream_pool& operator=(const dlp_stream_pool&) = delete;

    // Opens `capacity` streams of db (control plane; allocates). False (and the
    // pool empty) if Hyperscan fails; error says why.
    bool open(const hs_database* db, uint32_t capacity, std::string& error);

    // A free slot, or none when all are held.
    uint32_t acquire() noexcept;
    // Gives a slot back; its stream must already be reset.
    void release(uint32_t slot) noexcept;
    hs_stream* stream(uint32_t slot) const noexcept { return streams_[slot]; }

    uint32_t capacity() const noexcept { return static_cast<uint32_t>(streams_.size()); }
    uint32_t available() const noexcept { return free_count_; }
    uint32_t held() const noexcept { return held_.load(std::memory_order_acquire); }

private:
    std::vector<hs_stream*> streams_;
    std::vector<uint32_t> free_; // stack of free slots, free_[0..free_count_)
    uint32_t free_count_ = 0;
    std::atomic<uint32_t> held_{0};
};

class dlp_scanner {
public:
    // Control plane: the worker's scratch and streams for db (allocates:
    // max_streams streams per direction the database inspects, one datagram
    // stream per such direction, one scratch).
    static dlp_scanner_result create(std::shared_ptr<const dlp_database> db, const dlp_scanner_config& config);

    ~dlp_scanner();
    dlp_scanner(const dlp_scanner&) = delete;
    dlp_scanner& operator=(const dlp_scanner&) = delete;

    // Scans the next in-order payload of direction d of the flow (acquiring a
    // stream on its first payload). Reports go to sink. A flow bound to another
    // scanner is forwarded to it.
    dlp_scan_result scan(dlp_flow_state& flow, dlp_direction d, std::span<const uint8_t> payload,
                         dlp_match_sink sink) noexcept;
    // A TCP segment that carries bytes of direction d already scanned (a
    // retransmission, from stream offset `at`, before the direction's offset),
    // whose first copy can no longer be compared byte for byte: its bytes are
    // scanned again, on their own (the scanner's datagram stream), so every
    // copy of a byte is inspected whichever copy the receiver keeps. Matches
    // go to the sink with their stream offsets; one that overlaps a recent
    // report of the same pattern (a faithful copy of a reported match) is a
    // duplicate. No end-of-data matches: the data did not end there. Only for
    // a direction that holds a stream (status active); not_inspected otherwise.
    dlp_scan_result rescan(dlp_flow_state& flow, dlp_direction d, uint64_t at, std::span<const uint8_t> payload,
                           dlp_match_sink sink) noexcept;
    // Scans one datagram of direction d as a whole (see the header comment).
    dlp_scan_result scan_datagram(dlp_flow_state& flow, dlp_direction d, std::span<const uint8_t> payload,
                                  dlp_match_sink sink) noexcept;
    // Direction d's data ended: reports its end-of-data matches, releases its stream.
    dlp_scan_result finish(dlp_flow_state& flow, dlp_direction d, dlp_match_sink sink) noexcept;
    // Releases the flow's streams without reports (flow cut, expired, slot reuse).
    // Forwarded to the scanner the flow is bound to. Offsets are kept; directions
    // that held a stream become done.
    static void release(dlp_flow_state& flow) noexcept;

    const dlp_database& database() const noexcept { return *db_; }
    const std::shared_ptr<const dlp_database>& database_ptr() const noexcept { return db_; }
    const dlp_scanner_config& config() const noexcept { return config_; }
    dlp_counters& counters() const noexcept { return *config_.counters; }
    const dlp_stream_pool& pool(dlp_direction d) const noexcept { return pools_[static_cast<std::size_t>(d)]; }

    // Streams lent to flows, both directions (any thread).
    uint32_t held_streams() const noexcept;
    // The stream-state memory of the pools and datagram streams (Hyperscan's
    // stream size times their count), and the scratch size.
    std::size_t stream_memory_bytes() const noexcept;
    std::size_t scratch_bytes() const noexcept { return scratch_bytes_; }

private:
    struct scan_context;
    dlp_scanner() = default;
    static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void* ctx);
    void release_direction(dlp_flow_state& flow, dlp_direction d, scan_context* eod) noexcept;
    void unbind_if_idle(dlp_flow_state& flow) noexcept;

    std::shared_ptr<const dlp_database> db_;
    dlp_scanner_config config_; // config_.counters is never null
    hs_scratch* scratch_ = nullptr;
    std::size_t scratch_bytes_ = 0;
    dlp_stream_pool pools_[2];
    hs_stream* datagram_[2] = {nullptr, nullptr};
};

// Control thread: scanners replaced by a reload, kept until no flow holds one of
// their streams. retire() only after the RCU grace period that unpublished the
// scanner (so the worker can no longer acquire from it).
class dlp_retired_scanners {
public:
    void retire(std::shared_ptr<dlp_scanner> scanner);
    // Drops the retired scanners that hold no stream (freeing them unless
    // referenced elsewhere); returns how many were dropped.
    std::size_t collect();
    std::size_t size() const noexcept { return retired_.size(); }
    // Streams still held by retired scanners.
    uint64_t held_streams() const noexcept;

private:
    std::vector<std::shared_ptr<dlp_scanner>> retired_;
};

} // namespace egress::dlp
