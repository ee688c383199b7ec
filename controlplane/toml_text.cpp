#include "toml_text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

namespace egress::toml_text {

std::string quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out.push_back('"');
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
    return out;
}

std::string_view type_phrase(const toml::node& n) {
    switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
    }
    return "nothing";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    const std::size_t n = a.size();
    const std::size_t m = b.size();
    std::vector<std::size_t> d((n + 1) * (m + 1));
    auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
    for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
    for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
    for (std::size_t i = 1; i <= n; ++i) {
        for (std::size_t j = 1; j <= m; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
            }
        }
    }
    return at(n, m);
}

std::string located_error::to_string() const {
    const std::string what = key.empty() ? message : fmt::format("{}: {}", key, message);
    if (line == 0) return fmt::format("{}: {}", file, what);
    return fmt::format("{}:{}:{}: {}", file, line, column, what);
}

void sort_by_position(std::vector<located_error>& errors) {
    std::stable_sort(errors.begin(), errors.end(), [](const located_error& a, const located_error& b) {
        return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
}

std::string format_errors(const std::vector<located_error>& errors) {
    std::string out;
    for (const auto& e : errors) {
        out += e.to_string();
        out += '\n';
    }
    return out;
}

bool read_whole_file(const std::string& path, std::string& text, located_error& error) {
    auto fail = [&](std::string_view what, int err) {
        error = located_error{path, 0, 0, "", fmt::format("{}: {}", what, std::strerror(err))};
        return false;
    };
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return fail("cannot open", errno);
    char buf[65536];
    std::size_t n = 0;
    errno = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    const int read_errno = errno;
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    return failed ? fail("cannot read", read_errno) : true;
}

std::string_view closest(std::string_view text, const std::vector<std::string_view>& known) {
    std::string_view best;
    std::size_t best_distance = 3;
    for (const std::string_view candidate : known) {
        const std::size_t distance = edit_distance(text, candidate);
        if (distance < best_distance && distance * 3 <= text.size()) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

} // namespace egress::toml_text
