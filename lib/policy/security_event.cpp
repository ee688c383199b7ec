#include "policy/security_event.hpp"

namespace egress::policy {

std::string_view to_string(security_event_kind k) noexcept {
    switch (k) {
    case security_event_kind::deny: return "deny";
    case security_event_kind::would_deny: return "would_deny";
    case security_event_kind::cut: return "cut";
    case security_event_kind::block: return "block";
    case security_event_kind::dlp: return "dlp";
    case security_event_kind::source_limit: return "source_limit";
    }
    return "unknown";
}

} // namespace egress::policy
