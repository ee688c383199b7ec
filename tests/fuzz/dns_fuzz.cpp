// libFuzzer target: lib/dns on arbitrary bytes as a DNS response. Checks what
// dns_message.hpp and observed_names.hpp promise: names are lowercase dotted
// text within bounds, without empty labels; a prefix of a message never gives
// more answers than the whole; what observed_names records for a response is
// verified for that scope and not for another.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "dns/dns_message.hpp"
#include "dns/observed_names.hpp"

namespace {

using namespace egress::dns;
using egress::net::ip_address;

void check(bool ok) {
    if (!ok) std::abort();
}

void check_name(const dns_name& n) {
    const std::string_view v = n.view();
    check(v.size() <= max_name_length);
    check(v.empty() || (v.front() != '.' && v.back() != '.' && v.find("..") == std::string_view::npos));
    check(std::none_of(v.begin(), v.end(), [](char c) { return (c >= 'A' && c <= 'Z') || c <= ' ' || c == 0x7f; }));
}

// Answers read from `message`, checking each; -1 when open() fails.
int count_answers(std::span<const uint8_t> message) {
    dns_response r;
    if (r.open(message) != dns_status::ok) return -1;
    check_name(r.question());
    dns_answer a;
    int n = 0;
    dns_status st;
    while ((st = r.next_answer(a)) == dns_status::ok) {
        check_name(a.owner);
        if (a.type == type_cname) check_name(a.target);
        check(a.ttl < 0x80000000u);
        ++n;
    }
    check(st != dns_status::ok);
    return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::span<const uint8_t> message(data, size);
    const int whole = count_answers(message);
    if (size > 0) check(count_answers(message.first(size - 1)) <= std::max(whole, 0) || whole < 0);

    observed_limits limits;
    limits.max_bindings = 64;
    limits.max_bindings_per_scope = 32;
    limits.max_scopes = 4;
    static observed_names cache(limits, 0x9e3779b97f4a7c15ull);
    const ip_address scope = ip_address::from_v4(0x0a000001);
    const ip_address other = ip_address::from_v4(0x0a000002);
    const uint32_t now = size > 0 ? data[0] : 0;
    cache.record(scope, message, now);
    check(cache.size() <= limits.max_bindings);
    dns_response r;
    if (r.open(message) != dns_status::ok || r.rcode() != 0) return 0;
    // The question's own addresses (no CNAME in between) are verified now, for
    // this scope only (grace 30 s keeps even TTL 0 valid at `now`). With at most
    // 3 answers nothing of this response can have been evicted (4 names per
    // chain at most, 32 per scope).
    dns_answer a;
    while (r.next_answer(a) == dns_status::ok) {
        if ((a.type != type_a && a.type != type_aaaa) || !(a.owner == r.question())) continue;
        check(!cache.verified(other, a.owner.view(), a.address, now));
        check(r.answer_count() > 3 || cache.verified(scope, a.owner.view(), a.address, now));
        std::array<ip_address, 4> out{};
        check(cache.addresses(scope, a.owner.view(), now, out) <= out.size());
    }
    return 0;
}
