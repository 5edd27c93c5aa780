#!/usr/bin/env python3
"""The mutation check (issue 19): applies each curated mutant of tools/mutants.txt to the source,
rebuilds incrementally in a build folder of its own, runs the tests that must notice it, restores
the source, and prints a table: mutant, killed by which test. Fails if any mutant survives, if a
mutant's snippet is not found exactly once, if a mutant does not compile, or if its test fails
without the mutant.

    tools/mutants.sh                # every mutant
    tools/mutants.sh --rotate 3     # 3 mutants picked by today's date (the same all day)
    tools/mutants.sh NAME...        # the named mutants
    tools/mutants.sh --list         # the list, checked, nothing built

Environment: MUTANTS_BUILD_DIR (default build-mutants), MUTANTS_JOBS (default 2).
The source is restored in a finally block and on SIGINT/SIGTERM; a copy of the original sits in
<build dir>/mutant-backup while a mutant is applied, and a later run restores it first (a run
stopped by SIGKILL leaves no mutant behind for long).
"""
from __future__ import annotations

import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST = Path(os.environ.get("MUTANTS_LIST", ROOT / "tools" / "mutants.txt"))
BUILD = ROOT / os.environ.get("MUTANTS_BUILD_DIR", "build-mutants")
JOBS = os.environ.get("MUTANTS_JOBS", "2")
BACKUP = BUILD / "mutant-backup"
KEYS = ("name", "family", "file", "from", "to", "test")


def unescape(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in "n\\":
            out.append("\n" if s[i + 1] == "n" else "\\")
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def parse_list(path: Path) -> list[dict]:
    mutants, cur = [], {}
    for no, line in enumerate(path.read_text().splitlines() + [""], 1):
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                missing = [k for k in KEYS if k not in cur]
                if missing:
                    sys.exit(f"{path}:{no}: mutant {cur.get('name', '?')} lacks {', '.join(missing)}")
                mutants.append(cur)
                cur = {}
            continue
        key, sep, value = line.partition(": ")
        if not sep or key not in KEYS:
            sys.exit(f"{path}:{no}: expected '<key>: <value>' with key one of {', '.join(KEYS)}: {line!r}")
        cur[key] = unescape(value) if key in ("from", "to") else value.strip()
    names = [m["name"] for m in mutants]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        sys.exit(f"{path}: duplicate mutant names: {', '.join(sorted(dup))}")
    return mutants


def check_snippets(mutants: list[dict]) -> None:
    bad = []
    for m in mutants:
        f = ROOT / m["file"]
        if not f.is_file():
            bad.append(f"{m['name']}: {m['file']} does not exist")
            continue
        n = f.read_text().count(m["from"])
        if n != 1:
            bad.append(f"{m['name']}: snippet found {n} times in {m['file']} (want exactly 1): {m['from']!r}")
        if m["from"] == m["to"]:
            bad.append(f"{m['name']}: from and to are the same")
        if not re.match(r"^(catch|ctest|pytest):\S", m["test"]):
            bad.append(f"{m['name']}: test must be catch:, ctest: or pytest: ({m['test']!r})")
    if bad:
        sys.exit("mutants: the list does not match the source:\n  " + "\n  ".join(bad))


def restore_leftover() -> None:
    if not BACKUP.is_dir():
        return
    for saved in BACKUP.rglob("*"):
        if saved.is_file():
            target = ROOT / saved.relative_to(BACKUP)
            print(f"mutants: restoring {target.relative_to(ROOT)} left mutated by an earlier run", file=sys.stderr)
            shutil.copy2(saved, target)
            saved.unlink()


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kw)


def configure() -> None:
    if (BUILD / "build.ninja").exists():
        return
    cmd = ["cmake", "-S", ".", "-B", str(BUILD), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
           "-DAPPFORGE_BUILD_TESTS=ON", "-DAPPFORGE_BUILD_BENCH=OFF", "-DAPPFORGE_BUILD_PYTHON=OFF"]
    if shutil.which("ccache"):
        cmd.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    p = run(cmd)
    if p.returncode != 0:
        sys.exit(f"mutants: cmake failed:\n{p.stdout}{p.stderr}")


def targets_for(test: str) -> list[str]:
    kind = test.split(":", 1)[0]
    return {"catch": ["appforge_tests"], "ctest": [], "pytest": ["appforge_cli"]}[kind]  # [] = everything


def build(targets: list[str]) -> tuple[bool, str]:
    p = run(["ninja", "-C", str(BUILD), f"-j{JOBS}", *targets])
    return p.returncode == 0, (p.stdout + p.stderr)[-3000:]


def run_test(test: str) -> tuple[bool, list[str], str]:
    """(passed, names of what failed, output tail)."""
    kind, spec = test.split(":", 1)
    if kind == "catch":
        report = BUILD / "mutant-report.xml"
        p = run([str(BUILD / "tests" / "appforge_tests"), spec, "-r", "xml", "-o", str(report)], timeout=1800)
        failed = []
        ran = 0
        try:
            for tc in ET.parse(report).getroot().iter("TestCase"):
                ran += 1
                res = tc.find("OverallResult")
                if res is not None and res.get("success") == "false":
                    failed.append(tc.get("name"))
        except (ET.ParseError, FileNotFoundError):
            failed.append(f"appforge_tests '{spec}' (crashed, exit {p.returncode})")
        if p.returncode != 0 and not failed:
            failed.append(f"appforge_tests '{spec}' (exit {p.returncode})")
        # Catch2 reads ',' as "or" and writes "no match" only into the report: count what ran.
        if p.returncode == 0 and (ran == 0 or "No test cases matched" in p.stdout + p.stderr):
            return False, [f"no Catch2 test matches '{spec}'"], ""
        return p.returncode == 0, failed, (p.stdout + p.stderr)[-2000:]
    if kind == "ctest":
        p = run(["ctest", "--test-dir", str(BUILD), "-R", spec, "--output-on-failure"], timeout=1800)
        failed = re.findall(r"^\s*\d+ - (\S+) \(", p.stdout, re.M)
        if "No tests were found" in p.stdout + p.stderr:
            return False, [f"no ctest matches '{spec}'"], ""
        return p.returncode == 0, failed or [f"ctest -R '{spec}'"], p.stdout[-2000:]
    args = spec.split()
    env = dict(os.environ, APPFORGE_CLI=str(BUILD / "cli" / "appforge"), APPFORGE_SOURCE_DIR=str(ROOT))
    env.pop("APPFORGE_UPDATE", None)
    p = run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", *args], env=env, timeout=1800)
    failed = re.findall(r"^FAILED (\S+)", p.stdout, re.M)
    if p.returncode == 5:
        return False, [f"no pytest test matches '{spec}'"], ""
    return p.returncode == 0, failed or [f"pytest {spec}"], p.stdout[-2000:]


class Applied:
    """A mutant applied in place; the original comes back on exit whatever happens."""

    def __init__(self, m: dict):
        self.m, self.file = m, ROOT / m["file"]

    def __enter__(self):
        self.original = self.file.read_bytes()
        saved = BACKUP / self.m["file"]
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_bytes(self.original)
        text = self.original.decode()
        self.file.write_text(text.replace(self.m["from"], self.m["to"], 1))
        return self

    def __exit__(self, *exc):
        self.file.write_bytes(self.original)
        (BACKUP / self.m["file"]).unlink(missing_ok=True)
        return False


def on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def select(mutants: list[dict], argv: list[str]) -> list[dict]:
    if "--rotate" in argv:
        i = argv.index("--rotate")
        n = int(argv[i + 1])
        day = datetime.date.today().toordinal()
        start = (day * n) % len(mutants)
        return [mutants[(start + k) % len(mutants)] for k in range(min(n, len(mutants)))]
    names = [a for a in argv if not a.startswith("--")]
    if names:
        by = {m["name"]: m for m in mutants}
        unknown = [n for n in names if n not in by]
        if unknown:
            sys.exit(f"mutants: no such mutant: {', '.join(unknown)}")
        return [by[n] for n in names]
    return mutants


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, on_signal)
    os.environ.setdefault("CCACHE_BASEDIR", str(ROOT))  # share compiled objects with the main build
    mutants = parse_list(LIST)
    BUILD.mkdir(exist_ok=True)
    restore_leftover()
    check_snippets(mutants)
    chosen = select(mutants, argv)
    if "--list" in argv:
        for m in chosen:
            print(f"{m['name']:32} {m['family']:45} {m['file']}  [{m['test']}]")
        print(f"{len(chosen)} of {len(mutants)} mutants; every snippet found exactly once")
        return 0
    configure()
    targets = sorted({t for m in chosen for t in targets_for(m["test"])})
    if any(not targets_for(m["test"]) for m in chosen):
        targets = []
    ok, log = build(targets)
    if not ok:
        sys.exit(f"mutants: the unmutated tree does not build:\n{log}")
    # Each mutant's test must pass without it, or a failure would prove nothing.
    for test in dict.fromkeys(m["test"] for m in chosen):
        passed, failed, out = run_test(test)
        if not passed:
            sys.exit(f"mutants: '{test}' fails on the unmutated tree: {', '.join(failed)}\n{out}")
    rows, bad = [], 0
    for m in chosen:
        print(f"mutants: {m['name']} ...", file=sys.stderr, flush=True)
        with Applied(m):
            ok, log = build(targets_for(m["test"]))
            if not ok:
                rows.append((m, "DOES NOT COMPILE", log))
                bad += 1
                continue
            passed, failed, out = run_test(m["test"])
        if passed:
            rows.append((m, "SURVIVED", out))
            bad += 1
        else:
            rows.append((m, "; ".join(failed[:3]) + (f" (+{len(failed) - 3} more)" if len(failed) > 3 else ""), ""))
    build(targets)  # leave the build folder matching the restored source
    w = max(len(m["name"]) for m, _, _ in rows)
    print(f"\n{'mutant':{w}}  {'family':45}  killed by")
    for m, by, _ in rows:
        print(f"{m['name']:{w}}  {m['family']:45}  {by}")
    for m, by, log in rows:
        if by in ("SURVIVED", "DOES NOT COMPILE"):
            print(f"\n--- {m['name']} {by} ({m['file']}: {m['from']!r} -> {m['to']!r})\n{log}")
    print(f"\n{len(rows) - bad} of {len(rows)} mutants killed")
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt as e:
        sys.exit(f"mutants: stopped ({e}); the source is restored")
