"""`appforge render --out DIR` on hostile input: exit 1 or 2, never a signal, and nothing written.

Every file of tests/data/hostile/ (and the text inputs of its regressions/ folder) goes through
the real CLI; DIR must not exist afterwards and no staging folder may be left beside it.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import threading
from pathlib import Path

F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)

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


def render_into(tmp_path: Path, *inputs: str) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "out"
    proc = subprocess.run([cli(), "render", *inputs, "--out", str(out)], capture_output=True, cwd=SRC, timeout=300)
    return proc, out


def assert_nothing_written(tmp_path: Path, out: Path) -> None:
    assert not out.exists(), f"{out} was created"
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert leftovers == [], f"files left beside the output folder: {leftovers}"


def test_corpus_is_not_empty():
    assert len(hostile_files()) >= 50


@pytest.mark.parametrize("path", hostile_files(), ids=lambda p: p.name)
def test_hostile_file_writes_nothing(tmp_path: Path, path: Path):
    proc, out = render_into(tmp_path, str(path))
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
    proc, out = render_into(tmp_path, str(VALID), str(HOSTILE / "inject-namespace.yaml"))
    assert proc.returncode == 1, proc.stderr
    assert_nothing_written(tmp_path, out)


# The CLI stops reading at 64 MiB (cli/common.cpp read_input); the parser refuses > 1 MiB.
READ_LIMIT = 64 << 20


def test_100_mb_on_stdin_writes_nothing(tmp_path: Path):
    # Bounded by work, not by a clock: the CLI must stop reading early and refuse. We count the
    # bytes it took from the pipe: at most the read limit plus one read buffer and what the pipe
    # itself holds, never the whole 100 MB.
    body = b"operatorId: bob\nappName: \"" + b"a" * (100 << 20) + b"\"\n"
    out = tmp_path / "out"
    proc = subprocess.Popen([cli(), "render", "-", "--out", str(out)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=SRC)
    pipe_capacity = fcntl.fcntl(proc.stdin.fileno(), F_GETPIPE_SZ)
    stderr: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr.append(proc.stderr.read()), daemon=True)
    reader.start()
    sent = 0
    view = memoryview(body)
    try:
        while sent < len(body):
            sent += os.write(proc.stdin.fileno(), view[sent:sent + (1 << 16)])
    except BrokenPipeError:
        pass  # the CLI closed its end: it read what it needed
    finally:
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
    proc.stdout.read()
    assert proc.wait(timeout=300) == 2, stderr
    reader.join(timeout=60)
    assert b"parse.too_large" in stderr[0]
    assert sent < len(body), "the CLI read all 100 MB"
    assert sent <= READ_LIMIT + 2 * 65536 + pipe_capacity, f"{sent} bytes taken from the pipe"
    assert_nothing_written(tmp_path, out)


def test_control_valid_request_is_written(tmp_path: Path):
    # The same command on a good request does write: the tests above prove refusal, not breakage.
    proc, out = render_into(tmp_path, str(VALID))
    assert proc.returncode == 0, proc.stderr
    assert (out / "deployment.yaml").is_file()
