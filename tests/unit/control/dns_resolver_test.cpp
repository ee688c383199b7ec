// The c-ares wrapper and the resolver thread (controlplane/dns_resolver.hpp)
// against a real DNS server: Debian's dnsmasq serving a test zone on
// 127.0.0.1 at a free port. Each outcome: an A answer (its TTL as given), a
// CNAME chain, AAAA, NXDOMAIN, no record of the type, a refusal, a resolver
// that is down, one that never answers; the thread's fan-out to every worker
// and its bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "dns/observed_names.hpp"
#include "dns_resolver.hpp"
#include "dnsmasq_server.hpp"

namespace egress::controlplane {
namespace {

using dns::lookup_family;
using dns::lookup_status;

net::ip_address ip(std::string_view s) { return net::ip_address::parse(s).value(); }

struct outcome {
    lookup_status status = lookup_status::failed;
    std::vector<uint8_t> response;
};

class dns_resolver_test : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        server_ = new test::dnsmasq_server({"--local=/test/", "--host-record=a.test,198.51.100.7,60",
                                            "--host-record=b.test,198.51.100.8,30", "--host-record=b.test,198.51.100.9,30",
                                            "--host-record=v6.test,2001:db8::7,60", "--cname=www.test,a.test,20"});
        ASSERT_TRUE(server_->started());
        // Until it answers (it binds its socket after start-up).
        for (int i = 0; i < 100; ++i) {
            dns_client c({server()}, 100, 1);
            if (ask(c, "a.test", lookup_family::v4).status == lookup_status::answered) return;
            usleep(50'000);
        }
        FAIL() << "dnsmasq did not answer on 127.0.0.1:" << server_->port();
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    static net::endpoint server() { return {ip("127.0.0.1"), server_->port()}; }

    // One lookup, polled until its outcome (at most 30 s by the clock, not by
    // a count of polls that may return early). The outcome lives beside the
    // callback, so a lookup still running after a failed wait (its callback
    // runs when the client is destroyed) writes to no dead frame.
    static outcome ask(dns_client& c, std::string_view name, lookup_family f) {
        const auto got = std::make_shared<std::optional<outcome>>();
        c.query(name, f, [got](lookup_status s, std::span<const uint8_t> r) {
            *got = outcome{s, std::vector<uint8_t>(r.begin(), r.end())};
        });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!got->has_value() && std::chrono::steady_clock::now() < deadline) c.poll(10);
        EXPECT_TRUE(got->has_value()) << name << ": no outcome within 30 s";
        EXPECT_EQ(c.outstanding(), 0u);
        return got->value_or(outcome{});
    }
    // The answer recorded as the workers record it (grace 0): name -> address at `at` seconds.
    static bool binds(const outcome& o, std::string_view name, std::string_view address, uint32_t at) {
        dns::observed_limits l;
        l.grace_seconds = 0;
        dns::observed_names names(l, 1234);
        names.record(net::ip_address{}, o.response, 0);
        return names.verified(net::ip_address{}, name, ip(address), at);
    }

    static inline test::dnsmasq_server* server_ = nullptr;
};

TEST_F(dns_resolver_test, an_a_answer_binds_the_name_for_its_ttl) {
    dns_client c({server()}, 500, 2);
    const outcome o = ask(c, "a.test", lookup_family::v4);
    ASSERT_EQ(o.status, lookup_status::answered);
    EXPECT_TRUE(binds(o, "a.test", "198.51.100.7", 59));
    EXPECT_FALSE(binds(o, "a.test", "198.51.100.7", 60)); // TTL 60 s
    EXPECT_FALSE(binds(o, "a.test", "198.51.100.8", 0));
    const outcome two = ask(c, "b.test", lookup_family::v4);
    EXPECT_TRUE(binds(two, "b.test", "198.51.100.8", 0));
    EXPECT_TRUE(binds(two, "b.test", "198.51.100.9", 29));
}

TEST_F(dns_resolver_test, a_cname_chain_binds_the_question_to_the_final_address) {
    dns_client c({server()}, 500, 2);
    const outcome o = ask(c, "www.test", lookup_family::v4);
    ASSERT_EQ(o.status, lookup_status::answered);
    EXPECT_TRUE(binds(o, "www.test", "198.51.100.7", 19));
    EXPECT_FALSE(binds(o, "www.test", "198.51.100.7", 20)); // the chain's shortest TTL
}

TEST_F(dns_resolver_test, aaaa_for_ipv6) {
    dns_client c({server()}, 500, 2);
    const outcome o = ask(c, "v6.test", lookup_family::v6);
    ASSERT_EQ(o.status, lookup_status::answered);
    EXPECT_TRUE(binds(o, "v6.test", "2001:db8::7", 0));
}

TEST_F(dns_resolver_test, outcomes_without_an_address) {
    struct row {
        const char* what;
        std::string name;
        lookup_family family;
        lookup_status status;
    };
    const std::vector<row> rows = {
        {"NXDOMAIN", "nx.test", lookup_family::v4, lookup_status::no_name},
        {"no AAAA record", "a.test", lookup_family::v6, lookup_status::no_name},
        {"refused (no upstream for the name)", "name.example", lookup_family::v4, lookup_status::failed},
    };
    dns_client c({server()}, 500, 2);
    for (const row& r : rows) {
        SCOPED_TRACE(r.what);
        const outcome o = ask(c, r.name, r.family);
        EXPECT_EQ(o.status, r.status);
        EXPECT_TRUE(o.response.empty() || r.status != lookup_status::answered);
    }
}

TEST_F(dns_resolver_test, a_resolver_down_fails_and_a_silent_one_times_out) {
    dns_client down({net::endpoint{ip("127.0.0.1"), test::closed_port()}}, 200, 1);
    EXPECT_EQ(ask(down, "a.test", lookup_family::v4).status, lookup_status::failed);

    test::udp_socket silent;
    dns_client mute({net::endpoint{ip("127.0.0.1"), silent.port}}, 100, 2);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(ask(mute, "a.test", lookup_family::v4).status, lookup_status::timed_out);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

    // The next resolver answers when the first is silent.
    dns_client both({net::endpoint{ip("127.0.0.1"), silent.port}, server()}, 100, 2);
    EXPECT_EQ(ask(both, "a.test", lookup_family::v4).status, lookup_status::answered);
}

// The thread's work, one round at a time: requests from each worker's ring,
// outcomes to every worker's ring; max_outstanding bounds the lookups running.
TEST_F(dns_resolver_test, the_service_hands_each_outcome_to_every_worker) {
    gateway::resolve_settings s;
    s.resolvers = {server()};
    s.timeout_ms = 1000;
    dns::request_ring req0{8}, req1{8};
    dns::answer_ring ans0{8}, ans1{8};
    resolver_service svc(s, {&req0, &req1}, {&ans0, &ans1});
    dns::lookup_request r;
    ASSERT_TRUE(dns::make_request("a.test.", lookup_family::v4, r));
    ASSERT_TRUE(req1.try_push(r));
    ASSERT_TRUE(dns::make_request("nx.test", lookup_family::v4, r));
    ASSERT_TRUE(req0.try_push(r));
    for (int i = 0; i < 1000 && ans0.size_approx() < 2; ++i) svc.run_once(10);
    auto a = std::make_unique<dns::lookup_answer>();
    std::vector<std::string> seen[2];
    for (int w = 0; w < 2; ++w)
        while ((w == 0 ? ans0 : ans1).pop_burst(a.get(), 1) == 1)
            seen[w].push_back(std::string(a->text()) + (a->status == lookup_status::answered ? " answered"
                                                         : a->status == lookup_status::no_name ? " no_name"
                                                                                               : " other"));
    std::sort(seen[0].begin(), seen[0].end());
    EXPECT_EQ(seen[0], (std::vector<std::string>{"a.test answered", "nx.test no_name"}));
    std::sort(seen[1].begin(), seen[1].end());
    EXPECT_EQ(seen[1], seen[0]);
    EXPECT_EQ(svc.counters().lookups.load(), 2u);
    EXPECT_EQ(svc.counters().answers_lost.load(), 0u);

    test::udp_socket silent;
    s.resolvers = {net::endpoint{ip("127.0.0.1"), silent.port}};
    s.max_outstanding = 1;
    resolver_service bounded(s, {&req0}, {&ans0});
    ASSERT_TRUE(dns::make_request("a.test", lookup_family::v4, r));
    ASSERT_TRUE(req0.try_push(r));
    ASSERT_TRUE(dns::make_request("b.test", lookup_family::v4, r));
    ASSERT_TRUE(req0.try_push(r));
    bounded.run_once(0);
    ASSERT_EQ(ans0.pop_burst(a.get(), 1), 1u); // the second, at once
    EXPECT_EQ(a->text(), "b.test");
    EXPECT_EQ(a->status, lookup_status::failed);
    EXPECT_EQ(bounded.counters().busy.load(), 1u);
}

} // namespace
} // namespace egress::controlplane
