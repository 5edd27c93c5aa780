// Helm chart values schemas (schemas/<chart>/values.schema.json): SchemaRegistry::find_values and
// validate_values. Kept apart from render.cpp: the schemas are per chart, not per object type.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "appforge/render.hpp"
#include "appforge/resources.hpp"

namespace appforge {

using nlohmann::json;

namespace {

constexpr const char* kValuesFile = "/values.schema.json";

/// Every embedded schemas/<chart>/values.schema.json, compiled once per process (the embedded
/// files never change). Compiling app-template's schema costs a few milliseconds, so it is done
/// on the first call, not when an Engine starts. Each schema is compiled on its own first use.
class ValuesSchemas {
public:
    static const ValuesSchemas& instance() {
        static const ValuesSchemas s;
        return s;
    }
    const JsonSchema* find(const std::string& chart) const {
        auto it = entries_.find(chart);
        if (it == entries_.end()) return nullptr;
        Entry& e = *it->second;
        std::call_once(e.once, [&] {
            e.schema = std::make_unique<JsonSchema>(json::parse(e.text), chart + " values");
        });
        return e.schema.get();
    }

private:
    struct Entry {
        std::string_view text;
        std::once_flag once;
        std::unique_ptr<JsonSchema> schema;
    };
    ValuesSchemas() {
        const std::string prefix = "schemas/";
        const std::string suffix = kValuesFile;
        for (const auto& path : resources::list(prefix)) {
            if (path.size() <= prefix.size() + suffix.size()) continue;
            if (path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
            std::string chart = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
            if (chart.find('/') != std::string::npos) continue;  // only schemas/<chart>/values.schema.json
            auto e = std::make_unique<Entry>();
            e->text = *resources::find(path);
            entries_.emplace(std::move(chart), std::move(e));
        }
    }
    std::map<std::string, std::unique_ptr<Entry>> entries_;
};

}  // namespace

const JsonSchema* SchemaRegistry::find_values(const std::string& chartName) const {
    return ValuesSchemas::instance().find(chartName);
}

Diagnostics SchemaRegistry::validate_values(const std::string& chartName, const json& helmRelease,
                                            const std::string& pointer_prefix) const {
    const std::string where = pointer_prefix + "/spec/values";
    const JsonSchema* schema = find_values(chartName);
    if (schema == nullptr)
        return {Diagnostic{where, "schema.values_chart",
                           "appforge bundles no values schema for chart '" + chartName + "'", Severity::error}};
    static const json empty = json::object();
    const json* values = &empty;
    if (helmRelease.is_object()) {
        auto spec = helmRelease.find("spec");
        if (spec != helmRelease.end() && spec->is_object()) {
            auto v = spec->find("values");
            if (v != spec->end() && !v->is_null()) values = &*v;
        }
    }
    return schema->validate(*values, where);
}

}  // namespace appforge
