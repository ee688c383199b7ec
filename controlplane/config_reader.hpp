// What config.cpp knows about the values of egressd's config beyond what every
// table reader knows (controlplane/toml_reader.hpp): text helpers, string rules
// (what a string value must look like, and how to say so), MAC addresses and
// address lists. Internal to the config loaders (config.cpp, config_file.cpp;
// toml++ stays out of the public config.hpp).
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "config.hpp"
#include "toml_reader.hpp"
#include "toml_text.hpp"

namespace egress::config::reading {

using toml_text::any_string;
using toml_text::context;
using toml_text::position;
using toml_text::string_rule;
using toml_text::table_reader;

// ---------------------------------------------------------------------------
// Text helpers

using toml_text::quote;
using toml_text::type_phrase;

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

inline constexpr string_rule rss_key_rule{"80 hexadecimal digits (a 40-byte key)", [](std::string_view v) {
                                       return v.size() == 80 && v.find_first_not_of("0123456789abcdefABCDEF") ==
                                                                    std::string_view::npos;
                                   }};
// sockaddr_un holds 108 bytes including the terminating NUL.
inline constexpr string_rule socket_rule{"a socket path of at most 107 bytes, or \"\" for off",
                                  [](std::string_view v) { return v.size() <= 107 && v.find('\0') == std::string_view::npos; }};
// A listening address: an endpoint as net::endpoint::parse reads it, or one with
// port 0, which asks the kernel for any free port (the metrics server prints the
// port it got). A collector needs a real port, so endpoint::parse refuses 0.
inline std::optional<net::endpoint> listen_endpoint(std::string_view s) {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos || s.substr(colon + 1) != "0") return net::endpoint::parse(s);
    auto e = net::endpoint::parse(std::string(s.substr(0, colon)) + ":1");
    if (e) e->port = 0;
    return e;
}
inline constexpr string_rule listen_rule{R"(an address and port like "127.0.0.1:9469" or "[::1]:9469", or "" for off)",
                                  [](std::string_view s) { return s.empty() || listen_endpoint(s).has_value(); }};
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
// Addresses

// An IP address with where it came from, for cross-field checks.
struct located_address {
    net::ip_address address;
    std::string key; // "nat.pool[1]"
    std::string text;
    position at;
    uint8_t prefix_length = 0; // families::with_prefix: 32 / 128 when the text has none
    uint16_t port = 0;         // families::with_port: 53 when the text has none
};

// any: IPv4 or IPv6; v4_only; with_prefix: either, optionally "/length";
// with_port: either, optionally with a port ("127.0.0.1:5353", "[::1]:5353").
enum class families { any, v4_only, with_prefix, with_port };

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

// A unicast, non-zero MAC address (the getters of table_reader, for a MAC).
bool get_mac(table_reader& r, std::string_view key, std::optional<net::mac_address>& out, bool required = false);
bool get_mac(table_reader& r, std::string_view key, net::mac_address& out, bool required);

// An array of min_count..max_count distinct addresses. The valid elements are
// kept even when others are not, so cross-field checks can still see them.
bool get_address_list(table_reader& r, std::string_view key, std::vector<located_address>& out, families fam,
                      std::size_t min_count, std::size_t max_count, bool required);

// [dns] (config_dns.cpp).
void read_dns_settings(toml_text::context& ctx, const toml::table* table, gateway::dns_settings& out);

} // namespace egress::config::reading

namespace egress::config {

// Reads the config tables of a parsed document (every table but [policy] and
// [dlp], which controlplane/policy_loader reads from the same document) into
// ctx's error collection, unsorted. The result is usable when no error was added.
egressd_config read_config(const toml::table& root, toml_text::context& ctx);

// The config of a parsed document, its errors in source order (the document's
// own syntax or file error when it did not parse).
load_result load_config(const toml_text::document& doc);

} // namespace egress::config
