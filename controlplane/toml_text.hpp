// The wording shared by every TOML reader of egressd (the config loader and the
// policy loader), so their error messages read the same.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "located_error.hpp"

namespace egress::toml_text {

// s in double quotes, with quotes, backslashes and control bytes escaped.
std::string quote(std::string_view s);

// "a string", "an integer", ...: what a node is, for "expected X, got Y".
std::string_view type_phrase(const toml::node& n);

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
std::size_t edit_distance(std::string_view a, std::string_view b);

// Reads a whole file into text; on failure fills error ("path: cannot open: ...",
// "path: cannot read: ...", line 0) and returns false.
bool read_whole_file(const std::string& path, std::string& text, located_error& error);

// The known name closest to text, within 2 edits that are at most a third of
// text's length (so "mtu" does not suggest "mac"); "" when none is that close.
std::string_view closest(std::string_view text, const std::vector<std::string_view>& known);

} // namespace egress::toml_text
