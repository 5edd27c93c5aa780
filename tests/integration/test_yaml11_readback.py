"""`appforge render` output read back by a YAML 1.1 reader (PyYAML), as kubectl-era tools read it.

The request's operatorId goes into every object's `appforge.dev/operator` annotation. Under
YAML 1.1 a plain `yes`, `on`, `no`, `~`, `0123`, `12:30` or `2026-01-25` is a boolean, null,
number or timestamp; the value must come back as the very same string. appforge's own parser
is YAML 1.2 and cannot see the difference, so this reads the files with PyYAML.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml  # PyYAML, a YAML 1.1 reader (tools/setup.sh installs it; missing is a failure)

CLI = os.environ.get("APPFORGE_CLI", "")
ANNOTATION = "appforge.dev/operator"
# All valid operatorIds (a refused one would prove nothing, so the render must succeed).
YAML11_WORDS = ["y", "n", "yes", "Yes", "NO", "on", "OFF", "true", "False", "~", "null", "0123", "017", "0x1F",
                "1_000", "1e3", "12:30", "12:30:00", "2026-01-25", "<<", "="]
OTHERS = ["-1", "+1", ".inf", ".NaN", "0b101", "190:20:30", "2026-01-25T10:00:00Z", "- x", "a: b", "#x", "x #y",
          "*a", "&a", "!t", "{a}", "[a]", "'q'", '"q"', "@x", "%x", "|", ">", "---", "...", "?"]


def cli() -> str:
    if not CLI or not os.access(CLI, os.X_OK):
        pytest.fail("APPFORGE_CLI must name the built appforge binary (e.g. build/cli/appforge)")
    return CLI


def request(operator: str) -> str:
    return ("operatorId: " + json.dumps(operator) + "\nappName: whoami\ncontainerImage: traefik/whoami:v1.10.1\n"
            "storagePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n")


def operators_in(out: Path) -> list:
    found = []
    for f in sorted(out.rglob("*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            if isinstance(doc, dict):
                annotations = (doc.get("metadata") or {}).get("annotations") or {}
                if ANNOTATION in annotations:
                    found.append(annotations[ANNOTATION])
    return found


@pytest.mark.parametrize("value", YAML11_WORDS + OTHERS)
def test_rendered_files_keep_the_string_for_a_yaml_1_1_reader(tmp_path, value):
    req = tmp_path / "request.yaml"
    req.write_text(request(value))
    out = tmp_path / "out"
    p = subprocess.run([cli(), "render", str(req), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr  # every value here is a valid operatorId
    found = operators_in(out)
    assert found, f"no {ANNOTATION} annotation in the rendered files"
    for v in found:
        assert type(v) is str and v == value, f"{value!r} read back by YAML 1.1 as {v!r}"
