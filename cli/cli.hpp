// Shared plumbing of the appforge command-line tool: argument parsing, I/O, output formats.
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "appforge/engine.hpp"

namespace appforge::cli {

/// Exit codes shared by every command: 0 valid, 1 invalid input, 2 unreadable input or usage.
enum Exit { kOk = 0, kInvalid = 1, kUnreadable = 2 };

/// Parsed command line: positional arguments plus --flag[=value] options (repeatable).
struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>> options;
    std::vector<std::string> errors;

    /// The last value of an option, if given.
    std::optional<std::string> get(const std::string& name) const;
    /// Whether a value-less flag (or any option) was given.
    bool has(const std::string& name) const { return options.count(name) > 0; }
};

/// Splits argv; value_options lists the options that take a value ("--x v" or "--x=v").
Args parse_args(int argc, char** argv, int first, const std::vector<std::string>& value_options);

/// Reads a file, or standard input for "-"; nullopt with a message when it cannot.
std::optional<std::string> read_input(const std::string& path, std::string& error);

/// Builds the engine from --profile and --patterns; prints diagnostics and returns null on failure.
std::shared_ptr<const Engine> make_engine(const Args& args, std::ostream& err);

/// Test hook: APPFORGE_FAIL_AFTER_WRITES=N makes apply fail after N object writes, to prove nothing is left.
std::optional<long> fail_after_writes_hook();

/// Prints diagnostics as "FILE: PATH: message" lines (text) or collects them for JSON output.
void print_diagnostics(std::ostream& out, const std::string& file, const Diagnostics& ds);

/// One diagnostic as the JSON object {path, code, message, severity}.
nlohmann::json diagnostic_json(const Diagnostic& d);

int cmd_validate(int argc, char** argv);
int cmd_render(int argc, char** argv);
int cmd_test_patterns(int argc, char** argv);
int cmd_diff(int argc, char** argv);
int cmd_backstage_template(int argc, char** argv);
int cmd_komodo(int argc, char** argv);
int cmd_plan(int argc, char** argv);
int cmd_apply(int argc, char** argv);

}  // namespace appforge::cli
