"""`appforge plan` and `appforge apply` against real git repositories built in temporary folders.

Each test builds a small but realistic GitOps checkout (a cluster namespaces kustomization, two
namespaces, an existing app with an Ingress), runs the CLI, and checks the result with git itself
and with `kubectl kustomize`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

CLI = os.environ.get("APPFORGE_CLI", "")
SRC = Path(os.environ.get("APPFORGE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
EXAMPLES = SRC / "examples" / "requests"
NS_ROOT = "kubernetes/clusters/homelab/namespaces"

WHOAMI = """\
operatorId: alice
appName: whoami
containerImage: traefik/whoami:v1.10.1
storagePattern: ephemeral
ingressPattern: internal-only
backupStrategy: none
"""

ROOT_KUSTOMIZATION = """\
---
# Namespaces deployed on the homelab cluster (Flux reconciles this folder).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  # media apps
  - ./media
  - ./tools   # utilities
# new namespaces go above this line
"""

JELLYFIN_APP = """\
apiVersion: v1
kind: Service
metadata:
  name: jellyfin
  namespace: media
spec:
  selector:
    app: jellyfin
  ports:
    - port: 80
      targetPort: 8096
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: jellyfin
  namespace: media
  annotations:
    external-dns.alpha.kubernetes.io/hostname: jellyfin.hypyr.space
spec:
  ingressClassName: nginx
  rules:
    - host: jellyfin.hypyr.space
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: jellyfin
                port:
                  number: 80
"""

FIXTURE = {
    f"{NS_ROOT}/kustomization.yaml": ROOT_KUSTOMIZATION,
    f"{NS_ROOT}/media/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: media\n",
    f"{NS_ROOT}/media/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        "- namespace.yaml\n- ./jellyfin\n"
    ),
    f"{NS_ROOT}/media/jellyfin/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - app.yaml\n"
    ),
    f"{NS_ROOT}/media/jellyfin/app.yaml": JELLYFIN_APP,
    f"{NS_ROOT}/tools/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tools\n",
    f"{NS_ROOT}/tools/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        "  - namespace.yaml   # the namespace itself\n"
    ),
    "kubernetes/clusters/homelab/flux-system/gotk-sync.yaml": "# managed by flux bootstrap\n",
    "README.md": "# homelab GitOps\n",
}


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def cli() -> str:
    if not CLI or not os.access(CLI, os.X_OK):
        pytest.fail("APPFORGE_CLI must name the built appforge binary (e.g. build/cli/appforge)")
    return CLI


def tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} is required for these tests (install it; tools/setup.sh does)")
    return path


def clean_env(home: Path, **extra: str) -> dict:
    """No user or system git config and no identity from the environment: every test controls it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "APPFORGE_FAIL"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1")
    env.update(extra)
    return env


class Repo:
    def __init__(self, path: Path, env: dict):
        self.path = path
        self.env = env

    def git(self, *args: str, check: bool = True) -> str:
        r = subprocess.run([tool("git"), "-C", str(self.path), *args], capture_output=True, text=True, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {r.stderr}")
        return r.stdout

    def snapshot(self) -> str:
        """Hash of every worktree file (path, mode, bytes), all refs, HEAD, the index and the status."""
        h = hashlib.sha256()
        for p in sorted(self.path.rglob("*")):
            rel = p.relative_to(self.path)
            if rel.parts[0] == ".git":
                continue
            st = p.lstat()
            h.update(f"{rel}\0{stat.S_IFMT(st.st_mode)}\0{st.st_mode & 0o7777:o}\0".encode())
            if p.is_file():
                h.update(p.read_bytes())
        for args in (
            ("for-each-ref", "--format=%(refname) %(objectname)"),
            ("symbolic-ref", "-q", "HEAD"),
            ("rev-parse", "HEAD"),
            ("ls-files", "-s"),
            ("status", "--porcelain", "--untracked-files=all"),
        ):
            h.update(self.git(*args, check=False).encode())
        return h.hexdigest()

    def branches(self) -> list[str]:
        return self.git("for-each-ref", "--format=%(refname:short)", "refs/heads/").split()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_fixture_repo(tmp_path)


def make_fixture_repo(base: Path) -> Repo:
    """The FIXTURE tree committed on main in base/gitops, with its own empty HOME in base/home."""
    home = base / "home"
    home.mkdir(parents=True)
    work = base / "gitops"
    work.mkdir()
    r = Repo(work, clean_env(home))
    for rel, text in FIXTURE.items():
        f = work / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    r.git("init", "-q", "-b", "main")
    r.git("add", "-A")
    r.git("-c", "user.name=Fixture", "-c", "user.email=fixture@example.org", "commit", "-q", "-m", "initial tree")
    return r


def write_request(tmp_path: Path, text: str, name: str = "request.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def run(r: Repo, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([cli(), *args], capture_output=True, text=True, env=env or r.env, timeout=120)


def apply(r: Repo, request: Path, *extra: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    p = run(r, "apply", str(request), "--repo", str(r.path), *extra, env=env)
    try:
        out = json.loads(p.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"apply printed no JSON (exit {p.returncode}): {p.stdout!r} {p.stderr!r}")
    return p, out


def codes(out: dict) -> set[str]:
    return {d["code"] for d in out.get("diagnostics", [])}


def kustomize_objects(folder: Path) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of every object `kubectl kustomize` builds from the folder."""
    p = subprocess.run([tool("kubectl"), "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"kubectl kustomize failed: {p.stderr}"
    objects = []
    for doc in re.split(r"^---\s*$", p.stdout, flags=re.M):
        kind = re.search(r"^kind: (\S+)$", doc, re.M)
        meta = re.search(r"^metadata:\n((?:  .*\n?)+)", doc, re.M)
        if not kind or not meta:
            continue
        name = re.search(r"^  name: (\S+)$", meta.group(1), re.M)
        ns = re.search(r"^  namespace: (\S+)$", meta.group(1), re.M)
        objects.append((kind.group(1), ns.group(1) if ns else "", name.group(1) if name else ""))
    return objects


def audit_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---------------------------------------------------------------------------------------
# happy paths
# ---------------------------------------------------------------------------------------


def test_apply_new_namespace_commits_on_a_feature_branch(repo: Repo, tmp_path: Path):
    req = write_request(tmp_path, WHOAMI)
    audit = tmp_path / "audit.log"
    main_sha = repo.git("rev-parse", "HEAD").strip()
    before_objects = kustomize_objects(repo.path / NS_ROOT)
    assert ("Deployment", "whoami", "whoami") not in before_objects

    p, out = apply(repo, req, "--audit-log", str(audit))
    assert p.returncode == 0, p.stderr
    assert out["ok"] is True and out["outcome"] == "committed"
    assert re.fullmatch(r"feat/app/whoami-[0-9a-f]{8}", out["branch"])
    assert out["prTitle"] == "feat: deploy whoami"
    assert out["risk"] == {"verdict": "auto-merge", "reasons": []}
    assert out["request"]["commitSha"] == out["commit"]
    assert out["request"]["featureBranch"] == out["branch"]
    assert out["request"]["status"] == "pending"

    # git agrees: the new branch is one commit on top of main; the checkout itself (HEAD, index,
    # working tree) was not touched. Check the branch out to look at its files.
    assert repo.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert repo.git("rev-parse", out["branch"]).strip() == out["commit"]
    assert repo.git("rev-parse", out["branch"] + "^").strip() == main_sha
    assert repo.git("rev-parse", "main").strip() == main_sha
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
    assert not (repo.path / NS_ROOT / "whoami").exists()
    repo.git("checkout", "-q", out["branch"])
    log = repo.git("log", "-1", "--format=%s%n%b%n--%an <%ae>")
    assert log.startswith("feat(app): add whoami\n")
    for line in ("Operator: alice", "Image: traefik/whoami:v1.10.1", "Namespace: whoami (new)",
                 "Storage: ephemeral", "Ingress: internal-only", "Backup: none"):
        assert line in log
    # no identity configured anywhere: appforge's fallback author
    assert log.rstrip().endswith("--appforge <appforge@localhost>")

    status = repo.git("show", "--format=", "--name-status", "HEAD").splitlines()
    added = sorted(line.split("\t")[1] for line in status if line.startswith("A\t"))
    modified = [line.split("\t")[1] for line in status if line.startswith("M\t")]
    assert modified == [f"{NS_ROOT}/kustomization.yaml"]
    assert f"{NS_ROOT}/whoami/namespace.yaml" in added
    assert f"{NS_ROOT}/whoami/kustomization.yaml" in added
    assert f"{NS_ROOT}/whoami/whoami/deployment.yaml" in added
    assert sorted(f["path"] for f in out["files"] if f["action"] == "create") == added
    # The parent edit is exactly one added line; comments and entries stay.
    diff = repo.git("show", "--format=", "-U0", "HEAD", "--", f"{NS_ROOT}/kustomization.yaml")
    changes = [l for l in diff.splitlines() if l[:1] in "+-" and not l.startswith(("+++", "---"))]
    assert changes == ["+  - ./whoami"]
    new_root = (repo.path / NS_ROOT / "kustomization.yaml").read_text()
    assert new_root == ROOT_KUSTOMIZATION.replace("  - ./tools   # utilities\n",
                                                  "  - ./tools   # utilities\n  - ./whoami\n")

    # PR body names everything a reviewer needs.
    body = out["prBody"]
    for needle in ("alice", "traefik/whoami:v1.10.1", "`whoami`", "ephemeral", "internal-only", "none",
                   "### Generated files", "### Validation", "Passed", "auto-merge"):
        assert needle in body
    for f in out["files"]:
        assert f["path"] in body

    # kubectl kustomize of the namespaces folder now builds the app and keeps the old one.
    objects = kustomize_objects(repo.path / NS_ROOT)
    for obj in (("Namespace", "", "whoami"), ("Deployment", "whoami", "whoami"), ("Service", "whoami", "whoami"),
                ("Ingress", "whoami", "whoami"), ("Ingress", "media", "jellyfin"), ("Namespace", "", "tools")):
        assert obj in objects, (obj, objects)
    assert set(before_objects) <= set(objects)

    lines = audit_lines(audit)
    assert len(lines) == 1
    a = lines[0]
    assert a["outcome"] == "committed" and a["commit"] == out["commit"] and a["branch"] == out["branch"]
    assert a["operatorId"] == "alice" and a["app"] == "whoami" and a["diagnostics"] == 0
    assert a["choices"] == {"storagePattern": "ephemeral", "ingressPattern": "internal-only", "backupStrategy": "none"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", a["timestamp"])
    assert a["id"] == out["request"]["id"]


def test_apply_into_existing_namespace_uses_git_config_identity(repo: Repo, tmp_path: Path):
    repo.git("config", "user.name", "Repo Owner")
    repo.git("config", "user.email", "owner@example.org")
    req = write_request(tmp_path, WHOAMI + "namespace: tools\n")
    p, out = apply(repo, req)
    assert p.returncode == 0, p.stderr
    repo.git("checkout", "-q", out["branch"])
    assert repo.git("log", "-1", "--format=%an <%ae>").strip() == "Repo Owner <owner@example.org>"
    status = repo.git("show", "--format=", "--name-status", "HEAD").splitlines()
    assert f"M\t{NS_ROOT}/tools/kustomization.yaml" in status
    assert not any("namespace.yaml" in line for line in status if line.startswith("A\t"))
    assert not any(line.endswith(f"{NS_ROOT}/kustomization.yaml") for line in status)
    tools = (repo.path / NS_ROOT / "tools" / "kustomization.yaml").read_text()
    assert tools.endswith("  - namespace.yaml   # the namespace itself\n  - ./whoami\n")
    objects = kustomize_objects(repo.path / NS_ROOT)
    assert ("Deployment", "tools", "whoami") in objects


def test_external_request_needs_review(repo: Repo, tmp_path: Path):
    req = write_request(
        tmp_path,
        "operatorId: carol\nappName: films\ncontainerImage: jellyfin/jellyfin:10.10.3\nnamespace: media\n"
        "storagePattern: ephemeral\ningressPattern: external-via-tunnel\nbackupStrategy: none\n",
    )
    p, out = apply(repo, req)
    assert p.returncode == 0, p.stderr
    assert out["risk"]["verdict"] == "needs-review"
    reason_codes = {r["code"] for r in out["risk"]["reasons"]}
    assert {"risk.external-ingress", "risk.public-dns"} <= reason_codes
    assert "needs-review" in out["prBody"] and "films.hypyr.space" in out["prBody"]
    assert "Risk: needs-review" in repo.git("log", "-1", "--format=%b", out["branch"])


def test_plan_prints_without_writing(repo: Repo, tmp_path: Path):
    req = write_request(tmp_path, WHOAMI)
    before = repo.snapshot()
    p = run(repo, "plan", str(req), "--repo", str(repo.path))
    assert p.returncode == 0, p.stderr
    assert "feat/app/whoami-" in p.stdout
    assert f"edit    {NS_ROOT}/kustomization.yaml" in p.stdout
    assert "  - ./whoami" in p.stdout
    assert f"create  {NS_ROOT}/whoami/namespace.yaml" in p.stdout
    pj = run(repo, "plan", str(req), "--repo", str(repo.path), "--output", "json")
    assert pj.returncode == 0, pj.stderr
    plan = json.loads(pj.stdout)
    assert plan["ok"] is True and plan["newNamespace"] is True
    assert [e["entry"] for e in plan["edits"]] == ["./whoami"]
    assert plan["edits"][0]["oldText"] == ROOT_KUSTOMIZATION
    assert repo.snapshot() == before
    # the same request plans the same branch; apply then uses it
    assert json.loads(run(repo, "plan", str(req), "--repo", str(repo.path), "--output", "json").stdout)["branch"] == plan["branch"]
    _, out = apply(repo, req)
    assert out["branch"] == plan["branch"]


# ---------------------------------------------------------------------------------------
# conflicts: reported before anything is written
# ---------------------------------------------------------------------------------------


def _commit_change(r: Repo, rel: str, text: str | None):
    f = r.path / rel
    if text is None:
        f.unlink()
    else:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    r.git("add", "-A")
    r.git("-c", "user.name=F", "-c", "user.email=f@e", "commit", "-q", "-m", "fixture change")


CONFLICTS = {
    "app-folder-exists": (
        WHOAMI + "namespace: media\n",
        lambda r: _commit_change(r, f"{NS_ROOT}/media/whoami/old.yaml", "kind: ConfigMap\n"),
        "gitops.app.exists",
    ),
    "hostname-taken": (
        "operatorId: carol\nappName: jellyfin\nnamespace: streaming\ncontainerImage: jellyfin/jellyfin:10.10.3\n"
        "storagePattern: ephemeral\ningressPattern: external-via-tunnel\nbackupStrategy: none\n",
        lambda r: None,
        "gitops.host.taken",
    ),
    "parent-kustomization-missing": (
        WHOAMI,
        lambda r: _commit_change(r, f"{NS_ROOT}/kustomization.yaml", None),
        "gitops.kustomization.missing",
    ),
    "parent-kustomization-unparsable": (
        WHOAMI,
        lambda r: _commit_change(r, f"{NS_ROOT}/kustomization.yaml", "resources:\n  - ./media\n  bad: [\n"),
        "gitops.kustomization.parse",
    ),
    "namespace-kustomization-missing": (
        WHOAMI + "namespace: tools\n",
        lambda r: _commit_change(r, f"{NS_ROOT}/tools/kustomization.yaml", None),
        "gitops.kustomization.missing",
    ),
    "reserved-namespace": (WHOAMI + "namespace: flux-system\n", lambda r: None, "namespace.reserved"),
}


@pytest.mark.parametrize("case", sorted(CONFLICTS))
def test_conflicts_leave_the_repo_untouched(repo: Repo, tmp_path: Path, case: str):
    text, prepare, code = CONFLICTS[case]
    prepare(repo)
    req = write_request(tmp_path, text)
    audit = tmp_path / "audit.log"
    before = repo.snapshot()
    branches = repo.branches()
    p, out = apply(repo, req, "--audit-log", str(audit))
    assert p.returncode == 1, p.stderr
    assert out["ok"] is False and out["outcome"] == "rejected"
    assert code in codes(out), out
    assert code in p.stderr
    assert repo.snapshot() == before
    assert repo.branches() == branches
    [line] = audit_lines(audit)
    assert line["outcome"] == "rejected" and line["commit"] is None and line["diagnostics"] >= 1
    # plan reports the same conflict
    pl = run(repo, "plan", str(req), "--repo", str(repo.path), "--output", "json")
    assert pl.returncode == 1 and code in codes(json.loads(pl.stdout))


@pytest.mark.parametrize("dirt", ["untracked", "modified", "staged"])
def test_dirty_tree_is_refused(repo: Repo, tmp_path: Path, dirt: str):
    if dirt == "untracked":
        (repo.path / "notes.txt").write_text("wip\n")
    elif dirt == "modified":
        (repo.path / "README.md").write_text("# changed\n")
    else:
        (repo.path / "new.yaml").write_text("a: 1\n")
        repo.git("add", "new.yaml")
    before = repo.snapshot()
    p, out = apply(repo, write_request(tmp_path, WHOAMI))
    assert p.returncode == 1
    assert "git.dirty" in codes(out)
    assert repo.snapshot() == before
    assert repo.branches() == ["main"]


def test_same_request_twice(repo: Repo, tmp_path: Path):
    req = write_request(tmp_path, WHOAMI)
    p1, out1 = apply(repo, req)
    assert p1.returncode == 0, p1.stderr
    after_first = repo.snapshot()
    # main does not have the app, but the deterministic branch already exists.
    p2, out2 = apply(repo, req)
    assert p2.returncode == 1
    assert "git.branch.exists" in codes(out2)
    assert repo.snapshot() == after_first
    # On the branch the app folder exists: planning already refuses.
    repo.git("checkout", "-q", out1["branch"])
    before = repo.snapshot()
    p3, out3 = apply(repo, req)
    assert p3.returncode == 1
    assert "gitops.app.exists" in codes(out3)
    assert repo.snapshot() == before
    assert repo.git("rev-parse", out1["branch"]).strip() == out1["commit"]


# ---------------------------------------------------------------------------------------
# failures mid-apply: the repo is byte-identical afterwards
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("after", ["0", "1", "4", "all"])
def test_injected_failure_rolls_back(repo: Repo, tmp_path: Path, after: str):
    # "all": every blob of the plan is written, then apply fails just before the tree is built.
    req = write_request(
        tmp_path,
        "operatorId: bob\nappName: paperless\nnamespace: documents\n"
        "containerImage: ghcr.io/paperless-ngx/paperless-ngx:2.13.5\nstoragePattern: longhorn-persistent\n"
        "storageConfig: {sizeGi: 20}\ningressPattern: internal-only\nbackupStrategy: volsync-snapshots\n",
    )
    audit = tmp_path / "audit.log"
    plan = json.loads(run(repo, "plan", str(req), "--repo", str(repo.path), "--output", "json").stdout)
    total = len(plan["creates"]) + len(plan["edits"])
    assert total >= 8 and len(plan["edits"]) == 1  # parent edit + namespace files + the app's manifests
    after = str(total) if after == "all" else after
    before = repo.snapshot()
    p, out = apply(repo, req, "--audit-log", str(audit), env=dict(repo.env, APPFORGE_FAIL_AFTER_WRITES=after))
    assert p.returncode == 1
    assert out["outcome"] == "failed" and "injected failure" in out["error"]
    assert "nothing in the repository changed" in out["error"]
    assert repo.snapshot() == before
    assert repo.branches() == ["main"]
    assert not list(repo.path.rglob("*.appforge-tmp"))
    [line] = audit_lines(audit)
    assert line["outcome"] == "failed" and line["commit"] is None and line["branch"] == plan["branch"]
    # and the same request then goes through
    p2, _ = apply(repo, req)
    assert p2.returncode == 0, p2.stderr


def test_unreadable_request_is_audited(repo: Repo, tmp_path: Path):
    audit = tmp_path / "audit.log"
    p, out = apply(repo, tmp_path / "missing.yaml", "--audit-log", str(audit))
    assert p.returncode == 2
    [line] = audit_lines(audit)
    assert line["outcome"] == "rejected" and line["app"] is None
    p2, _ = apply(repo, write_request(tmp_path, WHOAMI), "--audit-log", str(audit))
    assert p2.returncode == 0
    assert [l["outcome"] for l in audit_lines(audit)] == ["rejected", "committed"]


def test_repo_must_be_the_checkout_top(repo: Repo, tmp_path: Path):
    # The whole GitOps tree one level down: planning works there, but git's top is the parent.
    sub = repo.path / "deploy"
    sub.mkdir()
    repo.git("mv", "kubernetes", "deploy/kubernetes")
    repo.git("-c", "user.name=F", "-c", "user.email=f@e", "commit", "-q", "-m", "move")
    before = repo.snapshot()
    q = run(repo, "apply", str(write_request(tmp_path, WHOAMI)), "--repo", str(sub))
    assert q.returncode == 1
    assert "git.not-top" in codes(json.loads(q.stdout))
    assert repo.snapshot() == before
