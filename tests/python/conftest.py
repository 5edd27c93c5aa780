"""Shared fixtures of the Python binding tests (run against an installed appforge package)."""

import os
import shutil
import sys
from pathlib import Path

import pytest

SRC = Path(os.environ.get("APPFORGE_SOURCE_DIR", Path(__file__).resolve().parents[2]))


@pytest.fixture(scope="session")
def src() -> Path:
    return SRC


@pytest.fixture(scope="session")
def engine():
    import appforge

    return appforge.Engine()


@pytest.fixture(scope="session")
def cli() -> str:
    """The `appforge` command that `pip install` put next to this interpreter (or APPFORGE_CLI)."""
    here = Path(sys.executable).parent / "appforge"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    env = os.environ.get("APPFORGE_CLI")
    if env and Path(env).is_file():
        return env
    found = shutil.which("appforge")
    if found:
        return found
    pytest.fail("no `appforge` command: `pip install .` must install it into the environment's bin/ "
                "(or set APPFORGE_CLI to a built CLI)")
