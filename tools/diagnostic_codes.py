#!/usr/bin/env python3
"""Lists the diagnostic codes the core (libappforge/src), the edge library (libappforge/edge)
and the CLI (cli/) can emit, read from the sources, and which of them no test names.

    tools/diagnostic_codes.py            # every code, one a line
    tools/diagnostic_codes.py --missing  # the codes no file under tests/ names; exit 1 if any

How codes are written in the sources (see diagnostic.hpp and the call sites):
  * as a plain string literal, "family.rule[.detail]", passed to Diagnostic{path, code, ...} or
    to a sink helper (Sink::error/warning, error(), fail(), err(), reject(), add(), ...);
  * as a prefix handed to validate.cpp's bounded(s, path, "<prefix>", ...), which emits
    "<prefix>.length" and "<prefix>.control";
  * composed at a few known sites (COMPOSED below): "resources." + name + ".format",
    "pattern." + kind + ".unknown", and the JSON Schema codes (schema.*) re-prefixed with
    "verify.", "pattern." or "profile.".
Every dotted literal in the sources is a candidate. A candidate is a code unless it is a file
name, a host name, or listed in NOT_CODES with the reason; a literal that starts or ends with a
'.' (a composition) must belong to a COMPOSED site. Anything the scanner cannot place fails
loudly, so a new way of writing codes is noticed instead of silently uncounted.
"""
from __future__ import annotations

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE_DIRS = ["libappforge", "cli"]
SOURCE_SUFFIXES = {".cpp", ".hpp", ".h"}
# The scanner found 185 codes when written; far fewer means it no longer sees how codes are written.
MIN_CODES = 150

CODE = re.compile(r"^[a-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)+$")
PART = re.compile(r"^[a-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$")  # a piece of a composed code
FILE_SUFFIXES = (".yaml", ".yml", ".json", ".hpp", ".h", ".cpp", ".md", ".txt", ".lock", ".git", ".toml")
HOST_SUFFIXES = (".io", ".com", ".space", ".example", ".aws", ".dev", ".org", ".net")

# Dotted literals that are not diagnostic codes, each with why.
NOT_CODES = {
    "user.name": "git config key (edge apply)",
    "user.email": "git config key (edge apply)",
    "commit.gpgsign": "git config key (edge apply)",
    "major.minor.patch": "version format in a doc string",
    "app.id": "bounded() prefix: app.id.length / app.id.control",
    "secretStore.name": "profile field named in a profile.name message",
    "volsync.repositorySecret": "profile field named in a profile.name message",
    "volsync.snapshotClass": "profile field named in a profile.name message",
    "gitops.root": "profile field named in a profile.layout.git message",
    "gitops.cluster": "profile field named in a profile.layout.git message",
    "gitops.namespacesDir": "profile field named in a profile.layout.git message",
    "komodo.stacksDir": "profile field named in a profile.komodo.path message",
    "komodo.syncFile": "profile field named in a profile.komodo.path message",
    "komodo.defaultTier": "profile field named in a profile.komodo.path message",
}
# Prefixes of profile settings named in messages ("allow with policy.allowRbac").
NOT_CODE_PREFIXES = {
    "policy.": "profile policy setting named in a verify.policy.* message",
    "risk.": "a RiskReason code of the gitops risk verdict, not a Diagnostic",
}

CONSTRAINT_KEYWORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "pattern",
                       "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "minProperties",
                       "maxProperties", "format", "not", "oneOf", "anyOf", "propertyNames", "dependencies"}


def schema_codes(*globs):
    """The schema.* codes JsonSchema::validate (schema.cpp) can report for these schema files: type,
    required, unknown_field (additionalProperties false), enum (enum/const), and constraint for every
    other keyword valijson checks."""
    import json

    found = set()

    def walk(n):
        if isinstance(n, dict):
            if "type" in n:
                found.add("schema.type")
            if n.get("required"):
                found.add("schema.required")
            if n.get("additionalProperties") is False:
                found.add("schema.unknown_field")
            if "enum" in n or "const" in n:
                found.add("schema.enum")
            if CONSTRAINT_KEYWORDS & n.keys():
                found.add("schema.constraint")
            for k, v in n.items():
                if k not in ("enum", "const", "required"):
                    walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    files = [f for g in globs for f in sorted(ROOT.glob(g))]
    if not files:
        raise SystemExit(f"diagnostic_codes: no schema files match {globs}")
    for f in files:
        if f.name != "index.json":
            walk(json.loads(f.read_text()))
    return sorted(found)


# Composition sites: (file, exact snippet, the codes it emits). Each snippet must be found.
COMPOSED = [
    ("libappforge/src/validate.cpp", 's.error(path, code + ".length",', []),  # bounded(): expanded per call
    ("libappforge/src/validate.cpp", 's.error(path, code + ".control",', []),
    ("libappforge/src/validate.cpp", 'std::string("resources.") + name + ".format"',
     ["resources.cpu.format", "resources.memory.format"]),
    ("libappforge/src/validate.cpp", 'std::string("resources.") + name + ".required"',
     ["resources.cpu.required", "resources.memory.required"]),
    ("libappforge/src/validate.cpp", 'bounded(s, path, std::string("resources.") + name,',
     ["resources.cpu.length", "resources.cpu.control", "resources.memory.length", "resources.memory.control"]),
    ("libappforge/src/validate.cpp", 'std::string("pattern.") + to_string(kind) + ".unknown"',
     ["pattern.storage.unknown", "pattern.ingress.unknown", "pattern.backup.unknown"]),
    # storage->requiredFields comes from the storage patterns' data (libappforge/patterns/storage).
    ("libappforge/src/validate.cpp", '"storage." + f + ".required"', "STORAGE_REQUIRED"),
    # The JSON Schema codes re-prefixed: those the schema each site validates against can produce.
    ("libappforge/src/render.cpp", 'd.code = "verify." + d.code;', ("verify.", "schemas/kubernetes/*.json")),
    ("libappforge/src/catalog.cpp", 'd.code = "pattern." + d.code;', ("pattern.", "schemas/pattern.schema.json")),
    ("libappforge/src/engine.cpp", 'd.code = "profile." + d.code;', ("profile.", "schemas/cluster-profile.schema.json")),
    # Not codes: field names composed into messages, and compose labels (Traefik router/service keys).
    ("libappforge/src/komodo.cpp", 'std::string("runAs.") + k + " is required"', []),
    ("libappforge/src/komodo.cpp", 'std::string("runAs.") + k + " must be a numeric id', []),
    ("libappforge/src/komodo.cpp", 'std::string("appConfig.") + k + " must be a folder name', []),
    ("libappforge/src/komodo.cpp", 'labels["traefik.http.routers." + name + ".rule"]', []),
    ("libappforge/src/komodo.cpp", 'labels["traefik.http.services." + name + ".loadbalancer.server.port"]', []),
    # Not compositions: prefix tests on codes already counted.
    ("libappforge/src/diagnostic.cpp", 'd.code.rfind("parse.", 0) == 0', []),
    ("libappforge/src/engine.cpp", 'd.code.rfind("schema.", 0) == 0', []),
]
BOUNDED = re.compile(r'\bbounded\(\s*s\s*,\s*[^,]+,\s*"([^"]+)"')

TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|R"([^(]*)\((?:.|\n)*?\)\1"|"((?:[^"\\\n]|\\.)*)"|\'(?:[^\'\\\n]|\\.)*\'', re.S)


def sources():
    for d in SOURCE_DIRS:
        for f in sorted((ROOT / d).rglob("*")):
            if f.suffix in SOURCE_SUFFIXES and f.is_file():
                yield f


def literals(text):
    """(string literal, offset) for every ordinary string literal outside comments."""
    for m in TOKEN.finditer(text):
        if m.group(2) is not None:
            yield m.group(2), m.start()


def storage_required_fields():
    fields = set()
    for f in sorted((ROOT / "libappforge/patterns/storage").glob("*.yaml")):
        m = re.search(r"^requiredFields:\s*\[([^\]]*)\]", f.read_text(), re.M)
        if m:
            fields.update(x.strip().strip("'\"") for x in m.group(1).split(",") if x.strip())
        else:
            for block in re.findall(r"^requiredFields:\s*\n((?:\s+-\s*\S+\n)+)", f.read_text(), re.M):
                fields.update(re.findall(r"-\s*(\S+)", block))
    if not fields:
        raise SystemExit("diagnostic_codes: found no requiredFields in libappforge/patterns/storage")
    return ["storage." + x + ".required" for x in sorted(fields)]


def scan():
    """{code: [where it is defined]}; raises SystemExit on anything it cannot place."""
    codes: dict[str, list[str]] = {}
    problems = []

    def add(code, where):
        codes.setdefault(code, []).append(where)

    composed_found = {i: 0 for i in range(len(COMPOSED))}
    for f in sources():
        rel = f.relative_to(ROOT).as_posix()
        text = f.read_text(encoding="utf-8")
        bounded_prefixes: dict[str, int] = {}  # prefix -> how many bounded() calls pass it
        for m in BOUNDED.finditer(text):
            bounded_prefixes[m.group(1)] = bounded_prefixes.get(m.group(1), 0) + 1
            line = text.count("\n", 0, m.start()) + 1
            add(m.group(1) + ".length", f"{rel}:{line}")
            add(m.group(1) + ".control", f"{rel}:{line}")
        for i, (cf, snippet, _) in enumerate(COMPOSED):
            if cf == rel:
                composed_found[i] += text.count(snippet)
        for s, off in literals(text):
            line = text.count("\n", 0, off) + 1
            where = f"{rel}:{line}"
            if s.startswith(".") or s.endswith("."):
                # (pieces ending in '-' are temporary file names: ".appforge-stage-")
                if (not PART.match(s.strip(".")) or s.strip(".").endswith("-") or s.endswith(FILE_SUFFIXES)
                        or s in (".inf", ".nan", ".mrap")):
                    continue
                # A composed code: its line must be one of the COMPOSED snippets.
                src_line = text.splitlines()[line - 1]
                if not any(cf == rel and snippet in src_line for cf, snippet, _ in COMPOSED):
                    problems.append(f"{where}: '{s}' composes a code at a site COMPOSED does not list: {src_line.strip()}")
                continue
            if not CODE.match(s):
                continue
            if s.endswith(FILE_SUFFIXES) or s.lower().endswith(HOST_SUFFIXES):
                continue
            if s in NOT_CODES or any(s.startswith(p) for p in NOT_CODE_PREFIXES):
                continue
            if s in bounded_prefixes and text.count('"' + s + '"') <= bounded_prefixes[s]:
                continue  # only ever a bounded() prefix in this file
            add(s, where)
    for i, (cf, snippet, emitted) in enumerate(COMPOSED):
        if composed_found[i] != 1:
            problems.append(f"{cf}: composition snippet found {composed_found[i]} times (want 1): {snippet}")
            continue
        if emitted == "STORAGE_REQUIRED":
            emitted = storage_required_fields()
        elif isinstance(emitted, tuple):
            emitted = [emitted[0] + c for c in schema_codes(emitted[1])]
        for c in emitted:
            add(c, f"{cf} ({snippet})")
    if len(codes) < MIN_CODES:
        problems.append(f"only {len(codes)} codes found (expected at least {MIN_CODES}): the scanner no longer "
                        "sees how codes are written")
    if problems:
        raise SystemExit("diagnostic_codes: cannot place these literals:\n  " + "\n  ".join(problems))
    return codes


# Files under tests/ that do not count as naming a code: the check itself and its allow-list.
NOT_TESTS = {"tests/integration/test_diagnostic_codes.py", "tests/diagnostic_codes_pending.txt"}


def test_texts():
    for f in sorted((ROOT / "tests").rglob("*")):
        rel = f.relative_to(ROOT).as_posix()
        if not f.is_file() or "node_modules" in f.parts or "__pycache__" in f.parts or rel in NOT_TESTS:
            continue
        try:
            yield rel, f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


WORD = re.compile(r"(?<![A-Za-z0-9_.-])[a-z][A-Za-z0-9_.-]*")


def named_by_tests(codes):
    """{code: [test files naming it]}: the code as a whole word (not a prefix of a longer code)."""
    named = {c: [] for c in codes}
    for rel, text in test_texts():
        words = {w.rstrip(".-") for w in WORD.findall(text)}
        for c in codes:
            if c in words:
                named[c].append(rel)
    return named


def pending():
    """The allow-list of codes whose tests land on another branch (tests/diagnostic_codes_pending.txt)."""
    f = ROOT / "tests/diagnostic_codes_pending.txt"
    if not f.exists():
        return set()
    return {l.split("#")[0].strip() for l in f.read_text().splitlines() if l.split("#")[0].strip()}


def main(argv):
    codes = scan()
    if "--missing" in argv:
        named = named_by_tests(codes)
        missing = sorted(c for c in codes if not named[c])
        for c in missing:
            print(c, " ".join(codes[c][:1]))
        print(f"{len(codes)} codes, {len(missing)} named by no test", file=sys.stderr)
        return 1 if missing else 0
    for c in sorted(codes):
        print(c, " ".join(codes[c][:1]))
    print(f"{len(codes)} codes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
