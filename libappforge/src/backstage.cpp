#include "appforge/backstage.hpp"

#include <algorithm>

#include "appforge/validate.hpp"
#include "appforge/value_rules.hpp"

namespace appforge::backstage {

using nlohmann::json;

namespace {

constexpr const char* kDraft07 = "http://json-schema.org/draft-07/schema#";
constexpr std::int64_t kMaxField = 4096;  // validate.cpp's bound on free text

/// A field's description from the request schema, so the form's help text is the schema's.
std::string schema_description(const Engine& engine, const std::string& pointer) {
    auto text = embedded_file("schemas/app-request.schema.json");
    if (pointer.rfind("/komodoRequest", 0) == 0 || pointer == "/appDescription")
        text = embedded_file("schemas/komodo-request.schema.json");
    (void)engine;
    if (!text) return {};
    json schema = json::parse(*text);
    json* node = &schema;
    std::size_t start = 1;
    while (start <= pointer.size()) {
        std::size_t slash = pointer.find('/', start);
        std::string key = pointer.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (!node->contains("properties") || !(*node)["properties"].contains(key)) return {};
        node = &(*node)["properties"][key];
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return node->value("description", "");
}

/// "^(label\.)*zone$": a host under (or equal to) a zone, as rules::is_under_zone + is_hostname.
std::string under_zone_regex(const std::string& zone) {
    return std::string("^(") + patterns::host_label + "\\.)*" + regex_escape(zone) + "$";
}

json with_help(json field, const std::string& title, const std::string& description) {
    field["title"] = title;
    if (!description.empty()) field["description"] = description;
    return field;
}

std::vector<std::string> storage_fields(const Pattern& p) {
    std::vector<std::string> f = p.requiredFields;
    // validate.cpp treats s3UseExternalSecrets as used by s3-external even when not required.
    if (p.id == "s3-external" && std::find(f.begin(), f.end(), "s3UseExternalSecrets") == f.end())
        f.push_back("s3UseExternalSecrets");
    return f;
}

/// A dropdown over the catalog: ids as enum, names as enumNames, descriptions as help text.
json pattern_dropdown(const Catalog& catalog, PatternKind kind, const std::string& title) {
    json ids = json::array(), names = json::array();
    std::string help;
    for (const Pattern* p : catalog.patterns(kind)) {
        ids.push_back(p->id);
        names.push_back(p->name);
        help += (help.empty() ? "" : " | ") + p->name + ": " + p->description;
    }
    json f{{"type", "string"}, {"title", title}, {"enum", ids}, {"enumNames", names}, {"ui:help", help}};
    // Default to the least exposed choice: a private ingress, no backup, the first storage.
    for (const Pattern* p : catalog.patterns(kind))
        if (!p->is_public && (kind != PatternKind::backup || p->manifests.empty())) {
            f["default"] = p->id;
            break;
        }
    return f;
}

/// dependencies: {<selector>: {oneOf: [one branch per pattern]}}: RJSF shows a pattern's fields
/// only while that pattern is selected, and ajv requires exactly the selected branch to hold.
json pattern_branches(const Engine& engine, PatternKind kind, const std::string& selector,
                      const std::string& config_key) {
    json one_of = json::array();
    for (const Pattern* p : engine.catalog().patterns(kind)) {
        json branch;
        branch["properties"][selector]["enum"] = json::array({p->id});
        std::vector<std::string> fields, required;
        if (kind == PatternKind::storage) {
            fields = storage_fields(*p);
            required = p->requiredFields;
        } else if (kind == PatternKind::ingress) {
            fields = {p->is_public ? "externalHostname" : "internalHostname"};
        } else if (!p->manifests.empty()) {
            fields = {"retentionDays", "schedule"};
        }
        if (!fields.empty()) {
            json cfg{{"type", "object"}, {"title", p->name + " settings"}, {"description", p->description}};
            for (const auto& f : fields) {
                json fs = field_schema("/" + config_key + "/" + f, engine);
                if (!fs.is_null()) cfg["properties"][f] = fs;
            }
            if (!required.empty()) {
                cfg["required"] = required;
                branch["required"] = json::array({config_key});
            }
            cfg["ui:order"] = fields;
            branch["properties"][config_key] = cfg;
        }
        one_of.push_back(branch);
    }
    json deps;
    deps[selector]["oneOf"] = one_of;
    return deps;
}

/// A page that picks one pattern of a kind and then shows that pattern's settings.
json pattern_page(const Engine& engine, PatternKind kind, const char* title, const char* selector,
                  const char* selector_title, const char* config_key) {
    json page;
    page["title"] = title;
    page["required"] = json::array({selector});
    page["properties"][selector] = pattern_dropdown(engine.catalog(), kind, selector_title);
    page["dependencies"] = pattern_branches(engine, kind, selector, config_key);
    return page;
}

json ids_where(const Catalog& c, PatternKind k, bool (*pred)(const Pattern&)) {
    json out = json::array();
    for (const Pattern* p : c.patterns(k))
        if (pred(*p)) out.push_back(p->id);
    return out;
}

/// What a real app needs beyond its image; the form narrows the input, the rules decide.
json container_page() {
    auto text = [](const char* title, const char* pattern = nullptr, std::size_t max = 4096) {
        json f{{"type", "string"}, {"title", title}, {"maxLength", max}};
        if (pattern) f["pattern"] = pattern;
        return f;
    };
    auto strings = [&](const char* title, const char* description) {
        return json{{"type", "array"}, {"title", title}, {"description", description},
                    {"maxItems", limits::max_args}, {"items", text("Entry")}};
    };
    json port{{"type", "object"}, {"required", {"name", "port"}}};
    port["properties"]["name"] = text("Name", patterns::port_name, 15);
    port["properties"]["port"] = {{"type", "integer"}, {"title", "Port"}, {"minimum", 1}, {"maximum", 65535}};
    port["properties"]["protocol"] = {{"type", "string"}, {"title", "Protocol"}, {"enum", {"TCP", "UDP", "SCTP"}},
                                      {"default", "TCP"}};
    json env{{"type", "object"}, {"required", {"name", "value"}}};
    env["properties"]["name"] = text("Name", patterns::env_var_name, 256);
    env["properties"]["value"] = text("Value");
    json probe{{"type", "object"}, {"required", {"type"}}};
    probe["properties"]["type"] = {{"type", "string"}, {"title", "Type"}, {"enum", {"http", "tcp", "none"}}};
    probe["properties"]["path"] = text("HTTP path", "^/[^ ]*$", 1024);
    probe["properties"]["port"] = text("Port name (default: the first)", patterns::port_name, 15);
    json page{{"title", "Container"}, {"type", "object"}};
    page["properties"]["ports"] = {{"type", "array"},
                                   {"title", "Ports"},
                                   {"description", "The first is the HTTP port (default: http 8080/TCP)"},
                                   {"maxItems", limits::max_ports},
                                   {"items", port}};
    page["properties"]["env"] = {{"type", "array"},
                                 {"title", "Environment"},
                                 {"description", "Plain values only: credentials come from the secret store"},
                                 {"maxItems", limits::max_env},
                                 {"items", env}};
    page["properties"]["command"] = strings("Command", "Replaces the image's entrypoint");
    page["properties"]["args"] = strings("Arguments", "Arguments to the entrypoint");
    json lim{{"type", "object"}, {"title", "Resource limits"}};
    lim["properties"]["cpu"] = text("CPU", patterns::quantity, 64);
    lim["properties"]["memory"] = text("Memory", patterns::quantity, 64);
    page["properties"]["resourceLimits"] = lim;
    json probes{{"type", "object"}, {"title", "Probes"}};
    for (const char* k : {"liveness", "readiness", "startup"}) probes["properties"][k] = probe;
    page["properties"]["probes"] = probes;
    return page;
}

json gitops_pages(const Engine& engine) {
    const ClusterProfile& prof = engine.profile();
    const Catalog& cat = engine.catalog();
    json pages = json::array();

    // Application.
    json app;
    app["title"] = "Application";
    app["type"] = "object";
    app["required"] = json::array({"appName", "containerImage"});
    app["properties"]["appName"] = field_schema("/appName", engine);
    app["properties"]["appName"]["ui:autofocus"] = true;
    app["properties"]["containerImage"] = field_schema("/containerImage", engine);
    app["properties"]["namespace"] = field_schema("/namespace", engine);
    json rr{{"type", "object"}, {"title", "Resource requests"}};
    rr["properties"]["cpu"] = field_schema("/resourceRequests/cpu", engine);
    rr["properties"]["memory"] = field_schema("/resourceRequests/memory", engine);
    if (prof.requireResourceRequests) {
        rr["required"] = {"cpu", "memory"};
        app["required"].push_back("resourceRequests");
    }
    app["properties"]["resourceRequests"] = rr;
    app["ui:order"] = {"appName", "containerImage", "namespace", "resourceRequests", "*"};
    std::string reserved = reserved_namespace_regex(prof);
    if (!reserved.empty()) {  // the namespace defaults to appName, so appName must not be reserved then
        json cond;
        cond["if"]["not"]["required"] = json::array({"namespace"});
        cond["then"]["properties"]["appName"]["not"]["pattern"] = reserved;
        app["allOf"] = json::array({cond});
    }
    pages.push_back(app);

    pages.push_back(pattern_page(engine, PatternKind::storage, "Storage", "storagePattern", "Storage pattern",
                                 "storageConfig"));
    pages.push_back(pattern_page(engine, PatternKind::ingress, "Network", "ingressPattern", "Ingress pattern",
                                 "ingressConfig"));

    // Backup: volsync needs a persistent volume and a shorter appName (its mover Job's name).
    json backup =
        pattern_page(engine, PatternKind::backup, "Backup", "backupStrategy", "Backup strategy", "backupConfig");
    json backing = ids_where(cat, PatternKind::backup, [](const Pattern& p) { return !p.manifests.empty(); });
    json persistent = ids_where(cat, PatternKind::storage, [](const Pattern& p) { return p.persistent; });
    if (!backing.empty()) {
        json cond;
        cond["if"]["properties"]["backupStrategy"]["enum"] = backing;
        cond["if"]["required"] = json::array({"backupStrategy"});
        cond["then"]["properties"]["storagePattern"]["enum"] = persistent;
        cond["then"]["properties"]["appName"]["maxLength"] = limits::dns_label_max - limits::volsync_job_overhead;
        backup["allOf"] = json::array({cond});
    }
    pages.push_back(backup);
    pages.push_back(container_page());

    // Where the change goes.
    json repo;
    repo["title"] = "GitOps repository";
    repo["required"] = json::array({"repoUrl"});
    repo["properties"]["repoUrl"] = {{"type", "string"},
                                     {"title", "GitOps repository"},
                                     {"description", "Repository that Flux reconciles (" + prof.gitopsRoot + "/" +
                                                         prof.gitopsCluster + ")"},
                                     {"ui:field", "RepoUrlPicker"},
                                     {"ui:options", {{"allowedHosts", {"github.com"}}}}};
    pages.push_back(repo);
    return pages;
}

json nas_pages(const Engine& engine) {
    json pages = json::array();
    json app;
    app["title"] = "NAS app";
    app["type"] = "object";
    // No komodoApiUrl: the Komodo URL is the profile's (or the backend's) and never the user's to type.
    app["required"] = json::array({"appName", "komodoRequest"});
    app["properties"]["appName"] = field_schema("/appName", engine);
    app["properties"]["appName"]["ui:autofocus"] = true;
    app["properties"]["appDescription"] = field_schema("/appDescription", engine);
    json kr;
    kr["type"] = "object";
    kr["title"] = "Komodo stack";
    kr["required"] = json::array({"appVersion", "appConfig"});
    for (const char* f : {"appVersion", "appConfig", "storageLocation"})
        kr["properties"][f] = field_schema(std::string("/komodoRequest/") + f, engine);
    kr["ui:order"] = {"appVersion", "storageLocation", "appConfig"};
    app["properties"]["komodoRequest"] = kr;
    app["ui:order"] = {"appName", "appDescription", "komodoRequest", "*"};
    pages.push_back(app);
    return pages;
}

/// "${{ parameters.<f> }}" for every field a page offers: the request the action receives.
json request_input(const json& pages, const std::vector<std::string>& skip) {
    json req{{"operatorId", "${{ user.entity.metadata.name }}"}};
    for (const auto& page : pages) {
        for (auto it = page["properties"].begin(); it != page["properties"].end(); ++it)
            if (std::find(skip.begin(), skip.end(), it.key()) == skip.end())
                req[it.key()] = "${{ parameters." + it.key() + " }}";
        if (page.contains("dependencies"))
            for (const auto& dep : page["dependencies"])
                for (const auto& branch : dep["oneOf"])
                    for (auto it = branch["properties"].begin(); it != branch["properties"].end(); ++it)
                        if (!req.contains(it.key())) req[it.key()] = "${{ parameters." + it.key() + " }}";
    }
    return req;
}

void strip_ui(json& j) {
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end();) {
            if (it.key().rfind("ui:", 0) == 0) it = j.erase(it);
            else strip_ui(*it++);
        }
    } else if (j.is_array()) {
        for (auto& x : j) strip_ui(x);
    }
}

}  // namespace

const char* to_string(Workflow w) { return w == Workflow::gitops ? "gitops" : "nas"; }

std::string regex_escape(const std::string& literal) {
    std::string out;
    for (char c : literal) {
        if (std::string("\\^$.|?*+()[]{}/").find(c) != std::string::npos) out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

std::string reserved_namespace_regex(const ClusterProfile& profile) {
    if (profile.reservedNamespaces.empty()) return {};
    std::string alt;
    for (const auto& glob : profile.reservedNamespaces) {
        std::string r;
        for (char c : glob) {
            if (c == '*') r += ".*";
            else if (c == '?') r += ".";
            else r += regex_escape(std::string(1, c));
        }
        alt += (alt.empty() ? "" : "|") + r;
    }
    return "^(" + alt + ")$";
}

json field_schema(const std::string& pointer, const Engine& engine) {
    const ClusterProfile& p = engine.profile();
    const std::string desc = schema_description(engine, pointer);
    const auto label_max = static_cast<std::int64_t>(limits::dns_label_max);
    if (pointer == "/appName")
        return with_help({{"type", "string"}, {"pattern", patterns::dns1035_label}, {"minLength", 1},
                          {"maxLength", label_max}},
                         "App name", std::string(messages::app_name) + "; starts with a letter; at most 63 characters");
    if (pointer == "/namespace") {
        json f{{"type", "string"}, {"pattern", patterns::dns1123_label}, {"maxLength", label_max}};
        std::string reserved = reserved_namespace_regex(p);
        if (!reserved.empty()) f["not"] = {{"pattern", reserved}};
        std::string list;
        for (const auto& r : p.reservedNamespaces) list += (list.empty() ? "" : ", ") + r;
        return with_help(f, "Namespace", desc + (list.empty() ? "" : "; reserved: " + list));
    }
    if (pointer == "/containerImage")
        return with_help({{"type", "string"}, {"pattern", patterns::image_reference}, {"maxLength", 512}},
                         "Container image", desc);
    if (pointer == "/resourceRequests/cpu" || pointer == "/resourceRequests/memory")
        return with_help({{"type", "string"}, {"pattern", patterns::quantity}, {"maxLength", 64}},
                         pointer == "/resourceRequests/cpu" ? "CPU" : "Memory", desc);
    if (pointer == "/storageConfig/sizeGi")
        return with_help({{"type", "integer"}, {"minimum", limits::sizeGi_min}, {"maximum", limits::sizeGi_max}},
                         "Size (GiB)", desc);
    if (pointer == "/storageConfig/nasEndpoint") {
        json f{{"type", "string"}, {"enum", p.nasEndpoints}};
        if (!p.nasEndpoints.empty()) f["default"] = p.nasEndpoints.front();
        return with_help(f, "NAS endpoint", desc);
    }
    if (pointer == "/storageConfig/nasSubpath")
        return with_help({{"type", "string"}, {"pattern", patterns::nas_subpath}, {"maxLength", kMaxField}},
                         "NAS subpath", desc);
    if (pointer == "/storageConfig/s3Bucket")
        return with_help({{"type", "string"}, {"pattern", patterns::s3_bucket}}, "S3 bucket", desc);
    if (pointer == "/storageConfig/s3Region") {
        const auto& regions = p.s3Regions.empty() ? rules::default_aws_regions() : p.s3Regions;
        return with_help({{"type", "string"}, {"enum", regions}}, "S3 region", desc);
    }
    if (pointer == "/storageConfig/s3UseExternalSecrets") {
        json f{{"type", "boolean"}, {"default", false}};
        if (!p.secretStore) f["enum"] = json::array({false});  // storage.s3.credentials
        return with_help(f, "Credentials through External Secrets", desc);
    }
    if (pointer == "/ingressConfig/internalHostname")
        return with_help({{"type", "string"}, {"maxLength", 253}, {"pattern", under_zone_regex(p.internalZone)}},
                         "Internal hostname", "Leave empty for <appName>." + p.internalZone);
    if (pointer == "/ingressConfig/externalHostname")
        return with_help({{"type", "string"},
                          {"maxLength", 253},
                          {"pattern", under_zone_regex(p.publicZone)},
                          {"not", {{"pattern", under_zone_regex(p.internalZone)}}}},
                         "Public hostname", "Leave empty for <appName>." + p.publicZone);
    if (pointer == "/backupConfig/retentionDays")
        return with_help({{"type", "integer"},
                          {"minimum", limits::retentionDays_min},
                          {"maximum", limits::retentionDays_max},
                          {"default", 30}},
                         "Retention (days)", desc);
    if (pointer == "/backupConfig/schedule")
        return with_help({{"type", "string"}, {"maxLength", 256}, {"default", "0 2 * * *"}}, "Schedule", desc);
    if (pointer == "/appDescription")
        return with_help({{"type", "string"}, {"maxLength", kMaxField}, {"ui:widget", "textarea"}}, "Description",
                         desc);
    if (pointer == "/komodoRequest/appVersion")
        return with_help({{"type", "string"}, {"minLength", 1}, {"maxLength", 128}, {"pattern", "^[^ \\t]+$"},
                          {"default", "latest"}},
                         "App version", desc);
    if (pointer == "/komodoRequest/appConfig")
        return with_help({{"type", "object"}, {"additionalProperties", true}, {"default", json::object()}},
                         "App configuration", desc);
    if (pointer == "/komodoRequest/storageLocation") {
        std::string roots;
        for (const auto& r : p.nasAppRoots) roots += (roots.empty() ? "" : "|") + regex_escape(r);
        json f{{"type", "string"}, {"maxLength", kMaxField}};
        if (!roots.empty())  // absolute, clean (no '.', '..' or empty segments), under an app root
            f["pattern"] = "^(" + roots + ")(/(?!\\.\\.?(/|$))[^/\\x00-\\x1f\\x7f]+)*$";
        return with_help(f, "Storage location", desc);
    }
    return nullptr;
}

json template_document(const Engine& engine, Workflow workflow) {
    const ClusterProfile& prof = engine.profile();
    const bool gitops = workflow == Workflow::gitops;
    json pages = gitops ? gitops_pages(engine) : nas_pages(engine);
    json t;
    t["apiVersion"] = "scaffolder.backstage.io/v1beta3";
    t["kind"] = "Template";
    t["metadata"] = {
        {"name", std::string("appforge-") + to_string(workflow) + "-" + prof.name},
        {"title", gitops ? "Deploy an app to " + prof.name + " (GitOps)" : "Deploy an app on the NAS (Komodo)"},
        {"description", gitops ? "Validated manifests for Flux, opened as a pull request by appforge"
                               : "A Komodo stack on the NAS, validated and deployed by appforge"},
        {"tags", gitops ? json{"appforge", "gitops", "kubernetes"} : json{"appforge", "nas", "komodo"}},
        {"annotations", {{"appforge.dev/version", version()}, {"appforge.dev/profile", prof.name}}}};
    t["spec"]["owner"] = "group:default/platform";
    t["spec"]["type"] = "service";
    t["spec"]["parameters"] = pages;
    json steps = json::array();
    if (gitops) {
        json req = request_input(pages, {"repoUrl"});
        steps.push_back({{"id", "render"},
                         {"name", "Validate and render with appforge"},
                         {"action", "appforge:render"},
                         {"input", {{"profile", prof.name}, {"request", req}}}});
        steps.push_back({{"id", "apply"},
                         {"name", "Plan the GitOps change"},
                         {"action", "appforge:apply"},
                         {"input",
                          {{"profile", prof.name},
                           {"request", "${{ steps.render.output.request }}"},
                           {"repoUrl", "${{ parameters.repoUrl }}"}}}});
        steps.push_back({{"id", "publish"},
                         {"name", "Open the pull request"},
                         {"action", "publish:github:pull-request"},
                         {"input",
                          {{"repoUrl", "${{ parameters.repoUrl }}"},
                           {"branchName", "${{ steps.apply.output.branch }}"},
                           {"title", "${{ steps.apply.output.prTitle }}"},
                           {"description", "${{ steps.apply.output.prBody }}"},
                           {"commitMessage", "${{ steps.apply.output.commitMessage }}"},
                           {"sourcePath", "${{ steps.apply.output.sourcePath }}"},
                           {"targetPath", "${{ steps.apply.output.targetPath }}"}}}});
        t["spec"]["output"]["links"] = {{{"title", "Pull request"}, {"url", "${{ steps.publish.output.remoteUrl }}"}}};
    } else {
        json req = request_input(pages, {});
        req["komodoRequest"] = {{"appName", "${{ parameters.appName }}"},
                                {"appVersion", "${{ parameters.komodoRequest.appVersion }}"},
                                {"appConfig", "${{ parameters.komodoRequest.appConfig }}"},
                                {"storageLocation", "${{ parameters.komodoRequest.storageLocation }}"}};
        steps.push_back({{"id", "validate"},
                         {"name", "Validate with appforge"},
                         {"action", "appforge:validate"},
                         {"input", {{"profile", prof.name}, {"request", req}}}});
        steps.push_back({{"id", "deploy"},
                         {"name", "Deploy the stack through Komodo"},
                         {"action", "appforge:komodo-deploy"},
                         {"input", {{"profile", prof.name}, {"request", "${{ steps.validate.output.request }}"}}}});
        t["spec"]["output"]["links"] = {{{"title", "Komodo update"}, {"url", "${{ steps.deploy.output.updateUrl }}"}}};
    }
    t["spec"]["steps"] = steps;
    return t;
}

json form_schema(const Engine& engine, Workflow workflow) {
    json pages = template_document(engine, workflow)["spec"]["parameters"];
    strip_ui(pages);
    for (auto& p : pages) p.erase("title");
    json out{{"$schema", kDraft07}, {"type", "object"}, {"allOf", pages}};
    // Annotations (ignored by validators) that tell a checker which differences are expected.
    out["x-appforge-template-filled"] = template_filled_fields(workflow);
    out["x-appforge-semantic-only"] = semantic_only_codes(workflow);
    return out;
}

std::vector<std::string> template_filled_fields(Workflow workflow) {
    if (workflow == Workflow::nas)
        return {"/id", "/operatorId", "/timestamp", "/status", "/komodoRequest/appName", "/submissionStatus",
                "/errorMessage"};
    return {"/id",          "/operatorId", "/timestamp", "/status", "/containerImageValidated",
            "/featureBranch", "/commitSha", "/prNumber", "/prUrl",  "/mergedAt",
            "/validationErrors", "/manifestValidationErrors"};
}

std::vector<std::string> semantic_only_codes(Workflow workflow) {
    if (workflow == Workflow::nas)
        return {"schema.unknown_field", "komodo.storageLocation.format", "komodo.description.control"};
    return {
        "image.not_found",           // registry lookup
        "image.denied",              // registry lookup
        "image.unreachable",         // registry lookup
        "image.not_allowed",         // registry lookup (the profile's registries.allowed)
        "image.format",              // digest lengths, 255-character names, bare image ids
        "backup.schedule.format",    // cron grammar (volsync subset)
        "storage.nasSubpath.format", // finer path rules beyond traversal
        "storage.s3Bucket.format",   // IP-shaped names, reserved prefixes and suffixes, ".."
        "schema.unknown_field",      // a multi-page form cannot forbid other pages' keys
    };
}

}  // namespace appforge::backstage
