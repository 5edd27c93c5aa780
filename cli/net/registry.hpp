// A real ImageChecker: asks the image's registry (Docker Registry HTTP API v2) whether the
// manifest exists, with the anonymous Bearer-token challenge flow registries use for pulls.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "appforge/net_rules.hpp"
#include "appforge/validate.hpp"
#include "http.hpp"

namespace appforge::net {

/// Where and how registries are reached.
struct RegistryOptions {
    /// host[:port] entries spoken to over plain http (besides loopback hosts, which always are).
    std::vector<std::string> insecure_registries;
    /// Every host contacted (registry, token realm, redirect target) must be on this list
    /// (the profile's registries.allowed; rules::reach_problem decides).
    std::vector<std::string> allowed = rules::default_allowed_registries();
    HttpOptions http{3000, 10000};
    RetryPolicy retry{3, 200, 2000};
};

/// Options from the environment: APPFORGE_INSECURE_REGISTRIES is a comma list of host[:port].
RegistryOptions registry_options_from_env();

/// The base URL ("https://registry-1.docker.io") that serves a normalised reference's domain.
std::string registry_base_url(const std::string& domain, const RegistryOptions& options);

/// A parsed WWW-Authenticate challenge: scheme ("bearer", lower-case) and its parameters.
struct AuthChallenge {
    std::string scheme;
    std::map<std::string, std::string> params;  ///< keys lower-cased
};

/// Parses `Bearer realm="...",service="...",scope="..."` (quoted strings may hold commas).
AuthChallenge parse_www_authenticate(const std::string& header);

/// Registry v2 manifest HEAD with Bearer tokens; transport failures are "unreachable", never "not found".
class RegistryImageChecker : public ImageChecker {
public:
    /// Uses the given options (tests pass their insecure loopback registry here).
    explicit RegistryImageChecker(RegistryOptions options = registry_options_from_env()) : options_(std::move(options)) {}
    /// Checks a normalised reference; see ImageCheckResult for the outcomes.
    ImageCheckResult check(const rules::ImageRef& image) const override;

private:
    RegistryOptions options_;
};

}  // namespace appforge::net
