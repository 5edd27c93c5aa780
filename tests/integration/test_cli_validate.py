"""`appforge validate` as a user runs it: exit codes, stdin, text and JSON output, bad files.

The expected diagnostics come from the request corpus (tests/data/requests, see its README), so
the CLI is held to exactly what the C++ tests hold the library to.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

CLI = os.environ.get("APPFORGE_CLI", "")
SRC = Path(os.environ.get("APPFORGE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
DATA = SRC / "tests" / "data"
CORPUS = DATA / "requests"
VALID = CORPUS / "valid" / "minimal.yaml"
INVALID = CORPUS / "invalid" / "app-name-uppercase.yaml"
WARNING = CORPUS / "valid" / "warning-large-size.yaml"
LINE = re.compile(r"^(?P<file>[^:]+): (?P<path>/[^:]*): (?P<warn>warning: )?(?P<message>.+) \[(?P<code>[A-Za-z0-9_.]+)\]$")


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    if not CLI or not os.access(CLI, os.X_OK):
        pytest.fail(f"APPFORGE_CLI must point at the built appforge binary (got {CLI!r})")
    return subprocess.run([CLI, "validate", *args], input=stdin, capture_output=True, cwd=SRC, timeout=60)


def corpus_files() -> list[Path]:
    out = []
    for which in ("valid", "invalid"):
        for p in sorted((CORPUS / which).iterdir()):
            if p.suffix in (".yaml", ".json") and not p.name.endswith(".expected.json"):
                out.append(p)
    return out


def profile_args(request: Path) -> list[str]:
    side = request.with_suffix(".profile")
    return ["--profile", str(DATA / side.read_text().strip())] if side.exists() else []


@pytest.mark.parametrize("request_file", corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_json_output_and_exit_code(request_file: Path) -> None:
    rel = str(request_file.relative_to(SRC))
    r = run("--output", "json", *profile_args(request_file), rel)
    out = json.loads(r.stdout)
    expected = json.loads(request_file.with_name(request_file.stem + ".expected.json").read_text())
    assert [d["file"] for d in out] == [rel] * len(out)
    assert [{k: v for k, v in d.items() if k != "file"} for d in out] == expected
    errors = [d for d in expected if d["severity"] == "error"]
    if any(d["code"].startswith("parse.") for d in errors):
        assert r.returncode == 2
    else:
        assert r.returncode == (1 if errors else 0), r.stderr.decode()


def test_json_shape() -> None:
    r = run("--output", "json", str(INVALID), str(WARNING))
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert isinstance(out, list) and len(out) == 2
    for d in out:
        assert set(d) == {"file", "path", "code", "message", "severity"}
        assert all(isinstance(v, str) for v in d.values())
        assert d["severity"] in ("error", "warning")
        assert d["path"] == "" or d["path"].startswith("/")
    assert out[0]["message"] == "App name must be lowercase alphanumeric with hyphens"
    assert out[1]["severity"] == "warning"
    # No diagnostics at all is still a JSON array.
    r = run("--output", "json", str(VALID))
    assert r.returncode == 0 and json.loads(r.stdout) == []


def test_text_format_is_file_path_message() -> None:
    r = run(str(INVALID), str(WARNING), str(CORPUS / "invalid" / "missing-required.yaml"))
    assert r.returncode == 1
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 4
    parsed = [LINE.match(l) for l in lines]
    assert all(parsed), lines
    assert parsed[0]["file"] == str(INVALID) and parsed[0]["path"] == "/appName"
    assert parsed[0]["message"] == "App name must be lowercase alphanumeric with hyphens"
    assert parsed[1]["warn"] and parsed[1]["code"] == "storage.sizeGi.large"
    assert {p["path"] for p in parsed[2:]} == {"/operatorId", "/containerImage"}
    # Valid files print nothing on stdout.
    assert run(str(VALID)).stdout == b""


def test_exit_codes() -> None:
    assert run(str(VALID)).returncode == 0
    assert run(str(WARNING)).returncode == 0  # warnings never fail
    assert run(str(INVALID)).returncode == 1
    assert run(str(VALID), str(INVALID)).returncode == 1
    assert run(str(INVALID), str(VALID)).returncode == 1
    # Unreadable or unparsable input beats invalid input.
    assert run(str(INVALID), "/nonexistent/request.yaml").returncode == 2
    assert run(str(CORPUS / "invalid" / "duplicate-key.yaml"), str(INVALID)).returncode == 2
    # Usage errors are 2 as well.
    assert run().returncode == 2
    assert run("--output", "xml", str(VALID)).returncode == 2
    assert run("--profile", "/nonexistent/profile.yaml", str(VALID)).returncode == 2


def test_stdin_dash() -> None:
    r = run("-", stdin=VALID.read_bytes())
    assert r.returncode == 0
    r = run("-", stdin=INVALID.read_bytes())
    assert r.returncode == 1
    assert r.stdout.decode().startswith("-: /appName: App name must be lowercase alphanumeric with hyphens")
    r = run("--output", "json", "-", stdin=json.dumps({"operatorId": "x"}).encode())
    assert r.returncode == 1
    assert {d["file"] for d in json.loads(r.stdout)} == {"-"}
    r = run("-", stdin=b"appName: [unclosed\n")
    assert r.returncode == 2


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    r = run("--output", "json", str(missing))
    assert r.returncode == 2
    (d,) = json.loads(r.stdout)
    assert d["code"] == "io.read" and d["file"] == str(missing)
    assert "No such file" in d["message"]
    r = run(str(tmp_path))  # a directory is not a request
    assert r.returncode == 2
    assert r.stdout.decode().startswith(f"{tmp_path}: /: ")


@pytest.mark.parametrize(
    "content,code",
    [
        (b"operatorId: [\n", "parse.syntax"),
        (b"a: b: c\n", "parse.syntax"),
        (b"a: 1\na: 2\n", "parse.duplicate_key"),
        (b"a: &x [1]\nb: *x\n", "parse.alias"),
        (b"appName: \"\xff\"\n", "parse.utf8"),
        (b"", "parse.empty"),
        (b"a: 1\n---\nb: 2\n", "parse.documents"),
        (b"x" * (1024 * 1024 + 1), "parse.too_large"),
    ],
)
def test_unparsable_input_exits_2(tmp_path: Path, content: bytes, code: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_bytes(content)
    r = run("--output", "json", str(f))
    assert r.returncode == 2, r.stdout
    assert [d["code"] for d in json.loads(r.stdout)] == [code]
