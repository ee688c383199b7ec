#include "toml_reader.hpp"

#include <algorithm>

namespace egress::toml_text {

document parse_document(std::string_view text, std::string_view source_name) {
    document doc;
    doc.file = std::string(source_name);
    try {
        doc.root = toml::parse(text, doc.file);
    } catch (const toml::parse_error& e) {
        const position at = e.source().begin;
        doc.errors.push_back(located_error{doc.file, at.line, at.column, "syntax", std::string(e.description())});
    }
    return doc;
}

document read_document(const std::string& path) {
    std::string text;
    located_error error;
    if (!read_whole_file(path, text, error)) {
        document doc;
        doc.file = path;
        doc.errors.push_back(std::move(error));
        return doc;
    }
    return parse_document(text, path);
}

void context::error(const position& at, std::string key, std::string message) {
    errors.push_back(located_error{file, at.line, at.column, std::move(key), std::move(message)});
}

void context::wrong(const toml::node& n, std::string key, std::string_view expected, std::string_view got) {
    error(n.source().begin, std::move(key), fmt::format("expected {}, got {}", expected, got));
}

std::string table_reader::path(std::string_view key) const {
    return name_.empty() ? std::string(key) : fmt::format("{}.{}", name_, key);
}

const toml::node* table_reader::find(std::string_view key, bool required) {
    known_.push_back(key);
    if (tbl_ == nullptr) return nullptr;
    const toml::node* n = tbl_->get(key);
    if (n == nullptr && required) ctx_.error(tbl_->source().begin, path(key), "required key missing");
    return n;
}

const toml::table* table_reader::get_table(std::string_view key, bool required) {
    known_.push_back(key);
    if (tbl_ == nullptr) return nullptr;
    const toml::node* n = tbl_->get(key);
    if (n == nullptr) {
        if (required) ctx_.error(name_.empty() ? whole_document : tbl_->source().begin, path(key), "required table missing");
        return nullptr;
    }
    if (!n->is_table()) {
        wrong(*n, path(key), "a table", type_phrase(*n));
        return nullptr;
    }
    return n->as_table();
}

std::vector<std::pair<std::size_t, const toml::table*>> table_reader::get_tables(std::string_view key) {
    std::vector<std::pair<std::size_t, const toml::table*>> out;
    const toml::node* n = find(key, false);
    if (n == nullptr) return out;
    const auto* array = n->as_array();
    if (array == nullptr) {
        wrong(*n, path(key), fmt::format("an array of tables ([[{}]])", path(key)), type_phrase(*n));
        return out;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& e = *array->get(i);
        if (const auto* t = e.as_table()) {
            out.emplace_back(i, t);
        } else {
            wrong(e, fmt::format("{}[{}]", path(key), i), "a table", type_phrase(e));
        }
    }
    return out;
}

bool table_reader::get_bool(std::string_view key, bool& out) {
    const toml::node* n = find(key, false);
    if (n == nullptr) return true;
    if (const auto* v = n->as_boolean()) {
        out = v->get();
        return true;
    }
    wrong(*n, path(key), "a boolean (true or false)", type_phrase(*n));
    return false;
}

bool table_reader::check_uint(const toml::node& n, std::string key, uint64_t min, uint64_t max, int64_t& value) {
    const std::string expected = fmt::format("an integer in {}..{}", min, max);
    const auto* v = n.as_integer();
    if (v == nullptr) {
        wrong(n, std::move(key), expected, type_phrase(n));
        return false;
    }
    value = v->get();
    if (value < 0 || static_cast<uint64_t>(value) < min || static_cast<uint64_t>(value) > max) {
        wrong(n, std::move(key), expected, std::to_string(value));
        return false;
    }
    return true;
}

bool table_reader::get_seconds(std::string_view key, uint32_t& out_ms) {
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

bool table_reader::get_string(std::string_view key, std::string& out, const string_rule& rule, bool required) {
    const toml::node* n = find(key, required);
    if (n == nullptr) return !required;
    return check_string(*n, path(key), rule, out);
}

bool table_reader::get_string_list(std::string_view key, std::vector<std::string>& out, const string_rule& rule) {
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

bool table_reader::check_string(const toml::node& n, std::string key, const string_rule& rule, std::string& out) {
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

std::size_t table_reader::check_choice(const toml::node& n, std::string key, const std::string_view* names,
                                       std::size_t count) {
    std::string expected;
    for (std::size_t i = 0; i < count; ++i) {
        expected += fmt::format("{}{}", i == 0 ? "" : (i + 1 == count ? " or " : ", "), quote(names[i]));
    }
    const auto* v = n.as_string();
    if (v == nullptr) {
        wrong(n, std::move(key), expected, type_phrase(n));
        return count;
    }
    const std::size_t chosen = static_cast<std::size_t>(std::find(names, names + count, v->get()) - names);
    if (chosen == count) wrong(n, std::move(key), expected, quote(v->get()));
    return chosen;
}

void table_reader::finish() {
    if (tbl_ == nullptr) return;
    for (auto&& [k, v] : *tbl_) {
        if (std::find(known_.begin(), known_.end(), k.str()) != known_.end()) continue;
        const bool is_table = v.is_table();
        // A table is reported where its [header] starts; a value where its key is.
        const position at = is_table || !k.source().begin ? v.source().begin : k.source().begin;
        const std::string_view near = closest(k.str(), known_);
        ctx_.error(at, path(k.str()),
                   fmt::format("unknown {}{}", is_table ? "table" : "key",
                               near.empty() ? std::string() : fmt::format(" (did you mean {}?)", near)));
    }
}

} // namespace egress::toml_text
