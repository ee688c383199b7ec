// The "explain" answer (docs/control-protocol.md): the decision of a policy
// snapshot for one connection (policy/explain.hpp, the packet path's own
// evaluation, traced), as JSON. The control socket answers it about the policy
// in force; `egressd --explain FILE ...` about a config file, offline. Both
// carry "lines", the text egressctl and egressd print, so they read the same.
#pragma once

#include <string>
#include <string_view>

#include "control_server.hpp"
#include "policy/explain.hpp"

namespace egress::controlplane {

// The request's src, dst, proto ("tcp", "udp", "icmp" or a number), port (tcp
// and udp: required), and sni or host (the name; "" when none is sent). Throws
// request_error naming the argument.
policy::explain_query explain_query_of(const request_args& args);

// source: the file the rules came from (for file:line).
json explanation_json(const policy::active_policy& p, const policy::explain_query& q, std::string_view source);

// egressd --explain FILE --src A --dst B [--proto P] [--port N] [--sni NAME | --host NAME] [--json]:
// prints the answer for FILE's [policy] (errors: as --check-config). Returns the
// exit code: 0 allowed, 1 denied (or waiting for a name that was not given), 2 usage or config error.
int explain_offline(int argc, char** argv);

} // namespace egress::controlplane
