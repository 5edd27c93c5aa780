"""Engine.plan and Engine.apply against real git repositories built in tmp_path, and agreement
with the `appforge plan` command; plus the Komodo compose file."""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

import appforge

SRC = Path(os.environ.get("APPFORGE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
EXAMPLES = SRC / "examples" / "requests"
WHOAMI = EXAMPLES / "whoami-internal.yaml"
KOMODO = EXAMPLES / "myapp-komodo.yaml"
NS_ROOT = "kubernetes/clusters/homelab/namespaces"

ROOT_KUSTOMIZATION = (
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
    "  # the namespaces of the cluster\n  - ./media\n"
)
JELLYFIN_INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: jellyfin
  namespace: media
spec:
  rules:
    - host: jellyfin.hypyr.space
"""
FIXTURE = {
    f"{NS_ROOT}/kustomization.yaml": ROOT_KUSTOMIZATION,
    f"{NS_ROOT}/media/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: media\n",
    f"{NS_ROOT}/media/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        "  - namespace.yaml\n  - ./jellyfin\n"
    ),
    f"{NS_ROOT}/media/jellyfin/kustomization.yaml": "resources:\n  - ingress.yaml\n",
    f"{NS_ROOT}/media/jellyfin/ingress.yaml": JELLYFIN_INGRESS,
    "README.md": "# homelab\n",
}


def git_exe() -> str:
    path = shutil.which("git")
    if not path:
        pytest.fail("git is required for these tests (tools/setup.sh installs it)")
    return path


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A committed GitOps checkout; git sees no user or system config (the library's git too)."""
    home = tmp_path / "home"
    home.mkdir()
    for key in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    work = tmp_path / "gitops"
    for rel, text in FIXTURE.items():
        f = work / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "-c", "user.name=Fixture", "-c", "user.email=f@example.org", "commit", "-q", "-m", "initial")
    return work


def git(repo: Path, *args: str) -> str:
    r = subprocess.run([git_exe(), "-C", str(repo), *args], capture_output=True, text=True)
    assert r.returncode == 0, f"git {' '.join(args)}: {r.stderr}"
    return r.stdout


def state(repo: Path) -> tuple:
    """Every worktree file's bytes plus refs, HEAD and status: equal states mean nothing changed."""
    files = {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
             if p.is_file() and ".git" not in p.relative_to(repo).parts}
    return (files, git(repo, "for-each-ref"), git(repo, "rev-parse", "HEAD"),
            git(repo, "status", "--porcelain", "--untracked-files=all"))


def codes(err: appforge.ValidationError) -> set:
    return {d.code for d in err.diagnostics}


# --- plan ------------------------------------------------------------------------------

def test_plan_lists_files_edits_branch_and_risk_without_writing(engine, repo):
    before = state(repo)
    plan = engine.plan(appforge.load_request(WHOAMI), repo)
    assert state(repo) == before
    assert isinstance(plan, appforge.Plan)
    assert plan.app_dir == f"{NS_ROOT}/whoami/whoami" and plan.new_namespace
    assert re.fullmatch(r"feat/app/whoami-[0-9a-f]{8}", plan.branch)
    created = [path for path, _ in plan.creates]
    assert f"{NS_ROOT}/whoami/namespace.yaml" in created
    assert f"{NS_ROOT}/whoami/whoami/deployment.yaml" in created
    assert "traefik/whoami:v1.10.1" in dict(plan.creates)[f"{NS_ROOT}/whoami/whoami/deployment.yaml"]
    [edit] = plan.edits
    assert edit.path == f"{NS_ROOT}/kustomization.yaml" and edit.entry == "./whoami"
    assert edit.old_text == ROOT_KUSTOMIZATION
    assert edit.new_text == ROOT_KUSTOMIZATION + "  - ./whoami\n"
    assert edit.new_text.splitlines()[edit.line - 1] == "  - ./whoami"
    assert plan.commit_message.startswith("feat(app): add whoami\n")
    assert plan.pr_title == "feat: deploy whoami" and "### Generated files" in plan.pr_body
    assert plan.risk == appforge.Risk("auto-merge", ()) and not plan.risk.needs_review


def test_plan_agrees_with_the_cli(engine, repo, cli):
    plan = engine.plan(WHOAMI.read_text(), str(repo))
    out = subprocess.run([cli, "plan", str(WHOAMI), "--repo", str(repo), "--output", "json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    j = json.loads(out.stdout)
    assert j["branch"] == plan.branch and j["prBody"] == plan.pr_body
    assert [(c["path"], c["content"]) for c in j["creates"]] == list(plan.creates)
    assert [e["newText"] for e in j["edits"]] == [e.new_text for e in plan.edits]


def test_plan_against_files_in_memory_is_the_plan_against_the_checkout(engine, repo):
    assert engine.plan(WHOAMI.read_text(), dict(FIXTURE)) == engine.plan(WHOAMI.read_text(), repo)


def test_external_ingress_needs_review(engine, repo):
    request = appforge.load_request(WHOAMI)
    request["ingressPattern"] = "external-via-tunnel"
    request["appName"] = "films"
    plan = engine.plan(request, repo)
    assert plan.risk.needs_review
    assert {"risk.external-ingress", "risk.public-dns"} <= {r.code for r in plan.risk.reasons}


def test_plan_conflicts_raise_with_the_diagnostic(engine, repo):
    request = appforge.load_request(WHOAMI).to_dict()
    request.update(appName="jellyfin", namespace="streaming", ingressPattern="external-via-tunnel")
    with pytest.raises(appforge.ValidationError) as err:
        engine.plan(request, repo)
    assert "gitops.host.taken" in codes(err.value)
    assert isinstance(err.value, ValueError)


def test_plan_of_a_nas_request_names_the_workflow(engine, repo):
    with pytest.raises(appforge.ValidationError) as err:
        engine.plan(KOMODO.read_text(), repo)
    assert "gitops.kind" in codes(err.value)


def test_plan_needs_a_folder(engine, tmp_path):
    with pytest.raises(NotADirectoryError):
        engine.plan(WHOAMI.read_text(), tmp_path / "missing")


def test_plans_run_in_parallel_threads(engine, repo):
    results = [None] * 4

    def work(i: int) -> None:
        results[i] = engine.plan(WHOAMI.read_text(), repo).branch

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and results[0].startswith("feat/app/whoami-")


# --- apply -----------------------------------------------------------------------------

def test_apply_commits_on_the_feature_branch(engine, repo, tmp_path):
    audit = tmp_path / "audit.log"
    main = git(repo, "rev-parse", "HEAD").strip()
    plan = engine.plan(WHOAMI.read_text(), repo)
    result = engine.apply(appforge.load_request(WHOAMI), repo, audit_log=audit)
    assert isinstance(result, appforge.ApplyResult)
    assert result.branch == plan.branch and result.branch.startswith("feat/app/whoami-")
    assert re.fullmatch(r"[0-9a-f]{40}", result.commit)
    # the branch holds the commit; the checkout stays on main, untouched
    assert git(repo, "symbolic-ref", "--short", "HEAD").strip() == "main"
    assert git(repo, "rev-parse", "HEAD").strip() == main
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    git(repo, "checkout", "-q", result.branch)
    assert git(repo, "rev-parse", "HEAD").strip() == result.commit
    assert git(repo, "rev-parse", "HEAD^").strip() == main
    assert git(repo, "log", "-1", "--format=%s").strip() == "feat(app): add whoami"
    assert git(repo, "log", "-1", "--format=%an <%ae>").strip() == "appforge <appforge@localhost>"
    changed = git(repo, "show", "--format=", "--name-status", "HEAD").splitlines()
    assert sorted(changed) == sorted(
        ("A\t" if action == "create" else "M\t") + path for path, action in result.files)
    assert (repo / NS_ROOT / "kustomization.yaml").read_text() == plan.edits[0].new_text
    assert result.pr_title == plan.pr_title and result.risk == plan.risk
    assert result.request["commitSha"] == result.commit
    assert result.request["featureBranch"] == result.branch
    [line] = [json.loads(x) for x in audit.read_text().splitlines()]
    assert line["outcome"] == "committed" and line["commit"] == result.commit and line["app"] == "whoami"


def test_apply_refuses_a_conflict_and_touches_nothing(engine, repo, tmp_path):
    first = engine.apply(WHOAMI.read_text(), repo)
    git(repo, "checkout", "-q", first.branch)
    before = state(repo)
    audit = tmp_path / "audit.log"
    with pytest.raises(appforge.ValidationError) as err:
        engine.apply(WHOAMI.read_text(), repo, audit_log=audit)
    assert "gitops.app.exists" in codes(err.value)
    assert state(repo) == before
    [line] = [json.loads(x) for x in audit.read_text().splitlines()]
    assert line["outcome"] == "rejected" and line["commit"] is None


@pytest.mark.parametrize("dirt", ["untracked", "modified"])
def test_apply_refuses_a_dirty_tree(engine, repo, dirt):
    if dirt == "untracked":
        (repo / "notes.txt").write_text("wip\n")
    else:
        (repo / "README.md").write_text("# changed\n")
    before = state(repo)
    with pytest.raises(appforge.ValidationError) as err:
        engine.apply(WHOAMI.read_text(), repo)
    assert "git.dirty" in codes(err.value)
    assert state(repo) == before
    assert git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split() == ["main"]


def test_a_failed_git_step_changes_nothing(engine, repo, tmp_path, monkeypatch):
    # A git whose write-tree fails (the library runs the git found on PATH at the time of the call).
    fake = tmp_path / "fakebin" / "git"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\ncase " $* " in *" write-tree "*) echo "fatal: disk on fire" >&2; exit 128;; esac\n'
                    f'exec {git_exe()} "$@"\n')
    fake.chmod(0o755)
    before = state(repo)
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", f"{fake.parent}:{path}")
    with pytest.raises(appforge.ApplyError) as err:
        engine.apply(WHOAMI.read_text(), repo)
    monkeypatch.setenv("PATH", path)
    assert "disk on fire" in str(err.value) and "nothing in the repository changed" in str(err.value)
    assert "git.failed" in {d.code for d in err.value.diagnostics}
    assert not isinstance(err.value, appforge.ValidationError)
    assert state(repo) == before


def test_apply_with_sigchld_ignored_never_reports_success(engine, repo):
    # With SIGCHLD ignored the kernel discards every child's exit status: apply cannot know whether
    # a git call worked, so it must fail and say why, never take a failed call for a success.
    before = state(repo)
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        with pytest.raises(appforge.AppforgeError) as err:
            engine.apply(WHOAMI.read_text(), repo)
    finally:
        signal.signal(signal.SIGCHLD, old)
    assert "collected elsewhere" in str(err.value)
    assert state(repo) == before


def test_apply_with_an_unwritable_audit_log_does_nothing(engine, repo, tmp_path):
    before = state(repo)
    with pytest.raises(OSError):
        engine.apply(WHOAMI.read_text(), repo, audit_log=tmp_path / "no" / "such" / "audit.log")
    assert state(repo) == before


# --- Komodo compose --------------------------------------------------------------------

def test_komodo_compose_is_the_cli_compose_file(engine, cli):
    text = engine.komodo_compose(appforge.load_request(KOMODO))
    out = subprocess.run([cli, "komodo", "compose", str(KOMODO)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert text == out.stdout and "services:" in text
    with pytest.raises(appforge.AppforgeError, match="GitOps request"):
        engine.komodo_compose(WHOAMI.read_text())


def test_komodo_plan_and_apply_through_python(tmp_path):
    """GitOps for Komodo from Python: the same planner and apply as `appforge komodo plan|apply`."""
    import subprocess

    engine = appforge.Engine(profile="komodo:\n  server: truenas\n  linkedRepo: homelab\n")
    request = {"operatorId": "erin", "appName": "myapp",
               "komodoRequest": {"appName": "myapp", "appVersion": "1.0.0", "appConfig": {"group": "tools"}}}
    sync = '# homelab\n[[stack]]\nname = "caddy"\n'
    plan = engine.komodo_plan(request, {"komodo/resources.toml": sync})
    assert plan["stackDir"] == "stacks/apps/tools" and plan["syncFile"] == "komodo/resources.toml"
    assert [f["path"] for f in plan["creates"]] == ["stacks/apps/tools/compose.yaml"]
    (edit,) = plan["edits"]
    assert edit["newText"].startswith(sync + "\n[[stack]]\nname = \"myapp\"\n")
    with pytest.raises(appforge.ValidationError) as e:
        engine.komodo_plan(request, {"komodo/resources.toml": sync.replace("caddy", "myapp")})
    assert [(d.code, d.path) for d in e.value.diagnostics] == [("komodo.sync.exists", "/komodoRequest/appName")]

    repo = tmp_path / "repo"
    (repo / "komodo").mkdir(parents=True)
    (repo / "komodo" / "resources.toml").write_text(sync)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    r = engine.komodo_apply(request, repo)
    assert r["ok"] and r["branch"].startswith("feat/app/myapp-")
    assert [f["path"] for f in r["files"]] == ["komodo/resources.toml", "stacks/apps/tools/compose.yaml"]
    assert r["request"]["submissionStatus"].startswith("Resource Sync: committed ")
