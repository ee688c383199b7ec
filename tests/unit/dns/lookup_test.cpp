// lookup_table (dns/lookup.hpp): a worker's lookups under way, one entry per
// (name, family): waiting until the outcome or the timeout, the outcome kept
// as long again, then the slot free; full when every entry waits.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "dns/lookup.hpp"

namespace egress::dns {
namespace {

constexpr auto v4 = lookup_family::v4;
constexpr auto v6 = lookup_family::v6;

TEST(lookup_table, an_entry_waits_then_keeps_its_outcome_for_the_timeout) {
    lookup_table t(4, 1000);
    EXPECT_EQ(t.state(7, v4, 0), lookup_state::none);
    ASSERT_TRUE(t.start(7, v4, 0));
    EXPECT_EQ(t.state(7, v4, 999), lookup_state::waiting);
    EXPECT_EQ(t.state(7, v6, 999), lookup_state::none); // the other family is another lookup
    t.finish(7, v4, lookup_status::answered, 500);
    EXPECT_EQ(t.state(7, v4, 1499), lookup_state::answered);
    EXPECT_EQ(t.state(7, v4, 1500), lookup_state::none);
}

TEST(lookup_table, each_status_gives_its_state) {
    const std::pair<lookup_status, lookup_state> rows[] = {
        {lookup_status::answered, lookup_state::answered},
        {lookup_status::no_name, lookup_state::answered},
        {lookup_status::failed, lookup_state::failed},
        {lookup_status::timed_out, lookup_state::timed_out},
    };
    for (const auto& [status, state] : rows) {
        lookup_table t(1, 1000);
        ASSERT_TRUE(t.start(1, v4, 10));
        t.finish(1, v4, status, 20);
        EXPECT_EQ(t.state(1, v4, 20), state);
    }
}

TEST(lookup_table, no_outcome_within_the_timeout_times_out_and_a_late_one_changes_nothing) {
    lookup_table t(2, 1000);
    ASSERT_TRUE(t.start(9, v4, 4'294'966'000u)); // across the clock's wrap
    EXPECT_EQ(t.state(9, v4, 4'294'966'999u), lookup_state::waiting);
    EXPECT_EQ(t.state(9, v4, 204), lookup_state::timed_out); // 1500 ms later, wrapped
    t.finish(9, v4, lookup_status::answered, 205);
    EXPECT_EQ(t.state(9, v4, 205), lookup_state::timed_out);
    EXPECT_EQ(t.state(9, v4, 704), lookup_state::none); // kept one timeout after timing out
    lookup_table u(1, 1000);
    ASSERT_TRUE(u.start(3, v4, 0));
    EXPECT_EQ(u.state(3, v4, 5000), lookup_state::none); // long past both
}

TEST(lookup_table, full_when_every_entry_waits_else_the_oldest_finished_slot_is_taken) {
    lookup_table t(3, 1000);
    ASSERT_TRUE(t.start(1, v4, 0));
    ASSERT_TRUE(t.start(2, v4, 0));
    ASSERT_TRUE(t.start(3, v4, 0));
    EXPECT_FALSE(t.start(4, v4, 10));
    EXPECT_EQ(t.waiting(10), 3u);
    t.finish(2, v4, lookup_status::failed, 20);
    t.finish(1, v4, lookup_status::answered, 30);
    EXPECT_TRUE(t.start(4, v4, 40)); // takes 2's slot (finished first)
    EXPECT_EQ(t.state(2, v4, 40), lookup_state::none);
    EXPECT_EQ(t.state(1, v4, 40), lookup_state::answered);
    EXPECT_TRUE(t.start(5, v4, 50)); // then 1's
    EXPECT_EQ(t.state(1, v4, 50), lookup_state::none);
    EXPECT_FALSE(t.start(6, v4, 60)); // 3, 4 and 5 wait
    EXPECT_EQ(t.waiting(1020), 2u); // 3 timed out at 1000; 4 and 5 wait
    EXPECT_EQ(t.capacity(), 3u);
}

TEST(lookup_table, requests_carry_the_name_without_its_trailing_dot) {
    lookup_request r;
    ASSERT_TRUE(make_request("api.stripe.com.", v6, r));
    EXPECT_EQ(r.text(), "api.stripe.com");
    EXPECT_EQ(r.family, v6);
    EXPECT_FALSE(make_request("", v4, r));
    EXPECT_FALSE(make_request(".", v4, r));
    EXPECT_TRUE(make_request(std::string(253, 'a'), v4, r));
    EXPECT_FALSE(make_request(std::string(254, 'a'), v4, r));
}

// What the resolver thread hands the workers: the request's name and family,
// the response only when answered, and a response too large to carry failed.
TEST(lookup_table, answers_carry_the_request_and_the_response_when_answered) {
    lookup_request r;
    ASSERT_TRUE(make_request("api.stripe.com", v6, r));
    auto a = std::make_unique<lookup_answer>();
    const std::vector<uint8_t> response{1, 2, 3, 4};
    make_answer(r, lookup_status::answered, response, *a);
    EXPECT_EQ(a->text(), "api.stripe.com");
    EXPECT_EQ(a->family, v6);
    EXPECT_EQ(a->status, lookup_status::answered);
    EXPECT_EQ(std::vector<uint8_t>(a->message().begin(), a->message().end()), response);
    make_answer(r, lookup_status::no_name, response, *a);
    EXPECT_EQ(a->status, lookup_status::no_name);
    EXPECT_EQ(a->size, 0u);
    make_answer(r, lookup_status::answered, std::vector<uint8_t>(max_lookup_response + 1, 7), *a);
    EXPECT_EQ(a->status, lookup_status::failed);
    EXPECT_EQ(a->size, 0u);
    make_answer(r, lookup_status::answered, std::vector<uint8_t>(max_lookup_response, 7), *a);
    EXPECT_EQ(a->status, lookup_status::answered);
    EXPECT_EQ(a->size, max_lookup_response);
}

} // namespace
} // namespace egress::dns
