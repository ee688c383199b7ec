// verify = "resolve" (issue 16): egressd's own DNS lookups, with c-ares (the
// Debian package libc-ares; DPDK-free).
//
// dns_client wraps one c-ares channel: A or AAAA queries to the [dns]
// resolvers (in order; c-ares moves to the next on a failure or timeout), the
// outcome handed to a callback with the response as received. It runs only
// when polled (poll(): the sockets that are ready, then the timeouts): no
// thread of its own, so a test drives it directly.
//
// resolver_service is the resolver thread: it takes lookup requests from every
// worker's request ring (dns/lookup.hpp), runs at most `max_outstanding`
// lookups at once (a request beyond that is answered `failed` at once and
// counted busy), and hands each outcome to every worker's answer ring (the
// worker that asked, and the others, whose caches then hold the name too). An
// answer that does not fit a worker's ring is lost for that worker (counted:
// its lookup times out there, [dns] on_resolve_failure applies). A response
// longer than dns::max_lookup_response is handed back as failed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "dns/lookup.hpp"
#include "gateway/dns_observer.hpp"
#include "net/ip_address.hpp"

namespace egress::controlplane {

class dns_client {
public:
    using callback = std::function<void(dns::lookup_status, std::span<const uint8_t> response)>;

    // `timeout_ms`: c-ares' per-try timeout on its first round; `tries`: rounds
    // over the servers. Throws std::runtime_error when c-ares cannot start.
    dns_client(const std::vector<net::endpoint>& servers, uint32_t timeout_ms, unsigned tries);
    ~dns_client();
    dns_client(const dns_client&) = delete;
    dns_client& operator=(const dns_client&) = delete;

    // Starts a lookup; `done` runs from a later poll() (or from the destructor,
    // as failed). `name` is sent as given.
    void query(std::string_view name, dns::lookup_family family, callback done);
    // Waits up to wait_ms for a socket to be ready (or a lookup's timeout),
    // then lets c-ares handle what is ready.
    void poll(int wait_ms);
    std::size_t outstanding() const noexcept { return outstanding_; }

private:
    struct pending;
    static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

    void* channel_ = nullptr; // ares_channel
    std::size_t outstanding_ = 0;
};

struct resolver_counters {
    std::atomic<uint64_t> lookups{0};       // requests taken from the workers' rings and asked
    std::atomic<uint64_t> busy{0};          // requests answered failed: max_outstanding lookups were running
    std::atomic<uint64_t> answers_lost{0};  // answers a worker's full ring did not take
};

class resolver_service {
public:
    // One request ring and one answer ring per worker (same order).
    resolver_service(const gateway::resolve_settings& s, std::vector<dns::request_ring*> requests,
                     std::vector<dns::answer_ring*> answers);
    ~resolver_service();

    void start();
    void stop();
    // One round: takes the requests waiting, then polls c-ares up to wait_ms.
    void run_once(int wait_ms);

    const resolver_counters& counters() const noexcept { return counters_; }

private:
    void ask(const dns::lookup_request& r);
    void hand_back(const dns::lookup_request& r, dns::lookup_status status, std::span<const uint8_t> response);

    gateway::resolve_settings settings_;
    std::vector<dns::request_ring*> requests_;
    std::vector<dns::answer_ring*> answers_;
    std::unique_ptr<dns::lookup_answer> answer_; // built here, copied into each ring
    resolver_counters counters_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    // Last: destroyed first, its lookups still running end (failed) while
    // what hand_back uses is still there.
    dns_client client_;
};

} // namespace egress::controlplane
