"""Issue 13, items 7, 10, 14 and 16 through the CLI, with real git checkouts in temporary folders.

- item 7: `test-patterns --update` and `backstage-template --out` never write, read or delete
  through a link they did not make;
- item 10: output that cannot be written (stdout is /dev/full) fails the command with exit 2;
- item 14: `plan` refuses the symlinked folders and files that `apply` refuses, with the same code;
- item 16: the hostname scan reads `.json` resources and reports the links it does not follow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_gitops import FIXTURE, NS_ROOT, WHOAMI, Repo, clean_env, cli, codes, write_request

SRC = Path(os.environ.get("APPFORGE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
CASES = SRC / "tests" / "patterns" / "cases"
KOMODO = SRC / "examples" / "requests" / "myapp-komodo.yaml"


def run(*args: str, env: dict | None = None, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([cli(), *args], stdout=stdout, stderr=subprocess.PIPE, text=True, env=env, timeout=120)


def tree(folder: Path) -> dict[str, str]:
    """Every path below folder with its bytes (or its link target), so any change shows."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "-> " + os.readlink(p) if p.is_symlink() else (p.read_text() if p.is_file() else "<dir>")
    return out


@pytest.fixture
def gitops(tmp_path: Path) -> Repo:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "gitops"
    r = Repo(work, clean_env(home))
    for rel, text in FIXTURE.items():
        f = work / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return r


def commit(r: Repo) -> None:
    r.git("init", "-q", "-b", "main")
    r.git("add", "-A")
    r.git("-c", "user.name=Fixture", "-c", "user.email=fixture@example.org", "commit", "-q", "-m", "initial tree")


# ---------------------------------------------------------------------------------------
# item 7: the pattern kit and the Backstage generator
# ---------------------------------------------------------------------------------------


@pytest.fixture
def case_with_outside(tmp_path: Path) -> tuple[Path, Path]:
    cases = tmp_path / "cases"
    shutil.copytree(CASES / "storage-longhorn", cases / "longhorn")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.yaml").write_text("OUTSIDE-SECRET\n")
    (outside / "deployment.yaml").write_text("kind: NotTheDeployment\n")
    return cases, outside


@pytest.mark.parametrize("update", [False, True])
def test_expected_symlink_is_never_followed(case_with_outside, update: bool):
    cases, outside = case_with_outside
    expected = cases / "longhorn" / "expected"
    shutil.rmtree(expected)
    expected.symlink_to(outside, target_is_directory=True)
    before = tree(outside)
    p = run("test-patterns", str(cases), *(["--update"] if update else []))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "[kit.symlink]" in p.stdout + p.stderr
    assert "OUTSIDE-SECRET" not in p.stdout + p.stderr
    assert tree(outside) == before  # nothing deleted, rewritten or added outside the case tree
    assert expected.is_symlink()


@pytest.mark.parametrize("update", [False, True])
def test_symlinked_expected_file_is_never_read_or_deleted(case_with_outside, update: bool):
    cases, outside = case_with_outside
    expected = cases / "longhorn" / "expected"
    (expected / "precious.yaml").symlink_to(outside / "precious.yaml")
    (expected / "deployment.yaml").unlink()
    (expected / "deployment.yaml").symlink_to(outside / "deployment.yaml")
    before = tree(outside)
    p = run("test-patterns", str(cases), *(["--update"] if update else []))
    assert p.returncode == 1, p.stdout + p.stderr
    assert "[kit.symlink]" in p.stdout + p.stderr
    assert "OUTSIDE-SECRET" not in p.stdout + p.stderr and "NotTheDeployment" not in p.stdout + p.stderr
    assert tree(outside) == before
    assert (expected / "precious.yaml").is_symlink() and (expected / "deployment.yaml").is_symlink()


def test_update_still_repairs_a_plain_case(case_with_outside):
    cases, _ = case_with_outside
    expected = cases / "longhorn" / "expected"
    (expected / "stale.yaml").write_text("kind: Old\n")
    (expected / "service.yaml").unlink()
    p = run("test-patterns", str(cases), "--update")
    assert p.returncode == 0, p.stdout + p.stderr
    assert not (expected / "stale.yaml").exists() and (expected / "service.yaml").is_file()
    assert not [n for n in os.listdir(expected) if "appforge" in n]  # no temporary file left


def test_backstage_template_ignores_a_planted_temporary_link(tmp_path: Path):
    out = tmp_path / "backstage"
    (out / "gitops").mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch\n")
    (out / "gitops" / "template.yaml.appforge-tmp").symlink_to(victim)
    p = run("backstage-template", "--workflow", "gitops", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert victim.read_text() == "do not touch\n"
    assert (out / "gitops" / "template.yaml").read_text().startswith("apiVersion: scaffolder.backstage.io/v1beta3")


def test_backstage_template_refuses_a_symlinked_workflow_folder(tmp_path: Path):
    out = tmp_path / "backstage"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "gitops").symlink_to(elsewhere, target_is_directory=True)
    p = run("backstage-template", "--workflow", "gitops", "--out", str(out))
    assert p.returncode == 2
    assert "symbolic link" in p.stderr
    assert list(elsewhere.iterdir()) == []


# ---------------------------------------------------------------------------------------
# item 10: output that cannot be written
# ---------------------------------------------------------------------------------------


def full_stdout(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    with open("/dev/full", "w") as full:
        return run(*args, env=env, stdout=full)


@pytest.mark.parametrize(
    "args",
    [
        ["render", str(SRC / "examples" / "requests" / "paperless-longhorn-backup.yaml")],
        ["render", "--output", "json", str(SRC / "examples" / "requests" / "paperless-longhorn-backup.yaml")],
        ["backstage-template"],
        ["komodo", "compose", str(KOMODO)],
        ["komodo", "payload", str(KOMODO)],
        ["--version"],
    ],
    ids=lambda a: " ".join(Path(x).name for x in a),
)
def test_unwritable_stdout_exits_2(args: list[str]):
    p = full_stdout(*args)
    assert p.returncode == 2, p.stderr
    assert "cannot write standard output" in p.stderr


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_unwritable_stdout_exits_2_for_plan_and_apply(gitops: Repo, tmp_path: Path, command: str):
    commit(gitops)
    request = write_request(tmp_path, WHOAMI)
    p = full_stdout(command, str(request), "--repo", str(gitops.path), env=gitops.env)
    assert p.returncode == 2, p.stderr
    assert "cannot write standard output" in p.stderr


# ---------------------------------------------------------------------------------------
# items 14 and 16: links in the GitOps checkout
# ---------------------------------------------------------------------------------------

TOOLS_REQUEST = WHOAMI + "namespace: tools\n"


def link_namespace_folder(r: Repo) -> None:
    """tools/ moves to shared/tools and a link takes its place (a layout some repos use)."""
    real = r.path / "shared" / "tools"
    real.parent.mkdir()
    (r.path / NS_ROOT / "tools").rename(real)
    (r.path / NS_ROOT / "tools").symlink_to(os.path.relpath(real, r.path / NS_ROOT), target_is_directory=True)


def link_namespace_kustomization(r: Repo) -> None:
    k = r.path / NS_ROOT / "tools" / "kustomization.yaml"
    real = r.path / "shared-tools-kustomization.yaml"
    k.rename(real)
    k.symlink_to(os.path.relpath(real, k.parent))


def link_cluster_folder(r: Repo) -> None:
    clusters = r.path / "kubernetes" / "clusters"
    clusters.rename(r.path / "kubernetes" / "real-clusters")
    clusters.symlink_to("real-clusters", target_is_directory=True)


@pytest.mark.parametrize(
    "make_link,link",
    [
        (link_namespace_folder, f"{NS_ROOT}/tools"),
        (link_namespace_kustomization, f"{NS_ROOT}/tools/kustomization.yaml"),
        (link_cluster_folder, "kubernetes/clusters"),
    ],
    ids=["namespace-folder", "kustomization-file", "cluster-folder"],
)
def test_plan_and_apply_refuse_symlinks_alike(gitops: Repo, tmp_path: Path, make_link, link: str):
    make_link(gitops)
    commit(gitops)
    before = gitops.snapshot()
    request = write_request(tmp_path, TOOLS_REQUEST)
    plan = run("plan", str(request), "--repo", str(gitops.path), "--output", "json", env=gitops.env)
    assert plan.returncode == 1, plan.stdout + plan.stderr
    planned = json.loads(plan.stdout)
    errors = {d["code"] for d in planned["diagnostics"] if d["severity"] == "error"}
    assert errors == {"gitops.symlink"}
    assert any(link in d["message"] for d in planned["diagnostics"])
    apply = run("apply", str(request), "--repo", str(gitops.path), env=gitops.env)
    assert apply.returncode == 1, apply.stdout + apply.stderr
    assert "gitops.symlink" in codes(json.loads(apply.stdout))
    assert gitops.snapshot() == before


def test_host_scan_reads_json_resources(gitops: Repo, tmp_path: Path):
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "legacy", "namespace": "tools"},
        "spec": {"ingressClassName": "nginx", "rules": [{"host": "whoami.internal.hypyr.space"}]},
    }
    (gitops.path / NS_ROOT / "tools" / "legacy.json").write_text(json.dumps(ingress))
    commit(gitops)
    request = write_request(tmp_path, WHOAMI)
    p = run("plan", str(request), "--repo", str(gitops.path), "--output", "json", env=gitops.env)
    assert p.returncode == 1
    out = json.loads(p.stdout)
    taken = [d for d in out["diagnostics"] if d["code"] == "gitops.host.taken"]
    assert taken and "legacy.json" in taken[0]["message"]


def test_host_scan_reports_a_symlinked_folder_and_needs_review(gitops: Repo, tmp_path: Path):
    # An Ingress for the same host sits behind a link the scan does not follow.
    hidden = gitops.path / "shared" / "legacy"
    hidden.mkdir(parents=True)
    (hidden / "ingress.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: legacy\nspec:\n"
        "  rules:\n    - host: whoami.internal.hypyr.space\n"
    )
    (gitops.path / NS_ROOT / "media" / "legacy").symlink_to(
        os.path.relpath(hidden, gitops.path / NS_ROOT / "media"), target_is_directory=True
    )
    commit(gitops)
    request = write_request(tmp_path, WHOAMI)
    p = run("plan", str(request), "--repo", str(gitops.path), "--output", "json", env=gitops.env)
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    warned = [d for d in out["diagnostics"] if d["code"] == "gitops.scan.symlink"]
    assert warned and f"{NS_ROOT}/media/legacy" in warned[0]["message"]
    assert out["risk"]["verdict"] == "needs-review"
    assert "risk.unscanned-link" in {r["code"] for r in out["risk"]["reasons"]}
