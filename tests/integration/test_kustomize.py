"""Every golden bundle (tests/golden/<profile>/<combination>/) builds with the real `kubectl kustomize`
and the build holds exactly the objects the combination calls for."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SRC = Path(os.environ.get("APPFORGE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
GOLDEN = SRC / "tests" / "golden"
KIND = re.compile(r"^kind: (\S+)$", re.M)


def kubectl() -> str:
    path = shutil.which("kubectl") or ("/usr/bin/kubectl" if os.access("/usr/bin/kubectl", os.X_OK) else None)
    if not path:
        pytest.fail("kubectl is required for the kustomize tests (install it; tools/setup.sh warns when missing)")
    return path


def golden_dirs() -> list[Path]:
    return sorted(d for d in GOLDEN.glob("*/*") if d.is_dir())


def expected_kinds(combination: str, profile: str) -> list[str]:
    """The objects a combination needs: the test's own statement, independent of the patterns."""
    storage, ingress, backup = combination.split("__")
    kinds = ["Deployment", "Service", "Ingress"]
    if storage in ("longhorn-persistent", "nas-mount"):
        kinds.append("PersistentVolumeClaim")
    if storage == "nas-mount":
        kinds.append("PersistentVolume")
    if backup == "volsync-snapshots":
        kinds.append("ReplicationSource")
        if profile == "lab2":  # lab2 sets volsync.repositoryKey: a restic ExternalSecret per app
            kinds.append("ExternalSecret")
    if storage == "s3-external" and profile == "lab2":  # lab2's golden requests use External Secrets
        kinds.append("ExternalSecret")
    return sorted(kinds)


def test_all_combinations_present() -> None:
    dirs = golden_dirs()
    assert len(dirs) == 32
    assert {d.parent.name for d in dirs} == {"default", "lab2"}


@pytest.mark.parametrize("folder", golden_dirs(), ids=lambda d: f"{d.parent.name}/{d.name}")
def test_golden_builds_with_kubectl_kustomize(folder: Path) -> None:
    files = sorted(p.name for p in folder.iterdir())
    if files == ["diagnostics.json"]:
        assert folder.name.split("__")[0] in ("ephemeral", "s3-external")
        assert folder.name.endswith("__volsync-snapshots")
        return
    assert "kustomization.yaml" in files
    r = subprocess.run([kubectl(), "kustomize", str(folder)], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode()
    kinds = sorted(KIND.findall(out))
    assert kinds == expected_kinds(folder.name, folder.parent.name)
    # One object per resource file, none of them a plaintext Secret.
    assert len(kinds) == len(files) - 1
    assert "Secret" not in kinds
    assert "app.kubernetes.io/managed-by: appforge" in out


def case_dirs() -> list[Path]:
    """The pattern-kit cases' expected bundles (real-app shapes among them), not the failing ones."""
    return sorted(d for d in (SRC / "tests" / "patterns" / "cases").glob("*/expected")
                  if (d / "kustomization.yaml").exists())


def test_real_app_cases_are_there() -> None:
    names = {d.parent.name for d in case_dirs()}
    assert {"real-mosquitto", "real-paperless"} <= names


@pytest.mark.parametrize("folder", case_dirs(), ids=lambda d: d.parent.name)
def test_pattern_case_builds_with_kubectl_kustomize(folder: Path) -> None:
    files = sorted(p.name for p in folder.iterdir())
    r = subprocess.run([kubectl(), "kustomize", str(folder)], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode()
    assert len(KIND.findall(out)) == len(files) - 1
    assert "Secret" not in KIND.findall(out)
