// dns_client, resolver_service: see dns_resolver.hpp.
#include "dns_resolver.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include <ares.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <poll.h>

namespace egress::controlplane {

namespace {

constexpr int class_in = 1;
constexpr int type_a = 1;
constexpr int type_aaaa = 28;

ares_channel as_channel(void* c) noexcept { return static_cast<ares_channel>(c); }

dns::lookup_status status_of(int status) noexcept {
    switch (status) {
    case ARES_SUCCESS: return dns::lookup_status::answered;
    case ARES_ENODATA:
    case ARES_ENOTFOUND: return dns::lookup_status::no_name;
    case ARES_ETIMEOUT: return dns::lookup_status::timed_out;
    default: return dns::lookup_status::failed; // SERVFAIL, REFUSED, connection refused, bad responses, ...
    }
}

// c-ares' library state: once per process, before the first channel.
void init_library() {
    static const int status = ares_library_init(ARES_LIB_INIT_ALL);
    if (status != ARES_SUCCESS) throw std::runtime_error(fmt::format("c-ares: {}", ares_strerror(status)));
}

} // namespace

struct dns_client::pending {
    dns_client* client;
    callback done;
};

dns_client::dns_client(const std::vector<net::endpoint>& servers, uint32_t timeout_ms, unsigned tries) {
    init_library();
    ares_options options{};
    options.timeout = static_cast<int>(timeout_ms);
    options.tries = static_cast<int>(tries);
    ares_channel channel = nullptr;
    int status = ares_init_options(&channel, &options, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (status != ARES_SUCCESS) throw std::runtime_error(fmt::format("c-ares: {}", ares_strerror(status)));
    channel_ = channel;
    std::vector<ares_addr_port_node> nodes(servers.size());
    for (std::size_t i = 0; i < servers.size(); ++i) {
        ares_addr_port_node& n = nodes[i];
        n.next = i + 1 < servers.size() ? &nodes[i + 1] : nullptr;
        const net::ip_address& a = servers[i].address;
        n.family = a.is_v4() ? AF_INET : AF_INET6;
        if (a.is_v4()) std::memcpy(&n.addr.addr4, &a.bytes[12], 4);
        else std::memcpy(&n.addr.addr6, a.bytes.data(), 16);
        n.udp_port = n.tcp_port = servers[i].port;
    }
    status = ares_set_servers_ports(channel, nodes.empty() ? nullptr : nodes.data());
    if (status != ARES_SUCCESS) {
        ares_destroy(channel);
        throw std::runtime_error(fmt::format("c-ares: resolvers: {}", ares_strerror(status)));
    }
}

// Every lookup still running ends here (ARES_EDESTRUCTION: failed).
dns_client::~dns_client() { ares_destroy(as_channel(channel_)); }

void dns_client::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    std::unique_ptr<pending> p(static_cast<pending*>(arg));
    --p->client->outstanding_;
    const dns::lookup_status s = status_of(status);
    const std::span<const uint8_t> response =
        abuf != nullptr && alen > 0 ? std::span<const uint8_t>(abuf, static_cast<std::size_t>(alen))
                                    : std::span<const uint8_t>();
    p->done(s, response);
}

void dns_client::query(std::string_view name, dns::lookup_family family, callback done) {
    auto* p = new pending{this, std::move(done)};
    ++outstanding_;
    ares_query(as_channel(channel_), std::string(name).c_str(), class_in,
               family == dns::lookup_family::v4 ? type_a : type_aaaa, &dns_client::on_answer, p);
}

void dns_client::poll(int wait_ms) {
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    const int mask = ares_getsock(as_channel(channel_), sockets, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t n = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        const bool r = ARES_GETSOCK_READABLE(mask, i), w = ARES_GETSOCK_WRITABLE(mask, i);
        if (!r && !w) continue;
        fds[n++] = pollfd{sockets[i], static_cast<short>((r ? POLLIN : 0) | (w ? POLLOUT : 0)), 0};
    }
    timeval max{wait_ms / 1000, (wait_ms % 1000) * 1000}, tv{};
    const timeval* next = ares_timeout(as_channel(channel_), &max, &tv);
    const int wait = static_cast<int>(next->tv_sec * 1000 + (next->tv_usec + 999) / 1000);
    if (::poll(fds, n, wait) < 0) return; // EINTR: the next round
    for (nfds_t i = 0; i < n; ++i) {
        const bool r = fds[i].revents & (POLLIN | POLLERR | POLLHUP), w = fds[i].revents & POLLOUT;
        ares_process_fd(as_channel(channel_), r ? fds[i].fd : ARES_SOCKET_BAD, w ? fds[i].fd : ARES_SOCKET_BAD);
    }
    ares_process_fd(as_channel(channel_), ARES_SOCKET_BAD, ARES_SOCKET_BAD); // the timeouts due
}

resolver_service::resolver_service(const gateway::resolve_settings& s, std::vector<dns::request_ring*> requests,
                                   std::vector<dns::answer_ring*> answers)
    : settings_(s), requests_(std::move(requests)), answers_(std::move(answers)),
      answer_(std::make_unique<dns::lookup_answer>()),
      // Two rounds over the resolvers within about the workers' timeout.
      client_(s.resolvers,
              std::max<uint32_t>(50, s.timeout_ms / 2 / static_cast<uint32_t>(std::max<std::size_t>(1, s.resolvers.size()))),
              2) {}

resolver_service::~resolver_service() { stop(); }

void resolver_service::start() {
    thread_ = std::thread([this] {
        while (!stop_.load(std::memory_order_acquire)) run_once(1);
    });
}

void resolver_service::stop() {
    stop_.store(true, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
}

void resolver_service::run_once(int wait_ms) {
    dns::lookup_request r;
    for (dns::request_ring* ring : requests_)
        while (ring->pop_burst(&r, 1) == 1) ask(r);
    client_.poll(wait_ms);
}

void resolver_service::ask(const dns::lookup_request& r) {
    if (client_.outstanding() >= settings_.max_outstanding) {
        counters_.busy.fetch_add(1, std::memory_order_relaxed);
        return hand_back(r, dns::lookup_status::failed, {});
    }
    counters_.lookups.fetch_add(1, std::memory_order_relaxed);
    client_.query(r.text(), r.family, [this, r](dns::lookup_status status, std::span<const uint8_t> response) {
        hand_back(r, status, response);
    });
}

void resolver_service::hand_back(const dns::lookup_request& r, dns::lookup_status status,
                                 std::span<const uint8_t> response) {
    dns::make_answer(r, status, response, *answer_);
    for (dns::answer_ring* ring : answers_)
        if (!ring->try_push(*answer_)) counters_.answers_lost.fetch_add(1, std::memory_order_relaxed);
}

} // namespace egress::controlplane
