// How config.cpp reads the TOML document: text helpers, string rules (what a
// string value must look like, and how to say so), the error collector and the
// per-table reader. Internal to config.cpp (toml++ stays out of the public
// config.hpp); split off so that config.cpp holds the document itself.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

// The Debian shared library of toml++ is built with exceptions (toml::v3::ex),
// so the default TOML_EXCEPTIONS=1 mode is used: parse() throws
// toml::parse_error on a syntax error.
#include <toml++/toml.h>

#include "config.hpp"
#include "toml_text.hpp"

namespace egress::config::reading {

using position = toml::source_position;

inline constexpr position whole_document{1, 1};

// ---------------------------------------------------------------------------
// Text helpers

using toml_text::edit_distance;
using toml_text::quote;
using toml_text::type_phrase;

// " (did you mean x?)" when a known name is within 2 edits and the edits are at
// most a third of the typo (so "mtu" does not suggest "mac"), else "".
inline std::string suggestion(std::string_view key, const std::vector<std::string_view>& known) {
    const std::string_view best = toml_text::closest(key, known);
    return best.empty() ? std::string{} : fmt::format(" (did you mean {}?)", best);
}

inline bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

inline bool all_hex(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_hex); }

inline bool has_space(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// "BB:DD.F" (the bus/device/function part of a PCI address).
inline bool is_pci_bdf(std::string_view s) {
    return s.size() == 7 && all_hex(s.substr(0, 2)) && s[2] == ':' && all_hex(s.substr(3, 2)) && s[5] == '.' &&
           s[6] >= '0' && s[6] <= '7';
}

// "DDDD:BB:DD.F"
inline bool is_full_pci_address(std::string_view s) {
    return s.size() == 12 && all_hex(s.substr(0, 4)) && s[4] == ':' && is_pci_bdf(s.substr(5));
}

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// An -a entry may carry devargs ("0000:03:00.0,txq_inline=128"); the address
// is the part before the first comma, in the full lowercase domain form.
inline std::string canonical_pci(std::string_view allow_entry) {
    const std::string_view address = allow_entry.substr(0, allow_entry.find(','));
    return is_pci_bdf(address) ? "0000:" + lower(address) : lower(address);
}

inline std::string_view vdev_name(std::string_view vdev) { return vdev.substr(0, vdev.find(',')); }

// -l syntax: "0", "0-3", "0,2,4-5".
// "0", "0-1", "0,2,4-5" (EAL -l), or with lcore-to-CPU mappings (EAL --lcores):
// "(0-4)@(0,1)", "0@0,1@0,2@1": groups of numbers or ranges, a group in
// parentheses may list several, "@" maps lcores to CPUs.
inline bool is_core_list(std::string_view s) {
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
inline bool is_log_level(std::string_view s) {
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

inline constexpr string_rule any_string{"a string", [](std::string_view) { return true; }};
inline constexpr string_rule steering_rule{R"("auto" or "software")",
                                    [](std::string_view v) { return v == "auto" || v == "software"; }};
inline constexpr string_rule rss_key_rule{"80 hexadecimal digits (a 40-byte key)", [](std::string_view v) {
                                       return v.size() == 80 && v.find_first_not_of("0123456789abcdefABCDEF") ==
                                                                    std::string_view::npos;
                                   }};
inline constexpr string_rule exhaustion_rule{R"("fail_open" or "fail_closed")",
                                      [](std::string_view v) { return v == "fail_open" || v == "fail_closed"; }};
// sockaddr_un holds 108 bytes including the terminating NUL.
inline constexpr string_rule socket_rule{"a socket path of at most 107 bytes, or \"\" for off",
                                  [](std::string_view v) { return v.size() <= 107 && v.find('\0') == std::string_view::npos; }};
inline constexpr string_rule listen_rule{R"(an address and port like "127.0.0.1:9469" or "[::1]:9469", or "" for off)",
                                  [](std::string_view s) { return s.empty() || net::endpoint::parse(s).has_value(); }};
inline constexpr string_rule collector_rule{R"(a collector address like "192.0.2.9:4739" or "[2001:db8::9]:4739")",
                                     [](std::string_view s) { return net::endpoint::parse(s).has_value(); }};
inline constexpr string_rule core_list_rule{R"(a core list like "0", "0-1" or "0,2")", is_core_list};
inline constexpr string_rule log_level_rule{R"(a log level like "notice" or "pmd.net.pcap:debug")", is_log_level};
inline constexpr string_rule file_prefix_rule{"a file prefix without '/' or spaces", [](std::string_view s) {
                                           return s.find('/') == std::string_view::npos && !has_space(s);
                                       }};
inline constexpr string_rule vdev_rule{R"(a --vdev string like "net_pcap0,iface=eth0")", [](std::string_view s) {
                                    return !vdev_name(s).empty() && !has_space(vdev_name(s));
                                }};
inline constexpr string_rule pci_rule{"a PCI address like 0000:03:00.0", [](std::string_view s) {
                                   const std::string_view address = s.substr(0, s.find(','));
                                   return is_full_pci_address(address) || is_pci_bdf(address);
                               }};
inline constexpr string_rule device_rule{R"(a DPDK device name like "net_pcap0" or "0000:03:00.0")",
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
inline std::optional<std::pair<net::ip_address, uint8_t>> parse_prefixed(std::string_view text) {
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

} // namespace egress::config::reading
