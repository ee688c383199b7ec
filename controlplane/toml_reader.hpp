// How egressd reads its TOML file: the file parsed once into a document, one
// error collection for everything found wrong in it, and one reader for a table
// of it. The config loader (controlplane/config.cpp: [eal], [inside], [nat], ...)
// and the policy loader (controlplane/policy_loader.cpp: [policy], [dlp]) both
// read through table_reader, so a key is found, type-checked, range-checked and
// reported unknown the same way, in the same words, wherever it is.
//
// toml++ shows here; the public config.hpp stays free of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

// The Debian shared library of toml++ is built with exceptions (toml::v3::ex),
// so the default TOML_EXCEPTIONS=1 mode is used: parse() throws
// toml::parse_error on a syntax error.
#include <toml++/toml.h>

#include "located_error.hpp"
#include "toml_text.hpp"

namespace egress::toml_text {

using position = toml::source_position;

// Where errors about the document as a whole (a required table missing) point.
inline constexpr position whole_document{1, 1};

// One TOML file, parsed once. When it cannot be read or does not parse, errors
// holds that one error (line 0 "path: cannot open: ...", or key "syntax") and
// root is empty.
struct document {
    std::string file; // the path, or the source name given with the text
    toml::table root;
    std::vector<located_error> errors;

    bool parsed() const { return errors.empty(); }
};

document parse_document(std::string_view text, std::string_view source_name);
document read_document(const std::string& path);

// The errors found in one document, by every reader of it, in the order found;
// sort_by_position() puts them in source order at the end.
struct context {
    std::string file;
    std::vector<located_error> errors;

    void error(const position& at, std::string key, std::string message);
    // "expected <expected>, got <got>" where n is.
    void wrong(const toml::node& n, std::string key, std::string_view expected, std::string_view got);
};

// What a string value must look like, and how to say so.
struct string_rule {
    std::string_view expected; // "expected <this>, got ..."
    bool (*ok)(std::string_view);
};

inline constexpr string_rule any_string{"a string", [](std::string_view) { return true; }};

// Reads the keys of one table. Each getter names a key (which makes it known),
// leaves the default in place when the key is absent, reports a problem and
// returns false when the value is unusable. finish() reports the keys nobody
// asked for. A reader for an absent table (tbl == nullptr) reports nothing.
// The reader of the document root has the name "": its keys are "eal", "policy".
class table_reader {
public:
    table_reader(context& ctx, std::string name, const toml::table* tbl)
        : ctx_(ctx), name_(std::move(name)), tbl_(tbl) {}

    // "name.key" ("key" at the root): the key as errors name it.
    std::string path(std::string_view key) const;
    const std::string& name() const { return name_; }
    context& ctx() { return ctx_; }
    const toml::table* table() const { return tbl_; }

    const toml::node* find(std::string_view key, bool required);
    void wrong(const toml::node& n, std::string key, std::string_view expected, std::string_view got) {
        ctx_.wrong(n, std::move(key), expected, got);
    }

    // A sub-table; nullptr when absent (reported when required: at 1:1 for a
    // table of the root, else where this table starts) or not a table (reported).
    const toml::table* get_table(std::string_view key, bool required);

    // The elements of an array of tables ([[name.key]]), each checked to be a
    // table, with their index; none when the key is absent or not an array.
    std::vector<std::pair<std::size_t, const toml::table*>> get_tables(std::string_view key);

    bool get_bool(std::string_view key, bool& out);

    // An integer in min..max.
    template <typename T>
    bool get_uint(std::string_view key, T& out, uint64_t min, uint64_t max, bool required = false) {
        const toml::node* n = find(key, required);
        if (n == nullptr) return !required;
        int64_t value = 0;
        if (!check_uint(*n, path(key), min, max, value)) return false;
        out = static_cast<T>(value);
        return true;
    }

    // Whole seconds >= 1, stored as milliseconds (so at most UINT32_MAX / 1000 s).
    bool get_seconds(std::string_view key, uint32_t& out_ms);

    bool get_string(std::string_view key, std::string& out, const string_rule& rule, bool required = false);
    bool get_string_list(std::string_view key, std::vector<std::string>& out, const string_rule& rule);

    // A string that must be one of `choices` ("expected "a", "b" or "c", got ...").
    template <typename T, std::size_t N>
    bool get_enum(std::string_view key, T& out, const std::pair<std::string_view, T> (&choices)[N],
                  bool required = false) {
        const toml::node* n = find(key, required);
        if (n == nullptr) return !required;
        std::string_view names[N];
        for (std::size_t i = 0; i < N; ++i) names[i] = choices[i].first;
        const std::size_t chosen = check_choice(*n, path(key), names, N);
        if (chosen == N) return false;
        out = choices[chosen].second;
        return true;
    }

    // Reports every key of the table that no getter named.
    void finish();

private:
    bool check_uint(const toml::node& n, std::string key, uint64_t min, uint64_t max, int64_t& value);
    bool check_string(const toml::node& n, std::string key, const string_rule& rule, std::string& out);
    // The index of n's value in names[0..count); count (after reporting) when none.
    std::size_t check_choice(const toml::node& n, std::string key, const std::string_view* names, std::size_t count);

    context& ctx_;
    std::string name_;
    const toml::table* tbl_;
    std::vector<std::string_view> known_;
};

} // namespace egress::toml_text
