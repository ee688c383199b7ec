#include "config.hpp"

#include "toml_text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include <fmt/format.h>

// toml++ stays in this file. The Debian shared library is built with exceptions
// (toml::v3::ex), so the default TOML_EXCEPTIONS=1 mode is used: parse() throws
// toml::parse_error on a syntax error.
#include <toml++/toml.h>

namespace egress::config {

namespace {

using position = toml::source_position;

constexpr position whole_document{1, 1};

// ---------------------------------------------------------------------------
// Text helpers

using toml_text::edit_distance;
using toml_text::quote;
using toml_text::type_phrase;

// " (did you mean x?)" when a known name is within 2 edits and the edits are at
// most a third of the typo (so "mtu" does not suggest "mac"), else "".
std::string suggestion(std::string_view key, const std::vector<std::string_view>& known) {
    const std::string_view best = toml_text::closest(key, known);
    return best.empty() ? std::string{} : fmt::format(" (did you mean {}?)", best);
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool all_hex(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_hex); }

bool has_space(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// "BB:DD.F" (the bus/device/function part of a PCI address).
bool is_pci_bdf(std::string_view s) {
    return s.size() == 7 && all_hex(s.substr(0, 2)) && s[2] == ':' && all_hex(s.substr(3, 2)) && s[5] == '.' &&
           s[6] >= '0' && s[6] <= '7';
}

// "DDDD:BB:DD.F"
bool is_full_pci_address(std::string_view s) {
    return s.size() == 12 && all_hex(s.substr(0, 4)) && s[4] == ':' && is_pci_bdf(s.substr(5));
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// An -a entry may carry devargs ("0000:03:00.0,txq_inline=128"); the address
// is the part before the first comma, in the full lowercase domain form.
std::string canonical_pci(std::string_view allow_entry) {
    const std::string_view address = allow_entry.substr(0, allow_entry.find(','));
    return is_pci_bdf(address) ? "0000:" + lower(address) : lower(address);
}

std::string_view vdev_name(std::string_view vdev) { return vdev.substr(0, vdev.find(',')); }

// -l syntax: "0", "0-3", "0,2,4-5".
// "0", "0-1", "0,2,4-5" (EAL -l), or with lcore-to-CPU mappings (EAL --lcores):
// "(0-4)@(0,1)", "0@0,1@0,2@1": groups of numbers or ranges, a group in
// parentheses may list several, "@" maps lcores to CPUs.
bool is_core_list(std::string_view s) {
    if (s.empty()) return false;
    std::size_t i = 0;
    auto number = [&] {
        const std::size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        return i > start && i - start <= 4;
    };
    auto range = [&] {
        if (!number()) return false;
        if (i < s.size() && s[i] == '-') {
            ++i;
            return number();
        }
        return true;
    };
    auto group = [&] {
        if (i < s.size() && s[i] == '(') {
            ++i;
            while (true) {
                if (!range()) return false;
                if (i < s.size() && s[i] == ',') {
                    ++i;
                    continue;
                }
                if (i < s.size() && s[i] == ')') {
                    ++i;
                    return true;
                }
                return false;
            }
        }
        return range();
    };
    while (true) {
        if (!group()) return false;
        if (i < s.size() && s[i] == '@') {
            ++i;
            if (!group()) return false;
        }
        if (i == s.size()) return true;
        if (s[i] != ',') return false;
        ++i;
    }
}

// --log-level accepts "<level>" or "<pattern>:<level>"; the level is a name or 1..8.
bool is_log_level(std::string_view s) {
    const std::size_t colon = s.rfind(':');
    if (colon == 0) return false;
    const std::string_view level = colon == std::string_view::npos ? s : s.substr(colon + 1);
    static constexpr std::string_view names[] = {"emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"};
    if (std::find(std::begin(names), std::end(names), level) != std::end(names)) return true;
    return level.size() == 1 && level[0] >= '1' && level[0] <= '8';
}

// ---------------------------------------------------------------------------
// String rules: what a string value must look like, and how to say so.

struct string_rule {
    std::string_view expected; // "expected <this>, got ..."
    bool (*ok)(std::string_view);
};

constexpr string_rule any_string{"a string", [](std::string_view) { return true; }};
constexpr string_rule steering_rule{R"("auto" or "software")",
                                    [](std::string_view v) { return v == "auto" || v == "software"; }};
constexpr string_rule rss_key_rule{"80 hexadecimal digits (a 40-byte key)", [](std::string_view v) {
                                       return v.size() == 80 && v.find_first_not_of("0123456789abcdefABCDEF") ==
                                                                    std::string_view::npos;
                                   }};
constexpr string_rule exhaustion_rule{R"("fail_open" or "fail_closed")",
                                      [](std::string_view v) { return v == "fail_open" || v == "fail_closed"; }};
// sockaddr_un holds 108 bytes including the terminating NUL.
constexpr string_rule socket_rule{"a socket path of at most 107 bytes, or \"\" for off",
                                  [](std::string_view v) { return v.size() <= 107 && v.find('\0') == std::string_view::npos; }};
constexpr string_rule listen_rule{R"(an address and port like "127.0.0.1:9469" or "[::1]:9469", or "" for off)",
                                  [](std::string_view s) { return s.empty() || net::endpoint::parse(s).has_value(); }};
constexpr string_rule collector_rule{R"(a collector address like "192.0.2.9:4739" or "[2001:db8::9]:4739")",
                                     [](std::string_view s) { return net::endpoint::parse(s).has_value(); }};
constexpr string_rule core_list_rule{R"(a core list like "0", "0-1" or "0,2")", is_core_list};
constexpr string_rule log_level_rule{R"(a log level like "notice" or "pmd.net.pcap:debug")", is_log_level};
constexpr string_rule file_prefix_rule{"a file prefix without '/' or spaces", [](std::string_view s) {
                                           return s.find('/') == std::string_view::npos && !has_space(s);
                                       }};
constexpr string_rule vdev_rule{R"(a --vdev string like "net_pcap0,iface=eth0")", [](std::string_view s) {
                                    return !vdev_name(s).empty() && !has_space(vdev_name(s));
                                }};
constexpr string_rule pci_rule{"a PCI address like 0000:03:00.0", [](std::string_view s) {
                                   const std::string_view address = s.substr(0, s.find(','));
                                   return is_full_pci_address(address) || is_pci_bdf(address);
                               }};
constexpr string_rule device_rule{R"(a DPDK device name like "net_pcap0" or "0000:03:00.0")",
                                  [](std::string_view s) { return !s.empty() && !has_space(s) && !is_pci_bdf(s); }};

// ---------------------------------------------------------------------------
// Error collection and per-table readers

struct context {
    std::string file;
    std::vector<config_error> errors;

    void error(const position& at, std::string key, std::string message) {
        errors.push_back(config_error{file, at.line, at.column, std::move(key), std::move(message)});
    }
};

// An IP address with where it came from, for cross-field checks.
struct located_address {
    net::ip_address address;
    std::string key; // "nat.pool[1]"
    std::string text;
    position at;
    uint8_t prefix_length = 0; // families::with_prefix: 32 / 128 when the text has none
};

// any: IPv4 or IPv6; v4_only; with_prefix: either, optionally "/length".
enum class families { any, v4_only, with_prefix };

// "10.0.0.1/24", "fd00::1/64" or a bare address (the whole address: /32, /128).
std::optional<std::pair<net::ip_address, uint8_t>> parse_prefixed(std::string_view text) {
    const std::size_t slash = text.find('/');
    const auto address = net::ip_address::parse(text.substr(0, slash));
    if (!address) return std::nullopt;
    const unsigned max = address->is_v4() ? 32 : 128;
    if (slash == std::string_view::npos) return std::make_pair(*address, static_cast<uint8_t>(max));
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), [](char c) {
            return c >= '0' && c <= '9';
        }))
        return std::nullopt;
    const unsigned length = static_cast<unsigned>(std::stoul(std::string(digits)));
    if (length > max) return std::nullopt;
    return std::make_pair(*address, static_cast<uint8_t>(length));
}

// Reads the keys of one table. Each getter names a key (which makes it known),
// leaves the default in place when the key is absent, reports a problem and
// returns false when the value is unusable. finish() reports the keys nobody
// asked for. A reader for an absent table (tbl == nullptr) reports nothing.
class table_reader {
public:
    table_reader(context& ctx, std::string name, const toml::table* tbl)
        : ctx_(ctx), name_(std::move(name)), tbl_(tbl) {}

    std::string path(std::string_view key) const { return fmt::format("{}.{}", name_, key); }
    const std::string& name() const { return name_; }
    context& ctx() { return ctx_; }

    const toml::node* find(std::string_view key, bool required) {
        known_.push_back(key);
        if (tbl_ == nullptr) return nullptr;
        const toml::node* n = tbl_->get(key);
        if (n == nullptr && required) ctx_.error(tbl_->source().begin, path(key), "required key missing");
        return n;
    }

    void wrong(const toml::node& n, std::string key, std::string_view expected, std::string_view got) {
        ctx_.error(n.source().begin, std::move(key), fmt::format("expected {}, got {}", expected, got));
    }

    bool get_bool(std::string_view key, bool& out) {
        const toml::node* n = find(key, false);
        if (n == nullptr) return true;
        if (const auto* v = n->as_boolean()) {
            out = v->get();
            return true;
        }
        wrong(*n, path(key), "a boolean (true or false)", type_phrase(*n));
        return false;
    }

    // An integer in min..max; `expected` replaces "an integer in min..max" when given.
    template <typename T>
    bool get_uint(std::string_view key, T& out, uint64_t min, uint64_t max, bool required = false) {
        const toml::node* n = find(key, required);
        if (n == nullptr) return !required;
        const std::string expected = fmt::format("an integer in {}..{}", min, max);
        const auto* v = n->as_integer();
        if (v == nullptr) {
            wrong(*n, path(key), expected, type_phrase(*n));
            return false;
        }
        const int64_t value = v->get();
        if (value < 0 || static_cast<uint64_t>(value) < min || static_cast<uint64_t>(value) > max) {
            wrong(*n, path(key), expected, std::to_string(value));
            return false;
        }
        out = static_cast<T>(value);
        return true;
    }

    // Whole seconds >= 1, stored as milliseconds (so at most UINT32_MAX / 1000 s).
    bool get_seconds(std::string_view key, uint32_t& out_ms) {
        static constexpr int64_t max_seconds = std::numeric_limits<uint32_t>::max() / 1000;
        const toml::node* n = find(key, false);
        if (n == nullptr) return true;
        const auto* v = n->as_integer();
        if (v == nullptr) {
            wrong(*n, path(key), "an integer number of seconds >= 1", type_phrase(*n));
            return false;
        }
        const int64_t value = v->get();
        if (value < 1) {
            wrong(*n, path(key), "an integer number of seconds >= 1", std::to_string(value));
            return false;
        }
        if (value > max_seconds) {
            wrong(*n, path(key), fmt::format("an integer number of seconds <= {}", max_seconds), std::to_string(value));
            return false;
        }
        out_ms = static_cast<uint32_t>(value * 1000);
        return true;
    }

    bool get_string(std::string_view key, std::string& out, const string_rule& rule, bool required = false) {
        const toml::node* n = find(key, required);
        if (n == nullptr) return !required;
        return check_string(*n, path(key), rule, out);
    }

    bool get_string_list(std::string_view key, std::vector<std::string>& out, const string_rule& rule) {
        const toml::node* n = find(key, false);
        if (n == nullptr) return true;
        const auto* array = n->as_array();
        if (array == nullptr) {
            wrong(*n, path(key), "an array of strings", type_phrase(*n));
            return false;
        }
        bool ok = true;
        out.clear();
        for (std::size_t i = 0; i < array->size(); ++i) {
            std::string value;
            if (check_string(*array->get(i), fmt::format("{}[{}]", path(key), i), rule, value)) {
                out.push_back(std::move(value));
            } else {
                ok = false;
            }
        }
        return ok;
    }

    // A unicast, non-zero MAC address.
    bool get_mac(std::string_view key, std::optional<net::mac_address>& out, bool required = false) {
        const toml::node* n = find(key, required);
        if (n == nullptr) return !required;
        static constexpr std::string_view expected = "a MAC address like 02:00:00:00:00:01";
        const auto* v = n->as_string();
        if (v == nullptr) {
            wrong(*n, path(key), expected, type_phrase(*n));
            return false;
        }
        const auto mac = net::mac_address::parse(v->get());
        if (!mac) {
            wrong(*n, path(key), expected, quote(v->get()));
            return false;
        }
        if (mac->is_multicast() || *mac == net::mac_address{}) {
            wrong(*n, path(key), "a unicast, non-zero MAC address", quote(v->get()));
            return false;
        }
        out = mac;
        return true;
    }

    bool get_mac(std::string_view key, net::mac_address& out, bool required) {
        std::optional<net::mac_address> mac;
        const bool ok = get_mac(key, mac, required);
        if (mac) out = *mac;
        return ok;
    }

    // An array of min_count..max_count distinct addresses. The valid elements are
    // kept even when others are not, so cross-field checks can still see them.
    bool get_address_list(std::string_view key, std::vector<located_address>& out, families fam,
                          std::size_t min_count, std::size_t max_count, bool required) {
        const toml::node* n = find(key, required);
        if (n == nullptr) return !required;
        const std::string_view element =
            fam == families::v4_only       ? "an IPv4 address"
            : fam == families::with_prefix ? R"(an IPv4 or IPv6 address with an optional prefix length like "10.0.0.1/24")"
                                           : "an IPv4 or IPv6 address";
        const std::string_view plural = fam == families::v4_only ? "IPv4 addresses" : "IP addresses";
        const auto* array = n->as_array();
        if (array == nullptr) {
            wrong(*n, path(key), fmt::format("an array of {}", plural), type_phrase(*n));
            return false;
        }
        bool ok = true;
        if (array->size() < min_count || array->size() > max_count) {
            wrong(*n, path(key), fmt::format("{}..{} {}", min_count, max_count, plural),
                  array->empty() ? std::string("an empty array") : fmt::format("{} addresses", array->size()));
            ok = false;
        }
        for (std::size_t i = 0; i < array->size(); ++i) {
            const toml::node& e = *array->get(i);
            std::string element_key = fmt::format("{}[{}]", path(key), i);
            const auto* v = e.as_string();
            if (v == nullptr) {
                wrong(e, std::move(element_key), element, type_phrase(e));
                ok = false;
                continue;
            }
            const auto prefixed = fam == families::with_prefix ? parse_prefixed(v->get()) : std::nullopt;
            const auto address = fam == families::with_prefix
                                     ? (prefixed ? std::optional(prefixed->first) : std::nullopt)
                                     : net::ip_address::parse(v->get());
            if (!address || (fam == families::v4_only && !address->is_v4())) {
                wrong(e, std::move(element_key), element, quote(v->get()));
                ok = false;
                continue;
            }
            const auto first = std::find_if(out.begin(), out.end(),
                                            [&](const located_address& a) { return a.address == *address; });
            if (first != out.end()) {
                wrong(e, std::move(element_key), "a distinct address",
                      fmt::format("{} again (first at {})", quote(v->get()), first->key));
                ok = false;
                continue;
            }
            out.push_back(located_address{*address, std::move(element_key), v->get(), e.source().begin,
                                          prefixed ? prefixed->second : uint8_t{0}});
        }
        return ok;
    }

    // Reports every key of the table that no getter named.
    void finish() {
        if (tbl_ == nullptr) return;
        for (auto&& [k, v] : *tbl_) {
            if (std::find(known_.begin(), known_.end(), k.str()) != known_.end()) continue;
            report_unknown(ctx_, name_ + "." + std::string(k.str()), k, v, known_);
        }
    }

    static void report_unknown(context& ctx, std::string key, const toml::key& k, const toml::node& v,
                               const std::vector<std::string_view>& known) {
        const bool is_table = v.is_table();
        // A table is reported where its [header] starts; a value where its key is.
        const position at = is_table || !k.source().begin ? v.source().begin : k.source().begin;
        ctx.error(at, std::move(key),
                  fmt::format("unknown {}{}", is_table ? "table" : "key", suggestion(k.str(), known)));
    }

private:
    bool check_string(const toml::node& n, std::string key, const string_rule& rule, std::string& out) {
        const auto* v = n.as_string();
        if (v == nullptr) {
            wrong(n, std::move(key), rule.expected, type_phrase(n));
            return false;
        }
        if (!rule.ok(v->get())) {
            wrong(n, std::move(key), rule.expected, quote(v->get()));
            return false;
        }
        out = v->get();
        return true;
    }

    context& ctx_;
    std::string name_;
    const toml::table* tbl_;
    std::vector<std::string_view> known_;
};

// ---------------------------------------------------------------------------
// The document

struct table_spec {
    std::string_view name;
    bool required;
};

constexpr table_spec top_level_tables[] = {
    {"eal", false},   {"inside", true},    {"outside", true}, {"nat", true},
    {"flows", false}, {"timeouts", false}, {"run", false},  {"export", false}, {"metrics", false},
    {"control", false}, {"events", false}, {"inspect", false}, {"icmp", false}, {"tcp", false},
    {"fragments", false},
    {"policy", false}, {"dlp", false}, // validated and compiled by controlplane/policy_loader.cpp
    {"neighbors", false},
};

struct side_result {
    bool device_ok = false;
    std::vector<located_address> addresses;
};

constexpr string_rule ip_rule{"an IPv4 or IPv6 address",
                               [](std::string_view s) { return net::ip_address::parse(s).has_value(); }};

// next_hop: at most one router per family, on one of the side's on-link
// prefixes, not one of the side's own addresses.
void check_next_hops(table_reader& r, const std::vector<located_address>& hops, gateway::side_settings& side) {
    for (std::size_t i = 0; i < hops.size(); ++i) {
        const located_address& h = hops[i];
        const auto same_family = std::find_if(hops.begin(), hops.begin() + static_cast<std::ptrdiff_t>(i),
                                              [&](const located_address& o) { return o.address.is_v4() == h.address.is_v4(); });
        if (same_family != hops.begin() + static_cast<std::ptrdiff_t>(i)) {
            r.ctx().error(h.at, h.key,
                          fmt::format("expected at most one next hop per family, got {} (also {} is {})",
                                      quote(h.text), same_family->key, h.address.is_v4() ? "IPv4" : "IPv6"));
            continue;
        }
        if (std::find(side.addresses.begin(), side.addresses.end(), h.address) != side.addresses.end()) {
            r.ctx().error(h.at, h.key,
                          fmt::format("expected a router, not one of {}, got {}", r.path("addresses"), quote(h.text)));
            continue;
        }
        if (std::none_of(side.on_link.begin(), side.on_link.end(),
                         [&](const gateway::interface_prefix& p) { return p.contains(h.address); })) {
            r.ctx().error(h.at, h.key,
                          fmt::format("expected an address on the prefix of one of {} (e.g. \"10.0.0.1/24\"), got {}",
                                      r.path("addresses"), quote(h.text)));
            continue;
        }
        (h.address.is_v4() ? side.next_hop_v4 : side.next_hop_v6) = h.address;
    }
}

// [[inside.neighbor]] / [[outside.neighbor]]: static neighbour entries.
void read_neighbors(table_reader& r, gateway::side_settings& side) {
    const toml::node* n = r.find("neighbor", false);
    if (n == nullptr) return;
    const auto* array = n->as_array();
    const std::string expected = fmt::format("an array of tables ([[{}]])", r.path("neighbor"));
    if (array == nullptr || !array->is_array_of_tables()) {
        r.wrong(*n, r.path("neighbor"), expected, type_phrase(*n));
        return;
    }
    std::vector<std::pair<net::ip_address, std::string>> seen;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::table* t = array->get(i)->as_table();
        table_reader e(r.ctx(), fmt::format("{}[{}]", r.path("neighbor"), i), t);
        std::string address_text;
        const bool address_ok = e.get_string("address", address_text, ip_rule, true);
        std::optional<net::mac_address> mac;
        const bool mac_ok = e.get_mac("mac", mac, true);
        e.finish();
        if (!address_ok || !mac_ok || address_text.empty() || !mac) continue;
        const net::ip_address a = *net::ip_address::parse(address_text);
        const position at = t->get("address")->source().begin;
        const auto first = std::find_if(seen.begin(), seen.end(), [&](const auto& p) { return p.first == a; });
        if (first != seen.end()) {
            r.ctx().error(at, e.path("address"),
                          fmt::format("expected a distinct address, got {} again (first at {})", quote(address_text),
                                      first->second));
            continue;
        }
        if (std::find(side.addresses.begin(), side.addresses.end(), a) != side.addresses.end()) {
            r.ctx().error(at, e.path("address"),
                          fmt::format("expected a neighbour, not one of {}, got {}", r.path("addresses"),
                                      quote(address_text)));
            continue;
        }
        seen.emplace_back(a, e.path("address"));
        side.neighbors.push_back({a, *mac});
    }
}

side_result read_side(table_reader& r, port_settings& port, gateway::side_settings& side) {
    side_result result;
    result.device_ok = r.get_string("device", port.device, device_rule, true);
    r.get_mac("mac", port.mac);
    r.get_mac("next_hop_mac", side.next_hop_mac);
    r.get_address_list("addresses", result.addresses, families::with_prefix, 1, 16, true);
    side.addresses.clear();
    side.on_link.clear();
    for (const auto& a : result.addresses) {
        side.addresses.push_back(a.address);
        side.on_link.push_back({a.address, static_cast<uint8_t>(a.prefix_length)});
    }
    std::vector<located_address> hops;
    if (r.get_address_list("next_hop", hops, families::any, 1, 2, false)) check_next_hops(r, hops, side);
    r.get_uint("vlan", side.vlan, 1, 4094);
    read_neighbors(r, side);
    r.get_uint("rx_descriptors", port.rx_descriptors, 1, 32768);
    r.get_uint("tx_descriptors", port.tx_descriptors, 1, 32768);
    r.get_uint("mtu", side.mtu, 1280, 9000);
    r.finish();
    side.mac = port.mac.value_or(net::mac_address{});
    return result;
}

bool extra_args_start_with(const std::vector<std::string>& args, std::initializer_list<std::string_view> prefixes) {
    return std::any_of(args.begin(), args.end(), [&](const std::string& arg) {
        return std::any_of(prefixes.begin(), prefixes.end(),
                           [&](std::string_view p) { return std::string_view(arg).substr(0, p.size()) == p; });
    });
}

// A port's device must be something the EAL will create: a net_* name needs a
// matching eal.vdevs entry; a PCI address must be in eal.allow_pci (the dataplane
// passes --no-pci when that list is empty). Skipped when extra_args add devices
// of their own.
void check_device(context& ctx, const toml::node* device_node, std::string_view side, const eal_settings& eal) {
    if (device_node == nullptr) return;
    const std::string& device = device_node->as_string()->get();
    if (is_full_pci_address(device)) {
        if (extra_args_start_with(eal.extra_args, {"-a", "--allow", "-w", "--pci-whitelist"})) return;
        const std::string canonical = lower(device);
        if (std::none_of(eal.allow_pci.begin(), eal.allow_pci.end(),
                         [&](const std::string& a) { return canonical_pci(a) == canonical; })) {
            ctx.error(device_node->source().begin, fmt::format("{}.device", side),
                      fmt::format("expected a PCI address listed in eal.allow_pci, got {}", quote(device)));
        }
        return;
    }
    if (device.rfind("net_", 0) != 0 || extra_args_start_with(eal.extra_args, {"--vdev"})) return;
    if (std::any_of(eal.vdevs.begin(), eal.vdevs.end(), [&](const std::string& v) { return vdev_name(v) == device; })) {
        return;
    }
    std::string names;
    for (const auto& v : eal.vdevs) names += fmt::format("{}{}", names.empty() ? "" : ", ", vdev_name(v));
    ctx.error(device_node->source().begin, fmt::format("{}.device", side),
              fmt::format("expected the name of a device in eal.vdevs ({}), got {}",
                          names.empty() ? std::string("eal.vdevs is empty") : names, quote(device)));
}

load_result load_document(const toml::table& root, context& ctx) {
    egressd_config cfg;
    cfg.source_path = ctx.file;

    // Top level: only the known tables, each of them a table.
    std::vector<std::string_view> table_names;
    for (const auto& spec : top_level_tables) table_names.push_back(spec.name);
    for (auto&& [k, v] : root) {
        if (std::find(table_names.begin(), table_names.end(), k.str()) == table_names.end()) {
            table_reader::report_unknown(ctx, std::string(k.str()), k, v, table_names);
        }
    }
    auto table = [&](std::string_view name) -> const toml::table* {
        const toml::node* n = root.get(name);
        const bool required =
            std::find_if(std::begin(top_level_tables), std::end(top_level_tables), [&](const table_spec& s) {
                return s.name == name;
            })->required;
        if (n == nullptr) {
            if (required) ctx.error(whole_document, std::string(name), "required table missing");
            return nullptr;
        }
        if (!n->is_table()) {
            ctx.error(n->source().begin, std::string(name), fmt::format("expected a table, got {}", type_phrase(*n)));
            return nullptr;
        }
        return n->as_table();
    };

    // [eal]
    const toml::table* eal_table = table("eal");
    table_reader eal(ctx, "eal", eal_table);
    eal.get_string("lcores", cfg.eal.lcores, core_list_rule);
    eal.get_bool("no_huge", cfg.eal.no_huge);
    eal.get_uint("memory_mb", cfg.eal.memory_mb, 16, 1048576);
    const bool vdevs_ok = eal.get_string_list("vdevs", cfg.eal.vdevs, vdev_rule);
    const bool allow_ok = eal.get_string_list("allow_pci", cfg.eal.allow_pci, pci_rule);
    eal.get_string("file_prefix", cfg.eal.file_prefix, file_prefix_rule);
    eal.get_bool("in_memory", cfg.eal.in_memory);
    eal.get_string("log_level", cfg.eal.log_level, log_level_rule);
    const bool extra_ok = eal.get_string_list("extra_args", cfg.eal.extra_args, any_string);
    eal.finish();
    if (cfg.eal.file_prefix.empty()) cfg.eal.in_memory = true;

    // [inside], [outside]
    const toml::table* inside_table = table("inside");
    table_reader inside(ctx, "inside", inside_table);
    const side_result in = read_side(inside, cfg.inside_port, cfg.gateway.inside);
    const toml::table* outside_table = table("outside");
    table_reader outside(ctx, "outside", outside_table);
    const side_result out = read_side(outside, cfg.outside_port, cfg.gateway.outside);

    // [nat]
    const toml::table* nat_table = table("nat");
    table_reader nat(ctx, "nat", nat_table);
    std::vector<located_address> pool;
    // An empty pool is an IPv6-only gateway: IPv4 flows are refused (nat_no_ipv4_pool).
    nat.get_address_list("pool", pool, families::v4_only, 0, 64, true);
    const bool port_min_ok = nat.get_uint("port_min", cfg.gateway.pool.port_min, 1, 65535);
    const bool port_max_ok = nat.get_uint("port_max", cfg.gateway.pool.port_max, 1, 65535);
    nat.finish();
    for (const auto& a : pool) cfg.gateway.pool.addresses.push_back(a.address);

    // [flows]
    table_reader flows(ctx, "flows", table("flows"));
    flows.get_uint("max_flows", cfg.gateway.max_flows, 1, 100'000'000);
    flows.finish();

    // [timeouts]
    table_reader timeouts(ctx, "timeouts", table("timeouts"));
    flow::timeouts& t = cfg.gateway.timeouts;
    timeouts.get_seconds("tcp_syn_sent", t.tcp_syn_sent_ms);
    timeouts.get_seconds("tcp_syn_received", t.tcp_syn_received_ms);
    timeouts.get_seconds("tcp_established", t.tcp_established_ms);
    timeouts.get_seconds("tcp_closing", t.tcp_closing_ms);
    timeouts.get_seconds("tcp_time_wait", t.tcp_time_wait_ms);
    timeouts.get_seconds("tcp_closed", t.tcp_closed_ms);
    timeouts.get_seconds("udp", t.udp_ms);
    timeouts.get_seconds("icmp", t.icmp_ms);
    timeouts.finish();

    // [run]
    table_reader run(ctx, "run", table("run"));
    run.get_bool("stop_when_drained", cfg.run.stop_when_drained);
    run.get_uint("drain_idle_ms", cfg.run.drain_idle_ms, 1, 600'000);
    run.get_bool("replay_in_timestamp_order", cfg.run.replay_in_timestamp_order);
    run.get_uint("burst_size", cfg.run.burst_size, 1, 512);
    run.get_uint("mbufs", cfg.run.mbufs, 1023, 16'777'215);
    run.get_bool("accept_any_dst_mac", cfg.gateway.accept_any_dst_mac);
    const bool workers_ok = run.get_uint("workers", cfg.run.workers, 1, 64);
    std::string steering = "auto";
    run.get_string("steering", steering, steering_rule);
    cfg.run.rss = steering == "auto";
    std::string rss_key;
    if (run.get_string("rss_key", rss_key, rss_key_rule) && !rss_key.empty())
        for (std::size_t i = 0; i + 1 < rss_key.size(); i += 2)
            cfg.run.rss_key.push_back(static_cast<uint8_t>(std::stoul(rss_key.substr(i, 2), nullptr, 16)));
    const bool ring_ok = run.get_uint("handoff_ring_size", cfg.run.handoff_ring_size, 64, 65536);
    if (ring_ok && (cfg.run.handoff_ring_size & (cfg.run.handoff_ring_size - 1)) != 0)
        ctx.error(table("run")->get("handoff_ring_size")->source().begin, "run.handoff_ring_size",
                  fmt::format("expected a power of two from 64 to 65536, got {}", cfg.run.handoff_ring_size));
    run.finish();

    // [export]
    table_reader exp(ctx, "export", table("export"));
    std::vector<std::string> collectors;
    exp.get_string_list("collectors", collectors, collector_rule);
    for (const auto& c : collectors)
        if (auto e = net::endpoint::parse(c)) cfg.flow_export.collectors.push_back(*e);
    exp.get_uint("observation_domain_id", cfg.flow_export.observation_domain_id, 0, 4'294'967'295ull);
    uint32_t active_timeout_s = cfg.gateway.flow_export.active_timeout_ms / 1000;
    exp.get_uint("active_timeout", active_timeout_s, 1, 86'400);
    cfg.gateway.flow_export.active_timeout_ms = active_timeout_s * 1000;
    exp.get_uint("template_refresh", cfg.flow_export.template_refresh_s, 1, 86'400);
    exp.get_uint("max_message_bytes", cfg.flow_export.max_message_bytes, 512, 65'000);
    exp.get_uint("enterprise_number", cfg.flow_export.enterprise_number, 1, 4'294'967'295ull);
    exp.get_string("json_log", cfg.flow_export.json_log, any_string);
    exp.get_uint("ring_size", cfg.flow_export.ring_size, 64, 16'777'216);
    exp.get_uint("denied_flush_ms", cfg.gateway.flow_export.denied_flush_ms, 10, 60'000);
    exp.get_bool("nat_session_events", cfg.gateway.flow_export.nat_session_events);
    exp.finish();
    cfg.gateway.flow_export.enabled = cfg.flow_export.enabled();

    // [metrics]
    table_reader metrics(ctx, "metrics", table("metrics"));
    std::string listen;
    metrics.get_string("listen", listen, listen_rule);
    metrics.finish();
    if (!listen.empty()) cfg.metrics.listen = net::endpoint::parse(listen);

    // [control]
    table_reader control(ctx, "control", table("control"));
    control.get_string("socket", cfg.control.socket, socket_rule);
    control.finish();

    // [inspect]
    table_reader inspect(ctx, "inspect", table("inspect"));
    inspect.get_uint("slots", cfg.gateway.inspect.slots, 0, 16'777'216);
    inspect.get_uint("buffers", cfg.gateway.inspect.buffers, 1, 1'048'576);
    inspect.get_uint("max_bytes", cfg.gateway.inspect.max_bytes, 1024, 65536);
    std::string exhaustion = "fail_open";
    inspect.get_string("on_exhaustion", exhaustion, exhaustion_rule);
    cfg.gateway.inspect.fail_closed = exhaustion == "fail_closed";
    inspect.finish();

    // [icmp]
    table_reader icmp(ctx, "icmp", table("icmp"));
    icmp.get_uint("errors_per_second", cfg.gateway.icmp.errors_per_second, 0, 1'000'000);
    icmp.get_uint("burst", cfg.gateway.icmp.burst, 1, 1'000'000);
    icmp.finish();

    // [tcp]
    const toml::table* tcp_table = table("tcp");
    table_reader tcp(ctx, "tcp", tcp_table);
    if (tcp.get_uint("mss_clamp", cfg.gateway.mss_clamp, 0, 8960) && cfg.gateway.mss_clamp != 0 &&
        cfg.gateway.mss_clamp < 536) {
        ctx.error(tcp_table->get("mss_clamp")->source().begin, "tcp.mss_clamp",
                  fmt::format("expected 0 (off) or an integer in 536..8960, got {}", cfg.gateway.mss_clamp));
    }
    tcp.finish();

    // [fragments]
    table_reader fragments(ctx, "fragments", table("fragments"));
    gateway::fragment_settings& fr = cfg.gateway.fragments;
    fragments.get_uint("max_datagrams", fr.max_datagrams, 0, 16'777'216);
    fragments.get_uint("timeout_ms", fr.timeout_ms, 10, 60'000);
    fragments.get_uint("max_fragments_per_datagram", fr.max_fragments_per_datagram, 2, 1024);
    fragments.get_uint("max_held_bytes", fr.max_held_bytes, 0, 17'179'869'184ull);
    fragments.finish();

    // [neighbors]
    table_reader neighbors(ctx, "neighbors", table("neighbors"));
    gateway::neighbor_settings& nb = cfg.gateway.neighbors;
    neighbors.get_uint("max_entries", nb.max_entries, 1, 1'048'576);
    neighbors.get_seconds("reachable_s", nb.reachable_ms);
    neighbors.get_seconds("stale_s", nb.stale_ms);
    neighbors.get_uint("retries", nb.retries, 1, 10);
    neighbors.get_uint("retry_ms", nb.retry_ms, 10, 60'000);
    neighbors.get_uint("queue_per_entry", nb.queue_per_entry, 0, 64);
    neighbors.get_uint("queue_total", nb.queue_total, 0, 65'536);
    neighbors.get_uint("echo_replies_per_s", cfg.gateway.echo_replies_per_s, 0, 1'000'000);
    neighbors.finish();

    // [events]
    table_reader events(ctx, "events", table("events"));
    events.get_string("log", cfg.events.log, any_string);
    events.get_uint("ring_size", cfg.events.ring_size, 64, 16'777'216);
    events.finish();

    // Cross-field checks, only between values that were themselves valid.
    if (nat_table != nullptr && port_min_ok && port_max_ok &&
        cfg.gateway.pool.port_min > cfg.gateway.pool.port_max) {
        if (const toml::node* n = nat_table->get("port_min")) {
            ctx.error(n->source().begin, "nat.port_min",
                      fmt::format("expected a port <= nat.port_max ({}), got {}", cfg.gateway.pool.port_max,
                                  cfg.gateway.pool.port_min));
        } else {
            ctx.error(nat_table->get("port_max")->source().begin, "nat.port_max",
                      fmt::format("expected a port >= nat.port_min ({}), got {}", cfg.gateway.pool.port_min,
                                  cfg.gateway.pool.port_max));
        }
    }
    // Each worker gets its own slice of the NAT port range and of the flow table.
    if (workers_ok && cfg.run.workers > 1 && port_min_ok && port_max_ok &&
        cfg.gateway.pool.port_min <= cfg.gateway.pool.port_max) {
        const uint32_t ports = uint32_t{cfg.gateway.pool.port_max} - cfg.gateway.pool.port_min + 1;
        if (ports < cfg.run.workers * 64u)
            ctx.error(table("run")->get("workers")->source().begin, "run.workers",
                      fmt::format("expected at most {} (64 NAT ports per worker: nat.port_min..port_max has {}), got {}",
                                  ports / 64, ports, cfg.run.workers));
    }
    for (const auto& a : pool) {
        const auto clash = std::find_if(in.addresses.begin(), in.addresses.end(),
                                        [&](const located_address& i) { return i.address == a.address; });
        if (clash != in.addresses.end()) {
            ctx.error(a.at, a.key,
                      fmt::format("expected an address that is not one of inside.addresses, got {} (also {})",
                                  quote(a.text), clash->key));
        }
    }
    if (in.device_ok && out.device_ok && cfg.inside_port.device == cfg.outside_port.device) {
        ctx.error(outside_table->get("device")->source().begin, "outside.device",
                  fmt::format("expected a device other than inside.device, got {}", quote(cfg.outside_port.device)));
    }
    if (vdevs_ok && allow_ok && extra_ok) {
        if (in.device_ok && inside_table != nullptr) check_device(ctx, inside_table->get("device"), "inside", cfg.eal);
        if (out.device_ok && outside_table != nullptr) {
            check_device(ctx, outside_table->get("device"), "outside", cfg.eal);
        }
    }

    load_result result;
    if (ctx.errors.empty()) {
        result.config = std::move(cfg);
    } else {
        toml_text::sort_by_position(ctx.errors);
        result.errors = std::move(ctx.errors);
    }
    return result;
}

} // namespace


load_result load_config_string(std::string_view text, std::string_view source_name) {
    context ctx{std::string(source_name), {}};
    toml::table root;
    try {
        root = toml::parse(text, std::string(source_name));
    } catch (const toml::parse_error& e) {
        ctx.error(e.source().begin, "syntax", std::string(e.description()));
        return load_result{std::nullopt, std::move(ctx.errors)};
    }
    return load_document(root, ctx);
}

load_result load_config_file(const std::string& path) {
    std::string text;
    toml_text::located_error error;
    if (!toml_text::read_whole_file(path, text, error)) {
        load_result result;
        result.errors.push_back(std::move(error));
        return result;
    }
    return load_config_string(text, path);
}

} // namespace egress::config
