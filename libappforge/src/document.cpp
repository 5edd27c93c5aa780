#include "appforge/document.hpp"

#include <array>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include "appforge/value_rules.hpp"

namespace appforge {

using nlohmann::json;

namespace {

/// Thrown inside the event handler to abort yaml-cpp's parse with a diagnostic already made.
struct Abort {
    Diagnostic diag;
};

Diagnostic parse_diag(std::string code, std::string message, const YAML::Mark& mark) {
    std::string where;
    if (!mark.is_null()) {
        where = " (line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) + ")";
    }
    return Diagnostic{"", std::move(code), std::move(message) + where, Severity::error};
}

bool all_digits(std::string_view s, bool (*pred)(char)) {
    if (s.empty()) return false;
    for (char c : s)
        if (!pred(c)) return false;
    return true;
}

bool is_dec(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_oct(char c) { return c >= '0' && c <= '7'; }

/// YAML 1.2 core schema float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_core_float(std::string_view s) {
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t int_digits = 0, frac_digits = 0;
    while (i < s.size() && is_dec(s[i])) { ++i; ++int_digits; }
    bool dot = false;
    if (i < s.size() && s[i] == '.') {
        dot = true;
        ++i;
        while (i < s.size() && is_dec(s[i])) { ++i; ++frac_digits; }
    }
    if (int_digits == 0 && frac_digits == 0) return false;
    if (int_digits == 0 && !dot) return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        std::size_t exp_digits = 0;
        while (i < s.size() && is_dec(s[i])) { ++i; ++exp_digits; }
        if (exp_digits == 0) return false;
    }
    return i == s.size();
}

bool is_null_word(std::string_view s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }
bool is_true_word(std::string_view s) { return s == "true" || s == "True" || s == "TRUE"; }
bool is_false_word(std::string_view s) { return s == "false" || s == "False" || s == "FALSE"; }

/// A number too large for a double (1e309, 400 digits) stays text: JSON cannot hold infinity,
/// and an inf would be written back as null (found by fuzzing); the schema reports the type.
json finite_or_text(const std::string& v) {
    double d = std::strtod(v.c_str(), nullptr);
    if (!std::isfinite(d)) return v;
    return d;
}

/// Resolves a plain scalar under the YAML 1.2 core schema (what JSON-minded users expect).
json resolve_plain(const std::string& v) {
    if (is_null_word(v)) return nullptr;
    if (is_true_word(v)) return true;
    if (is_false_word(v)) return false;
    std::string_view s = v;
    std::string_view body = s;
    bool neg = false;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
        neg = body[0] == '-';
        body.remove_prefix(1);
    }
    if (all_digits(body, is_dec)) {
        errno = 0;
        if (neg) {
            long long x = std::strtoll(v.c_str(), nullptr, 10);
            if (errno != ERANGE) return x;
        } else {
            unsigned long long x = std::strtoull(std::string(body).c_str(), nullptr, 10);
            if (errno != ERANGE) return x;
        }
        return finite_or_text(v);
    }
    if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && all_digits(s.substr(2), is_hex) && s.size() <= 18)
        return std::strtoull(v.c_str() + 2, nullptr, 16);
    if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && all_digits(s.substr(2), is_oct) && s.size() <= 23)
        return std::strtoull(v.c_str() + 2, nullptr, 8);
    if (is_core_float(s)) return finite_or_text(v);
    if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf" || s == "+.Inf" || s == "+.INF" ||
        s == "-.inf" || s == "-.Inf" || s == "-.INF" || s == ".nan" || s == ".NaN" || s == ".NAN")
        return v;  // JSON cannot hold them; keep the text so a schema reports a type error
    return v;
}

/// yaml-cpp 0.7 decodes the double-quoted escapes \N and \_ to the single bytes 0x85 and 0xA0
/// instead of UTF-8 (found by fuzzing). The input was checked to be UTF-8, so a byte that does
/// not fit a UTF-8 sequence can only come from those escapes: re-encode it as U+0085 / U+00A0.
std::string repair_escapes(const std::string& v) {
    if (rules::is_valid_utf8(v)) return v;
    std::string out;
    out.reserve(v.size() + 8);
    for (std::size_t i = 0; i < v.size();) {
        unsigned char c = static_cast<unsigned char>(v[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n > 0 && i + n <= v.size() && rules::is_valid_utf8(std::string_view(v).substr(i, n))) {
            out.append(v, i, n);
            i += n;
        } else {
            out.push_back(static_cast<char>(0xC2));  // U+0080..U+00BF: the two escapes' code points
            out.push_back(static_cast<char>(c));
            ++i;
        }
    }
    return out;
}

/// Builds JSON values from yaml-cpp parse events, enforcing the limits as it goes.
class Builder : public YAML::EventHandler {
public:
    explicit Builder(const ParseLimits& limits) : limits_(limits) {}

    json take() { return std::move(root_); }

    void OnDocumentStart(const YAML::Mark&) override {
        stack_.clear();
        root_ = json();
        have_root_ = false;
    }
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { add(mark, nullptr); }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
        throw Abort{parse_diag("parse.alias",
                               "YAML aliases are not allowed in appforge documents (they can expand "
                               "without bound); write the value out",
                               mark)};
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                  const std::string& raw) override {
        const std::string value = repair_escapes(raw);
        if (!rules::is_valid_utf8(value)) throw Abort{parse_diag("parse.utf8", "a scalar is not valid UTF-8", mark)};
        if (tag == "?" || tag.empty()) {
            add(mark, resolve_plain(value));
        } else if (tag == "!" || tag == "tag:yaml.org,2002:str") {
            add(mark, value);
        } else if (tag == "tag:yaml.org,2002:null") {
            add(mark, nullptr);
        } else if (tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:int" ||
                   tag == "tag:yaml.org,2002:float") {
            json v = resolve_plain(value);
            bool ok = (tag == "tag:yaml.org,2002:bool" && v.is_boolean()) ||
                      (tag == "tag:yaml.org,2002:int" && v.is_number_integer()) ||
                      (tag == "tag:yaml.org,2002:float" && v.is_number());
            if (!ok)
                throw Abort{parse_diag("parse.tag", "value does not match its tag " + tag, mark)};
            add(mark, std::move(v));
        } else {
            throw Abort{parse_diag("parse.tag", "unsupported YAML tag '" + tag + "'", mark)};
        }
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        check_collection_tag(mark, tag, "tag:yaml.org,2002:seq");
        open(mark, json::array());
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        check_collection_tag(mark, tag, "tag:yaml.org,2002:map");
        open(mark, json::object());
    }
    void OnMapEnd() override { close(); }

private:
    struct Frame {
        json value;
        bool expecting_key = true;  // maps only
        std::string key;
    };

    void check_collection_tag(const YAML::Mark& mark, const std::string& tag, const char* ok) {
        if (!(tag.empty() || tag == "?" || tag == "!" || tag == ok))
            throw Abort{parse_diag("parse.tag", "unsupported YAML tag '" + tag + "'", mark)};
    }

    void count(const YAML::Mark& mark) {
        if (++nodes_ > limits_.max_nodes)
            throw Abort{parse_diag("parse.too_many_nodes",
                                   "document has more than " + std::to_string(limits_.max_nodes) + " nodes",
                                   mark)};
    }

    void open(const YAML::Mark& mark, json v) {
        count(mark);
        if (stack_.size() >= static_cast<std::size_t>(limits_.max_depth))
            throw Abort{parse_diag("parse.depth",
                                   "document nests deeper than " + std::to_string(limits_.max_depth) + " levels",
                                   mark)};
        if (!stack_.empty() && stack_.back().value.is_object() && stack_.back().expecting_key)
            throw Abort{parse_diag("parse.key", "mapping keys must be plain strings, not collections", mark)};
        stack_.push_back(Frame{std::move(v), true, {}});
        marks_.push_back(mark);
    }

    void close() {
        Frame f = std::move(stack_.back());
        stack_.pop_back();
        YAML::Mark mark = marks_.back();
        marks_.pop_back();
        place(mark, std::move(f.value));
    }

    void add(const YAML::Mark& mark, json v) {
        count(mark);
        if (!stack_.empty() && stack_.back().value.is_object() && stack_.back().expecting_key) {
            Frame& f = stack_.back();
            if (v.is_null()) throw Abort{parse_diag("parse.key", "mapping key must not be empty", mark)};
            std::string key = v.is_string() ? v.get<std::string>() : v.dump();
            if (f.value.contains(key))
                throw Abort{parse_diag("parse.duplicate_key", "duplicate key '" + key + "'", mark)};
            f.key = std::move(key);
            f.expecting_key = false;
            return;
        }
        place(mark, std::move(v));
    }

    void place(const YAML::Mark&, json v) {
        if (stack_.empty()) {
            root_ = std::move(v);
            have_root_ = true;
            return;
        }
        Frame& f = stack_.back();
        if (f.value.is_array()) {
            f.value.push_back(std::move(v));
        } else {
            f.value[f.key] = std::move(v);
            f.expecting_key = true;
        }
    }

    const ParseLimits& limits_;
    std::vector<Frame> stack_;
    std::vector<YAML::Mark> marks_;
    json root_;
    bool have_root_ = false;
    std::size_t nodes_ = 0;
};

/// The common shape of a hand-written request or profile: block mappings of "key: scalar" lines
/// in ASCII, comments and blank lines. Reads it without yaml-cpp (a 15-line request costs ~50 us
/// there) and returns nothing for anything else (lists, flow style, escapes, anchors, tags,
/// multi-line scalars, duplicate keys, odd indentation), which then takes the full parser, so
/// the result and every diagnostic stay exactly yaml-cpp's.
std::optional<json> parse_simple_block(std::string_view text, const ParseLimits& limits) {
    struct Frame {
        std::size_t indent;
        json* map;
    };
    json root = json::object();
    std::vector<Frame> stack;
    json* pending = nullptr;  // a key whose value is on the following lines (a map) or empty (null)
    std::size_t pending_indent = 0;
    std::size_t nodes = 1;
    std::size_t pos = 0;
    bool any = false;
    auto is_key_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    };
    while (pos < text.size()) {
        std::size_t eol = text.find('\n', pos);
        if (eol == std::string_view::npos) eol = text.size();
        std::string_view line = text.substr(pos, eol - pos);
        pos = eol + 1;
        if (line.size() > 512) return std::nullopt;  // yaml-cpp caps implicit keys at 1024 chars
        for (char c : line)
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return std::nullopt;
        std::size_t indent = line.find_first_not_of(' ');
        if (indent == std::string_view::npos || line[indent] == '#') continue;  // blank or comment
        std::string_view rest = line.substr(indent);
        char first = rest[0];
        if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '_')) return std::nullopt;
        std::size_t k = 0;
        while (k < rest.size() && is_key_char(rest[k])) ++k;
        if (k >= rest.size() || rest[k] != ':' || (k + 1 < rest.size() && rest[k + 1] != ' ')) return std::nullopt;
        std::string key(rest.substr(0, k));
        if (is_null_word(key) || is_true_word(key) || is_false_word(key)) return std::nullopt;
        // Place the line: open the pending map, or find the map at this indentation.
        if (!any) {
            stack.push_back(Frame{indent, &root});
            any = true;
        } else if (pending && indent > pending_indent) {
            *pending = json::object();
            stack.push_back(Frame{indent, pending});
            pending = nullptr;
        } else {
            pending = nullptr;
            while (!stack.empty() && stack.back().indent > indent) stack.pop_back();
            if (stack.empty() || stack.back().indent != indent) return std::nullopt;
        }
        if (stack.size() >= static_cast<std::size_t>(limits.max_depth)) return std::nullopt;
        json& map = *stack.back().map;
        if (map.contains(key)) return std::nullopt;
        nodes += 2;
        if (nodes > limits.max_nodes) return std::nullopt;
        json& slot = map[key];  // null until a value or a nested map arrives
        std::string_view v = rest.substr(k + 1);
        std::size_t b = v.find_first_not_of(' ');
        if (b == std::string_view::npos || v[b] == '#') {
            if (b != std::string_view::npos && b == 0) return std::nullopt;
            pending = &slot;
            pending_indent = indent;
            continue;
        }
        v.remove_prefix(b);
        std::string_view tail;
        if (v[0] == '"' || v[0] == '\'') {
            std::size_t close = v.find(v[0], 1);
            if (close == std::string_view::npos) return std::nullopt;
            std::string_view body = v.substr(1, close - 1);
            if (body.find('\\') != std::string_view::npos) return std::nullopt;
            if (v[0] == '\'' && close + 1 < v.size() && v[close + 1] == '\'') return std::nullopt;
            slot = std::string(body);
            tail = v.substr(close + 1);
            std::size_t t = tail.find_first_not_of(' ');
            if (t != std::string_view::npos && !(tail[t] == '#' && t > 0)) return std::nullopt;
            continue;
        }
        static const std::string_view indicators = "-?:,[]{}#&*!|>'\"%@`";
        if (indicators.find(v[0]) != std::string_view::npos) return std::nullopt;
        std::size_t end = v.size();
        for (std::size_t i = 0; i < v.size(); ++i) {
            char c = v[i];
            if (c == '#') {
                if (v[i - 1] != ' ') return std::nullopt;
                end = i;
                break;
            }
            if (c == ':' && (i + 1 == v.size() || v[i + 1] == ' ')) return std::nullopt;
            if (c == '[' || c == ']' || c == '{' || c == '}' || c == '\'' || c == '"' || c == '\\') return std::nullopt;
        }
        std::string_view plain = v.substr(0, end);
        while (!plain.empty() && plain.back() == ' ') plain.remove_suffix(1);
        slot = resolve_plain(std::string(plain));
    }
    if (!any) return std::nullopt;
    return root;
}

}  // namespace

Result<std::vector<json>> parse_documents(std::string_view text, const ParseLimits& limits) {
    Result<std::vector<json>> out;
    auto fail = [&](std::string code, std::string message) {
        out.diagnostics.push_back(Diagnostic{"", std::move(code), std::move(message), Severity::error});
        return out;
    };
    if (text.size() > limits.max_bytes)
        return fail("parse.too_large", "document is " + std::to_string(text.size()) + " bytes; the limit is " +
                                           std::to_string(limits.max_bytes) + " bytes");
    if (std::memchr(text.data(), '\0', text.size()) != nullptr)
        return fail("parse.nul", "document contains a NUL byte");
    if (!rules::is_valid_utf8(text)) return fail("parse.utf8", "document is not valid UTF-8");
    if (limits.max_documents >= 1) {
        if (auto simple = parse_simple_block(text, limits)) {
            out.value.emplace();
            out.value->push_back(std::move(*simple));
            return out;
        }
    }
    // A UTF-8 byte order mark is harmless; yaml-cpp handles it, JSON editors add it.
    std::string buffer(text);
    std::istringstream in(buffer);
    std::vector<json> docs;
    try {
        YAML::Parser parser(in);
        Builder builder(limits);
        while (parser.HandleNextDocument(builder)) {
            if (docs.size() >= limits.max_documents)
                return fail("parse.documents", "expected " + std::to_string(limits.max_documents) +
                                                   " YAML document(s), found more");
            docs.push_back(builder.take());
        }
    } catch (const Abort& a) {
        out.diagnostics.push_back(a.diag);
        return out;
    } catch (const YAML::Exception& e) {
        return fail("parse.syntax", "not valid YAML or JSON: " + e.msg +
                                        (e.mark.is_null() ? std::string()
                                                          : " (line " + std::to_string(e.mark.line + 1) + ", column " +
                                                                std::to_string(e.mark.column + 1) + ")"));
    } catch (const std::exception& e) {
        return fail("parse.syntax", std::string("not valid YAML or JSON: ") + e.what());
    }
    out.value = std::move(docs);
    return out;
}

Result<json> parse_document(std::string_view text, const ParseLimits& limits) {
    Result<json> out;
    auto many = parse_documents(text, limits);
    out.diagnostics = std::move(many.diagnostics);
    if (!many.value) return out;
    if (many.value->empty()) {
        out.diagnostics.push_back(Diagnostic{"", "parse.empty", "document is empty", Severity::error});
        return out;
    }
    out.value = std::move(many.value->front());
    return out;
}

// ---------------------------------------------------------------------------------------------
// Emitting

bool yaml_plain_safe(std::string_view s) {
    if (s.empty() || s.size() > 1024) return false;
    unsigned char first = static_cast<unsigned char>(s.front());
    if (!(std::isalnum(first) || first == '/' || first == '_' || first == '.')) return false;
    if (s.back() == ' ' || s.back() == ':') return false;
    // "..." and "---" at a line start end or start a document (found by fuzzing).
    if (s.rfind("...", 0) == 0 || s.rfind("---", 0) == 0) return false;
    // One table lookup per character (this runs on every string of every manifest):
    // 1 = never plain, 2 = can appear in a number, 4 = depends on the next character.
    static const auto cls = [] {
        std::array<unsigned char, 256> t{};
        for (int c = 0; c < 256; ++c) t[c] = (c < 0x20 || c >= 0x7f) ? 1 : 0;
        for (unsigned char c : std::string_view("#'\"`{}[],&*!|>%@\\")) t[c] = 1;
        for (unsigned char c : std::string_view("0123456789.+-eE_:xXoObBabcdefABCDEF")) t[c] |= 2;
        t[':'] |= 4;
        t[' '] |= 4;
        return t;
    }();
    bool numberish = true;
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char k = cls[static_cast<unsigned char>(s[i])];
        if (k & 1) return false;
        if ((k & 4) && i + 1 < s.size() && s[i + 1] == (s[i] == ':' ? ' ' : '#')) return false;
        numberish = numberish && (k & 2);
    }
    // Anything a YAML 1.1 or 1.2 reader might turn into a number, a date or a sexagesimal.
    if (numberish && std::isdigit(first)) return false;
    if (numberish && (first == '.' || first == '+' || first == '-')) return false;
    // Only short strings can be one of the words (the longest has 5 characters).
    if (s.size() <= 5) {
        char lower[6];
        for (std::size_t i = 0; i < s.size(); ++i)  // ASCII only here: the loop above refused the rest
            lower[i] = (s[i] >= 'A' && s[i] <= 'Z') ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
        std::string_view l(lower, s.size());
        static constexpr std::string_view words[] = {"y",    "n", "yes",  "no",    "on",   "off",   "true", "false",
                                                     "null", "~", ".inf", "-.inf", ".nan", "+.inf", "<<",   "="};
        for (std::string_view w : words)
            if (l == w) return false;
    }
    // Dates (YYYY-MM-DD...) are timestamps to YAML 1.1 readers.
    if (s.size() >= 10 && std::isdigit(first) && s[4] == '-' && s[7] == '-') return false;
    return true;
}

std::string yaml_double_quoted_body(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    static const char* hex = "0123456789ABCDEF";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += "\\x";
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 0xf]);
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
    }
    return out;
}

namespace {

void emit_scalar_string(std::string& out, const std::string& s) {
    if (yaml_plain_safe(s)) {
        out += s;
    } else {
        out.push_back('"');
        out += yaml_double_quoted_body(s);
        out.push_back('"');
    }
}

void emit_scalar(std::string& out, const json& v) {
    switch (v.type()) {
        case json::value_t::null: out += "null"; break;
        case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
        case json::value_t::string: emit_scalar_string(out, v.get_ref<const std::string&>()); break;
        case json::value_t::object: out += "{}"; break;
        case json::value_t::array: out += "[]"; break;
        default: out += v.dump(); break;
    }
}

bool is_block(const json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void emit_node(std::string& out, const json& v, int indent);

void emit_map(std::string& out, const json& v, int indent, bool first_inline) {
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
        if (!(first && first_inline)) out.append(static_cast<std::size_t>(indent), ' ');
        first = false;
        const std::size_t key_at = out.size();
        emit_scalar_string(out, it.key());
        if (out.size() - key_at > 1000) {
            // YAML caps implicit keys at 1024 characters; longer ones need the explicit "? key"
            // form or the output does not read back (found by fuzzing).
            out.insert(key_at, "? ");
            out.push_back('\n');
            out.append(static_cast<std::size_t>(indent), ' ');
        }
        out.push_back(':');
        if (is_block(*it)) {
            out.push_back('\n');
            emit_node(out, *it, indent + 2);
        } else {
            out.push_back(' ');
            emit_scalar(out, *it);
            out.push_back('\n');
        }
    }
}

void emit_seq(std::string& out, const json& v, int indent) {
    for (const auto& item : v) {
        out.append(static_cast<std::size_t>(indent), ' ');
        out += "- ";
        if (item.is_object() && !item.empty()) {
            emit_map(out, item, indent + 2, true);
        } else if (item.is_array() && !item.empty()) {
            out.push_back('\n');
            emit_seq(out, item, indent + 2);
        } else {
            emit_scalar(out, item);
            out.push_back('\n');
        }
    }
}

void emit_node(std::string& out, const json& v, int indent) {
    if (v.is_object() && !v.empty()) {
        emit_map(out, v, indent, false);
    } else if (v.is_array() && !v.empty()) {
        emit_seq(out, v, indent);
    } else {
        out.append(static_cast<std::size_t>(indent), ' ');
        emit_scalar(out, v);
        out.push_back('\n');
    }
}

}  // namespace

std::string to_yaml(const json& value) {
    std::string out;
    out.reserve(1024);
    emit_node(out, value, 0);
    return out;
}

std::string to_json_text(const json& value) { return value.dump(2, ' ', false, json::error_handler_t::replace) + "\n"; }

}  // namespace appforge
