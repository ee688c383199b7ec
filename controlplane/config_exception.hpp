// [inside] / [outside] keys of the exception path (issue 17, item 1;
// lib/gateway/exception_path.hpp): exception_interface, exception_ports,
// exception_rate, exception_burst.
#pragma once

#include "config.hpp"
#include "toml_reader.hpp"

namespace egress::config::reading {

// Reads the exception keys of one side's table (before its finish()).
void read_exception(toml_text::table_reader& r, port_settings& port, gateway::side_settings& side);

// Across the sides: the two interfaces need distinct names.
void check_exception_interfaces(toml_text::context& ctx, const toml::table* outside_table,
                                const egressd_config& cfg);

} // namespace egress::config::reading
