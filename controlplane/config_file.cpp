#include "config_file.hpp"

#include "config_reader.hpp"
#include "policy_loader.hpp"
#include "toml_reader.hpp"

namespace egress::config {

namespace {

config_file load(const toml_text::document& doc) {
    config_file result;
    if (!doc.parsed()) {
        result.errors = doc.errors;
        return result;
    }
    toml_text::context ctx{doc.file, {}};
    egressd_config cfg = read_config(doc.root, ctx);
    // The policy is compiled for the number of workers the config asks for.
    policy::policy_load_result policy = policy::read_policy(doc.root, ctx, 1, cfg.run.workers);
    if (!ctx.errors.empty()) {
        toml_text::sort_by_position(ctx.errors);
        result.errors = std::move(ctx.errors);
        return result;
    }
    result.config = std::move(cfg);
    if (policy.present) result.policy = std::move(policy.policy);
    return result;
}

} // namespace

config_file load_config_and_policy_file(const std::string& path) { return load(toml_text::read_document(path)); }

config_file load_config_and_policy_string(std::string_view text, std::string_view source_name) {
    return load(toml_text::parse_document(text, source_name));
}

} // namespace egress::config
