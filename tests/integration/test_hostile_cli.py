"""`appforge render --out DIR` on hostile input: exit 1 or 2, never a signal, and nothing written.

Every file of tests/data/hostile/ (and the text inputs of its regressions/ folder) goes through
the real CLI; DIR must not exist afterwards and no staging folder may be left beside it.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

CLI = os.environ.get("APPFORGE_CLI", "")
SRC = Path(os.environ.get("APPFORGE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
HOSTILE = SRC / "tests" / "data" / "hostile"
VALID = SRC / "examples" / "requests" / "whoami-internal.yaml"
# The one corpus file that is a valid request (YAML 1.1 'no' stays a string under YAML 1.2).
ACCEPTED = {"type-operator-yaml11-bool.yaml"}
PARSE_FAILURES = ("bomb-", "deep-", "invalid-utf8", "nul-byte", "duplicate-key")


def cli() -> str:
    if not CLI or not os.access(CLI, os.X_OK):
        pytest.fail(f"APPFORGE_CLI must point at the built appforge binary (got {CLI!r})")
    return CLI


def hostile_files() -> list[Path]:
    files = [p for p in sorted(HOSTILE.iterdir()) if p.is_file() and p.name not in ACCEPTED]
    # Regression inputs that are request texts (render_fields inputs are harness bytes, not files).
    files += [p for p in sorted((HOSTILE / "regressions").iterdir())
              if p.name.split("--")[0] in ("parse", "check", "render")]
    return files


def render_into(tmp_path: Path, *inputs: str, stdin: bytes | None = None) -> tuple[subprocess.CompletedProcess, Path, float]:
    out = tmp_path / "out"
    t0 = time.monotonic()
    proc = subprocess.run([cli(), "render", *inputs, "--out", str(out)], input=stdin, capture_output=True,
                          cwd=SRC, timeout=120)
    return proc, out, time.monotonic() - t0


def assert_nothing_written(tmp_path: Path, out: Path) -> None:
    assert not out.exists(), f"{out} was created"
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert leftovers == [], f"files left beside the output folder: {leftovers}"


def test_corpus_is_not_empty():
    assert len(hostile_files()) >= 50


@pytest.mark.parametrize("path", hostile_files(), ids=lambda p: p.name)
def test_hostile_file_writes_nothing(tmp_path: Path, path: Path):
    proc, out, _ = render_into(tmp_path, str(path))
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {proc.stderr[-2000:]!r}"
    expected = 2 if path.name.startswith(PARSE_FAILURES) else 1
    if path.parent.name == "regressions":
        assert proc.returncode in (1, 2), proc.stderr[-2000:]
    else:
        assert proc.returncode == expected, proc.stderr[-2000:]
    assert b"internal error" not in proc.stderr
    assert proc.stderr.strip(), "a refused request must say why"
    assert_nothing_written(tmp_path, out)


def test_hostile_file_next_to_valid_one_writes_nothing(tmp_path: Path):
    # All or nothing: one bad request among good ones leaves no partial bundle behind.
    proc, out, _ = render_into(tmp_path, str(VALID), str(HOSTILE / "inject-namespace.yaml"))
    assert proc.returncode == 1, proc.stderr
    assert_nothing_written(tmp_path, out)


def test_100_mb_on_stdin_writes_nothing(tmp_path: Path):
    body = b"operatorId: bob\nappName: \"" + b"a" * (100 << 20) + b"\"\n"
    proc, out, seconds = render_into(tmp_path, "-", stdin=body)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert b"parse.too_large" in proc.stderr
    assert seconds < 60
    assert_nothing_written(tmp_path, out)


def test_control_valid_request_is_written(tmp_path: Path):
    # The same command on a good request does write: the tests above prove refusal, not breakage.
    proc, out, _ = render_into(tmp_path, str(VALID))
    assert proc.returncode == 0, proc.stderr
    assert (out / "deployment.yaml").is_file()
