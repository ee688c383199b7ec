#include "config_reader.hpp"

namespace egress::config::reading {

bool get_mac(table_reader& r, std::string_view key, std::optional<net::mac_address>& out, bool required) {
    const toml::node* n = r.find(key, required);
    if (n == nullptr) return !required;
    static constexpr std::string_view expected = "a MAC address like 02:00:00:00:00:01";
    const auto* v = n->as_string();
    if (v == nullptr) {
        r.wrong(*n, r.path(key), expected, type_phrase(*n));
        return false;
    }
    const auto mac = net::mac_address::parse(v->get());
    if (!mac) {
        r.wrong(*n, r.path(key), expected, quote(v->get()));
        return false;
    }
    if (mac->is_multicast() || *mac == net::mac_address{}) {
        r.wrong(*n, r.path(key), "a unicast, non-zero MAC address", quote(v->get()));
        return false;
    }
    out = mac;
    return true;
}

bool get_mac(table_reader& r, std::string_view key, net::mac_address& out, bool required) {
    std::optional<net::mac_address> mac;
    const bool ok = get_mac(r, key, mac, required);
    if (mac) out = *mac;
    return ok;
}

namespace {

// One element of an address list: valid, of the family, not seen before.
bool read_address(table_reader& r, const toml::node& e, std::string element_key, families fam,
                  std::vector<located_address>& out) {
    const std::string_view element =
        fam == families::v4_only       ? "an IPv4 address"
        : fam == families::with_prefix ? R"(an IPv4 or IPv6 address with an optional prefix length like "10.0.0.1/24")"
        : fam == families::with_port   ? R"(an IPv4 or IPv6 address with an optional port like "127.0.0.1:5353" or "[::1]:5353")"
                                       : "an IPv4 or IPv6 address";
    const auto* v = e.as_string();
    if (v == nullptr) {
        r.wrong(e, std::move(element_key), element, type_phrase(e));
        return false;
    }
    const auto prefixed = fam == families::with_prefix ? parse_prefixed(v->get()) : std::nullopt;
    const auto with_port = fam == families::with_port ? net::endpoint::parse(v->get()) : std::nullopt;
    const auto address = fam == families::with_prefix ? (prefixed ? std::optional(prefixed->first) : std::nullopt)
                         : with_port                  ? std::optional(with_port->address)
                                                      : net::ip_address::parse(v->get());
    if (!address || (fam == families::v4_only && !address->is_v4())) {
        r.wrong(e, std::move(element_key), element, quote(v->get()));
        return false;
    }
    const auto first =
        std::find_if(out.begin(), out.end(), [&](const located_address& a) { return a.address == *address; });
    if (first != out.end()) {
        r.wrong(e, std::move(element_key), "a distinct address",
                fmt::format("{} again (first at {})", quote(v->get()), first->key));
        return false;
    }
    out.push_back(located_address{*address, std::move(element_key), v->get(), e.source().begin,
                                  prefixed ? prefixed->second : uint8_t{0},
                                  with_port ? with_port->port : uint16_t{53}});
    return true;
}

} // namespace

bool get_address_list(table_reader& r, std::string_view key, std::vector<located_address>& out, families fam,
                      std::size_t min_count, std::size_t max_count, bool required) {
    const toml::node* n = r.find(key, required);
    if (n == nullptr) return !required;
    const std::string_view plural = fam == families::v4_only ? "IPv4 addresses" : "IP addresses";
    const auto* array = n->as_array();
    if (array == nullptr) {
        r.wrong(*n, r.path(key), fmt::format("an array of {}", plural), type_phrase(*n));
        return false;
    }
    bool ok = true;
    if (array->size() < min_count || array->size() > max_count) {
        r.wrong(*n, r.path(key), fmt::format("{}..{} {}", min_count, max_count, plural),
                array->empty() ? std::string("an empty array") : fmt::format("{} addresses", array->size()));
        ok = false;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        ok = read_address(r, *array->get(i), fmt::format("{}[{}]", r.path(key), i), fam, out) && ok;
    }
    return ok;
}

} // namespace egress::config::reading
