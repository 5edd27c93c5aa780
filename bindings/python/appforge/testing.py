"""Golden-file tests for pattern catalogs, from Python (the same kit as ``appforge test-patterns``).

A case is a folder holding ``request.yaml``, an optional ``profile.yaml`` and ``expected/`` (the
rendered files, or ``expected/diagnostics.json`` for a request that must fail). Rendering and
comparing happen in the C++ core; this module only wraps the results.

In a pattern repository::

    import pytest
    from appforge import Engine
    from appforge.testing import assert_case, cases

    ENGINE = Engine(patterns="patterns")

    @pytest.mark.parametrize("case", cases("tests/cases"))
    def test_pattern_case(case):
        assert_case(case, ENGINE)

To rewrite the expected files instead of comparing them, ask for it explicitly:
``run_case(case, engine, update=True)`` / ``assert_case(case, engine, update=True)``, or
``appforge test-patterns CASES_DIR --update``. An environment variable never does: a test run
that inherits one must not rewrite the checkout and pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from . import Diagnostic, Engine, _core, _diagnostics

__all__ = ["CaseResult", "FileDiff", "assert_case", "cases", "find_cases", "run_case", "unified_diff"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class FileDiff:
    """One file of a case that differs: ``kind`` is "missing", "unexpected" or "changed"."""

    kind: str
    path: str  # relative to expected/
    diff: str  # unified diff, expected -> rendered


@dataclass
class CaseResult:
    """The outcome of one case folder."""

    name: str
    path: Path
    actual: Dict[str, str] = field(default_factory=dict)  # what the engine produced, by file
    diffs: List[FileDiff] = field(default_factory=list)
    problems: List[Diagnostic] = field(default_factory=list)  # the case could not run

    @property
    def passed(self) -> bool:
        """The case ran and every expected file matched byte for byte."""
        return not self.diffs and not self.problems

    def report(self) -> str:
        """What a failing case prints: problems, then one unified diff per differing file."""
        lines = [f"case {self.name}: " + ("passed" if self.passed else "FAILED")]
        lines += [f"  {p}" for p in self.problems]
        lines += [f"  {d.kind}: {d.path}" for d in self.diffs]
        return "\n".join(lines) + "\n" + "".join(d.diff for d in self.diffs)


def run_case(path: PathLike, engine: Optional[Engine] = None, *, update: bool = False) -> CaseResult:
    """Renders one case folder with ``engine`` (default: the built-in catalog and profile) and
    compares it with ``expected/``; with ``update=True`` rewrites ``expected/`` first."""
    engine = engine if engine is not None else Engine()
    name, actual, diffs, raw = _core.run_case(engine._engine, os.fspath(path), update)
    return CaseResult(
        name=name,
        path=Path(path),
        actual=dict(actual),
        diffs=[FileDiff(k, p, d) for k, p, d in diffs],
        problems=_diagnostics(raw),
    )


def find_cases(directory: PathLike) -> List[Path]:
    """Every case folder under ``directory`` (folders with request.yaml), sorted."""
    return [Path(p) for p in _core.find_cases(os.fspath(directory))]


def cases(directory: PathLike) -> List[Any]:
    """The case folders as ``pytest.param`` values with readable ids, for ``parametrize``.

    Fails (rather than silently collecting nothing) when the directory holds no case.
    """
    import pytest  # only needed by callers that parametrize

    found = find_cases(directory)
    if not found:
        raise FileNotFoundError(f"{os.fspath(directory)}: no case folders (folders with request.yaml)")
    root = Path(directory)
    return [pytest.param(p, id=p.relative_to(root).as_posix()) for p in found]


def assert_case(path: PathLike, engine: Optional[Engine] = None, *, update: bool = False) -> CaseResult:
    """Runs a case and raises AssertionError with the unified diffs when it fails.

    Only ``update=True`` rewrites ``expected/`` first; the environment is never consulted
    (``APPFORGE_UPDATE`` in a test run's environment changes nothing).
    """
    if not isinstance(update, bool):
        raise TypeError(f"update must be True or False, not {update!r}")
    result = run_case(path, engine, update=update)
    if not result.passed:
        raise AssertionError(result.report())
    return result


def unified_diff(old: str, new: str, old_name: str = "old", new_name: str = "new", context: int = 3) -> str:
    """The core's unified diff (Myers, like ``diff -u``); empty when the texts are equal."""
    result: str = _core.unified_diff(old, new, old_name, new_name, context)
    return result
