"""`appforge apply` under attack and accident (issue 13, items 1, 6, 8, 11, 12, 17 and 19).

apply commits with git plumbing off to the side and creates the feature branch with one
compare-and-swap, so whatever happens to it (seven other applies at once, SIGKILL or SIGTERM at a
random moment, a pending rebase, a git that never returns) the checkout is either untouched or
wholly applied: `main` never moves, HEAD, the index and the working tree keep their bytes, and the
only possible change is the new branch with exactly the planned commit on it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from test_gitops import (NS_ROOT, WHOAMI, Repo, audit_lines, cli, codes, make_fixture_repo, run, tool,
                         write_request)


def make_repo(base: Path) -> Repo:
    r = make_fixture_repo(base)
    # merge, revert, cherry-pick and rebase need an identity; apply then uses it too
    r.git("config", "user.name", "Fixture")
    r.git("config", "user.email", "fixture@example.org")
    return r


def commit_all(r: Repo, message: str = "change"):
    r.git("add", "-A")
    r.git("-c", "user.name=F", "-c", "user.email=f@e", "commit", "-q", "-m", message)


def worktree_bytes(r: Repo) -> dict[str, tuple[int, bytes]]:
    """Every path outside .git with its mode and bytes (symlink targets for links)."""
    out = {}
    for p in sorted(r.path.rglob("*")):
        rel = p.relative_to(r.path)
        if rel.parts[0] == ".git":
            continue
        st = p.lstat()
        data = os.readlink(p).encode() if stat.S_ISLNK(st.st_mode) else p.read_bytes() if p.is_file() else b""
        out[str(rel)] = (st.st_mode, data)
    return out


class State:
    """What apply must never change in a checkout: HEAD, main, the index, the tree, the status."""

    def __init__(self, r: Repo):
        self.head_ref = r.git("symbolic-ref", "-q", "HEAD", check=False).strip()
        self.head = r.git("rev-parse", "HEAD").strip()
        self.main = r.git("rev-parse", "refs/heads/main").strip()
        self.index = r.git("ls-files", "-s")
        self.status = r.git("status", "--porcelain", "--untracked-files=all", "--ignored")
        self.tree = worktree_bytes(r)

    def assert_kept(self, r: Repo):
        now = State(r)
        assert now.head_ref == self.head_ref, "HEAD moved to another branch"
        assert now.head == self.head and now.main == self.main, "main or HEAD moved"
        assert now.index == self.index, "the index changed"
        assert now.status == self.status, f"the status changed: {now.status!r}"
        assert now.tree == self.tree, "the working tree changed"
        assert not (r.path / ".git" / "index.lock").exists(), "an index lock was left behind"


def fsck(r: Repo):
    p = subprocess.run([tool("git"), "-C", str(r.path), "fsck", "--no-progress", "--no-dangling"],
                       capture_output=True, text=True, env=r.env)
    assert p.returncode == 0, f"git fsck: {p.stdout}{p.stderr}"


def plan_json(r: Repo, req: Path) -> dict:
    p = run(r, "plan", str(req), "--repo", str(r.path), "--output", "json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def branch_changes(r: Repo, branch: str) -> list[str]:
    """The branch's commit against main, as sorted 'A path' / 'M path' lines."""
    return sorted(r.git("diff", "--no-renames", "--name-status", "main", branch).replace("\t", " ").splitlines())


def planned_changes(plan: dict) -> list[str]:
    return sorted([f"A {f['path']}" for f in plan["creates"]] + [f"M {e['path']}" for e in plan["edits"]])


def app(name: str, namespace: str) -> str:
    return (f"operatorId: op-{name}\nappName: {name}\nnamespace: {namespace}\n"
            "containerImage: traefik/whoami:v1.10.1\nstoragePattern: ephemeral\n"
            "ingressPattern: internal-only\nbackupStrategy: none\n")


# ---------------------------------------------------------------------------------------
# 1. eight applies at once into one checkout
# ---------------------------------------------------------------------------------------

# Seven distinct apps (new namespaces, so several edit the same parent kustomization.yaml, and the
# two existing namespaces) and the last one submitted twice: 8 runs, 7 deterministic branches.
CONCURRENT = [app("alpha", "alpha"), app("bravo", "bravo"), app("charlie", "tools"), app("delta", "tools"),
              app("echo", "media"), app("foxtrot", "foxtrot"), app("golf", "golf"), app("golf", "golf")]


def test_eight_concurrent_applies_serialise_or_fail_cleanly(tmp_path: Path):
    reqs = [write_request(tmp_path, text, f"req{i}.yaml") for i, text in enumerate(CONCURRENT)]
    first = make_repo(tmp_path / "plans")
    plans = [plan_json(first, q) for q in reqs]
    expected = {p["branch"] for p in plans}
    assert len(expected) == 7
    for rnd in range(20):
        r = make_repo(tmp_path / f"round{rnd}")
        before = State(r)
        procs = [subprocess.Popen([cli(), "apply", str(q), "--repo", str(r.path)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=r.env) for q in reqs]
        outs = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=300)
            outs.append((p.returncode, json.loads(stdout), stderr))
        before.assert_kept(r)
        fsck(r)
        branches = set(r.branches())
        assert branches == {"main"} | expected, f"round {rnd}: {branches}"
        for plan in plans:
            assert branch_changes(r, plan["branch"]) == planned_changes(plan), f"round {rnd}: {plan['branch']}"
            assert r.git("rev-parse", plan["branch"] + "^").strip() == before.main
        # The distinct requests all committed; of the two identical ones exactly one did, and the
        # other said why without touching anything.
        for code, out, stderr in outs[:6]:
            assert code == 0 and out["outcome"] == "committed", (rnd, stderr)
        golf = [o for c, o, _ in outs[6:] if c == 0]
        assert len(golf) == 1, f"round {rnd}: both golf applies reported a commit"
        loser = outs[6] if outs[7][0] == 0 else outs[7]
        assert loser[0] == 1 and "git.branch.exists" in codes(loser[1]), (rnd, loser)
        assert r.git("rev-parse", golf[0]["branch"]).strip() == golf[0]["commit"]


# ---------------------------------------------------------------------------------------
# 8. apply killed at random moments
# ---------------------------------------------------------------------------------------


def _wait_group_gone(pgid: int):
    """git children outlive a SIGTERM to apply alone; wait (bounded) until the whole group ended."""
    for _ in range(3000):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    os.killpg(pgid, signal.SIGKILL)
    pytest.fail("processes of a killed apply were still running after 30 s")


def test_killed_apply_leaves_the_repo_untouched_or_wholly_applied(tmp_path: Path):
    req = write_request(tmp_path, app("paperless", "documents").replace(
        "storagePattern: ephemeral", "storagePattern: longhorn-persistent\nstorageConfig: {sizeGi: 5}"))
    template = make_repo(tmp_path / "template")
    plan = plan_json(template, req)
    # The full apply once, for the expected result and for how long a run takes here (only used to
    # spread the kill moments over a whole run; nothing is asserted about time).
    ref = make_repo(tmp_path / "reference")
    t0 = time.monotonic()
    p = run(ref, "apply", str(req), "--repo", str(ref.path))
    duration = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    expected_tree = ref.git("rev-parse", plan["branch"] + "^{tree}").strip()

    rng = random.Random(13)
    seen = {"untouched": 0, "applied": 0}
    for i in range(60):
        r = Repo(tmp_path / f"k{i}" / "gitops", dict(template.env))
        shutil.copytree(template.path, r.path, symlinks=True)
        before = State(r)
        proc = subprocess.Popen([cli(), "apply", str(req), "--repo", str(r.path)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=r.env, start_new_session=True)
        time.sleep(rng.uniform(0, duration * 1.2))
        sig = signal.SIGKILL if i % 2 else signal.SIGTERM
        try:
            if sig == signal.SIGKILL:
                os.killpg(proc.pid, sig)  # the job and its git children at once, as a runner does
            else:
                os.kill(proc.pid, sig)  # apply alone; a git child in flight finishes its step
        except ProcessLookupError:
            pass
        proc.wait(timeout=60)
        _wait_group_gone(proc.pid)

        before.assert_kept(r)
        fsck(r)
        branches = r.branches()
        if branches == ["main"]:
            seen["untouched"] += 1
            again = run(r, "apply", str(req), "--repo", str(r.path))  # nothing left behind blocks a rerun
            assert again.returncode == 0, f"trial {i}: rerun after a kill failed: {again.stderr}"
        else:
            seen["applied"] += 1
            assert branches == sorted(["main", plan["branch"]]), f"trial {i}: {branches}"
            assert r.git("rev-parse", plan["branch"] + "^{tree}").strip() == expected_tree
            assert r.git("rev-parse", plan["branch"] + "^").strip() == before.main
        assert not list(r.path.rglob("*.appforge-tmp"))
    print(f"kill loop: {seen}")
    assert sum(seen.values()) == 60


# ---------------------------------------------------------------------------------------
# 6. an operation in progress, or a detached HEAD
# ---------------------------------------------------------------------------------------


def _side_commit(r: Repo, rel: str, text: str, branch: str = "side"):
    r.git("checkout", "-q", "-b", branch)
    (r.path / rel).write_text(text)
    commit_all(r, "side change")
    r.git("checkout", "-q", "main")


def _rebase_stopped_at_edit(r: Repo):
    _side_commit(r, "README.md", "# side\n")
    r.git("checkout", "-q", "side")
    env = dict(r.env, GIT_SEQUENCE_EDITOR="sed -i s/^pick/edit/")
    subprocess.run([tool("git"), "-C", str(r.path), "rebase", "-q", "-i", "HEAD~1"], env=env, check=True,
                   capture_output=True)


def _merge_no_commit(r: Repo):
    _side_commit(r, "notes.md", "side notes\n")
    r.git("merge", "--no-commit", "--no-ff", "-q", "side")


def _emptied_cherry_pick(r: Repo):
    _side_commit(r, "README.md", "# same\n")
    (r.path / "README.md").write_text("# same\n")
    commit_all(r, "same change on main")
    p = subprocess.run([tool("git"), "-C", str(r.path), "cherry-pick", "side"], env=r.env, capture_output=True,
                       text=True)
    assert p.returncode != 0 and (r.path / ".git" / "CHERRY_PICK_HEAD").exists(), p.stderr


def _revert_no_commit(r: Repo):
    (r.path / "notes.md").write_text("notes\n")
    commit_all(r, "notes")
    r.git("revert", "--no-commit", "HEAD")


def _bisecting(r: Repo):
    r.git("bisect", "start")


def _detached(r: Repo):
    r.git("checkout", "-q", "--detach", "HEAD")


IN_PROGRESS = {
    "rebase-stopped-at-edit": (_rebase_stopped_at_edit, "git.in-progress"),
    "merge-no-commit": (_merge_no_commit, "git.in-progress"),
    "emptied-cherry-pick": (_emptied_cherry_pick, "git.in-progress"),
    "revert-no-commit": (_revert_no_commit, "git.in-progress"),
    "bisect": (_bisecting, "git.in-progress"),
    "detached-head": (_detached, "git.detached"),
}


@pytest.mark.parametrize("case", sorted(IN_PROGRESS))
def test_apply_refuses_while_an_operation_is_in_progress(tmp_path: Path, case: str):
    prepare, code = IN_PROGRESS[case]
    r = make_repo(tmp_path)
    prepare(r)
    before = State(r)
    branches = r.branches()
    p = run(r, "apply", str(write_request(tmp_path, WHOAMI)), "--repo", str(r.path))
    out = json.loads(p.stdout)
    assert p.returncode == 1 and out["outcome"] == "rejected", p.stderr
    assert code in codes(out), out["diagnostics"]
    before.assert_kept(r)
    assert r.branches() == branches


# ---------------------------------------------------------------------------------------
# 11. a request that already went through the workflow
# ---------------------------------------------------------------------------------------

DONE = {
    "status-success": ("status: success\n", "gitops.request.done", "/status"),
    "status-failed": ("status: failed\n", "gitops.request.done", "/status"),
    "commit-recorded": ("featureBranch: feat/app/whoami-12345678\ncommitSha: " + "a" * 40 + "\n",
                        "gitops.request.applied", "/commitSha"),
}


@pytest.mark.parametrize("case", sorted(DONE))
def test_a_finished_request_is_refused_by_plan_and_apply(tmp_path: Path, case: str):
    extra, code, pointer = DONE[case]
    r = make_repo(tmp_path)
    req = write_request(tmp_path, WHOAMI + extra)
    before = State(r)
    for cmd in (["plan", "--output", "json"], ["apply"]):
        p = run(r, cmd[0], str(req), "--repo", str(r.path), *cmd[1:])
        out = json.loads(p.stdout)
        assert p.returncode == 1, (cmd, p.stderr)
        assert [(d["code"], d["path"]) for d in out["diagnostics"] if d["severity"] == "error"] == [(code, pointer)]
    before.assert_kept(r)
    assert r.branches() == ["main"]
    # the same request without the workflow outputs goes through
    assert run(r, "apply", str(write_request(tmp_path, WHOAMI, "fresh.yaml")), "--repo", str(r.path)).returncode == 0


# ---------------------------------------------------------------------------------------
# 12. git calls that never return, or leave a child holding their pipes
# ---------------------------------------------------------------------------------------


def _fake_git(tmp_path: Path, body: str) -> dict:
    """A `git` first on PATH that runs body (sh) and then the real git."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\n{body}\nexec {tool('git')} \"$@\"\n")
    fake.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def _kill_listed(pids: Path):
    for pid in pids.read_text().split() if pids.exists() else []:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def _apply_with_fake_git(tmp_path: Path, r: Repo, body: str, *extra: str) -> subprocess.CompletedProcess:
    """apply WHOAMI with a fake git running body first; body lists background pids in "$PIDS"."""
    pids = tmp_path / "sleepers"
    env = dict(r.env, PIDS=str(pids), **_fake_git(tmp_path, body))
    try:
        return subprocess.run([cli(), "apply", str(write_request(tmp_path, WHOAMI)), "--repo", str(r.path), *extra],
                              capture_output=True, text=True, env=env, timeout=300)
    finally:
        _kill_listed(pids)


def test_a_child_holding_gits_pipes_does_not_block_apply(tmp_path: Path):
    r = make_repo(tmp_path)
    # Every git call leaves a background process with git's stdout and stderr open, as a hook or a
    # credential helper that daemonises would. apply must return when git exits, not when its pipes close.
    p = _apply_with_fake_git(tmp_path, r, 'sleep 600 & echo $! >> "$PIDS"')
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["outcome"] == "committed"


def test_a_git_call_that_hangs_times_out_and_changes_nothing(tmp_path: Path):
    r = make_repo(tmp_path)
    before = State(r)
    marker = tmp_path / "terminated"
    # write-tree never returns: apply asks it to stop (SIGTERM, so git can drop its lock files) after
    # --git-timeout, and reports, with nothing changed.
    p = _apply_with_fake_git(tmp_path, r, f'case " $* " in *" write-tree "*) trap "echo TERM >> {marker}; exit 143" TERM; '
                                          'sleep 600 & echo $! >> "$PIDS"; wait $!;; esac', "--git-timeout", "1")
    out = json.loads(p.stdout)
    assert p.returncode == 1 and out["outcome"] == "failed", p.stderr
    assert "git write-tree did not finish in time" in out["error"]
    assert "nothing in the repository changed" in out["error"]
    assert marker.read_text() == "TERM\n"
    before.assert_kept(r)
    assert r.branches() == ["main"]


def test_an_update_ref_that_times_out_after_creating_the_branch_is_a_commit(tmp_path: Path):
    r = make_repo(tmp_path)
    p = _apply_with_fake_git(tmp_path, r, f'case " $* " in *" update-ref "*) {tool("git")} "$@" || exit $?; '
                                          'trap "exit 143" TERM; sleep 600 & echo $! >> "$PIDS"; wait $!;; esac',
                             "--git-timeout", "1")
    out = json.loads(p.stdout)
    assert p.returncode == 0 and out["outcome"] == "committed", p.stdout + p.stderr
    assert r.git("rev-parse", out["branch"]).strip() == out["commit"]


def test_a_commit_landing_between_plan_and_apply_is_not_overwritten(tmp_path: Path):
    # Right after planning (on apply's first git call) someone commits a link where the new app's
    # folder goes. The base commit then has it; update-index would silently replace it with the folder.
    r = make_repo(tmp_path)
    done = tmp_path / "raced"
    race = (f'if [ ! -e {done} ] && [ "$4" != "" ]; then case " $* " in *" --show-toplevel "*) touch {done}; '
            f'ln -s /etc "$2/{NS_ROOT}/whoami"; {tool("git")} -C "$2" add -A; '
            f'{tool("git")} -C "$2" commit -q -m race;; esac; fi')
    p = _apply_with_fake_git(tmp_path, r, race)
    out = json.loads(p.stdout)
    assert done.exists()
    assert p.returncode == 1 and out["outcome"] == "failed", p.stdout
    assert "would change more than the plan" in out["error"]
    assert r.branches() == ["main"]
    assert (r.path / NS_ROOT / "whoami").is_symlink()


def test_repo_hooks_do_not_run(tmp_path: Path):
    r = make_repo(tmp_path)
    marker = tmp_path / "hook-ran"
    for hook in ("pre-commit", "commit-msg", "post-commit", "reference-transaction", "post-index-change"):
        h = r.path / ".git" / "hooks" / hook
        h.write_text(f"#!/bin/sh\necho {hook} >> {marker}\n")
        h.chmod(0o755)
    p = run(r, "apply", str(write_request(tmp_path, WHOAMI)), "--repo", str(r.path))
    assert p.returncode == 0, p.stderr
    assert not marker.exists(), marker.read_text()


# ---------------------------------------------------------------------------------------
# 17. the audit log: capped fields, and never inside the checkout
# ---------------------------------------------------------------------------------------


def test_audit_fields_are_capped(tmp_path: Path):
    r = make_repo(tmp_path)
    audit = tmp_path / "audit.log"
    huge = "x" * 300_000
    req = write_request(tmp_path, WHOAMI.replace("operatorId: alice", f"operatorId: {huge}"))
    p = run(r, "apply", str(req), "--repo", str(r.path), "--audit-log", str(audit))
    assert p.returncode in (0, 1), p.stderr
    [line] = audit_lines(audit)
    assert len(audit.read_bytes()) < 4096
    assert line["operatorId"].startswith("x" * 200) and line["operatorId"].endswith("...(300000 bytes)")


@pytest.mark.parametrize("where", ["tracked-folder", "repo-top"])
def test_audit_log_inside_the_checkout_is_refused_up_front(tmp_path: Path, where: str):
    r = make_repo(tmp_path)
    audit = (r.path / NS_ROOT / "audit.log") if where == "tracked-folder" else (r.path / "audit.log")
    before = State(r)
    p = run(r, "apply", str(write_request(tmp_path, WHOAMI)), "--repo", str(r.path), "--audit-log", str(audit))
    out = json.loads(p.stdout)
    assert p.returncode == 1 and "audit.inside-repo" in codes(out), p.stderr
    assert "is inside the checkout" in p.stderr
    # the log itself records the refusal, and nothing else changed
    assert [l["outcome"] for l in audit_lines(audit)] == ["rejected"]
    audit.unlink()
    before.assert_kept(r)
    assert r.branches() == ["main"]


@pytest.mark.parametrize("where", ["ignored", "git-dir"])
def test_audit_log_inside_the_checkout_is_fine_when_git_ignores_it(tmp_path: Path, where: str):
    r = make_repo(tmp_path)
    if where == "ignored":
        (r.path / ".gitignore").write_text("*.log\n")
        commit_all(r, "ignore logs")
        audit = r.path / "audit.log"
    else:
        audit = r.path / ".git" / "appforge-audit.log"
    p = run(r, "apply", str(write_request(tmp_path, WHOAMI)), "--repo", str(r.path), "--audit-log", str(audit))
    assert p.returncode == 0, p.stderr
    assert [l["outcome"] for l in audit_lines(audit)] == ["committed"]


# ---------------------------------------------------------------------------------------
# 19. a failure says what is true
# ---------------------------------------------------------------------------------------


def test_failure_message_says_nothing_changed(tmp_path: Path):
    r = make_repo(tmp_path)
    before = State(r)
    env = dict(r.env, APPFORGE_FAIL_AFTER_WRITES="2")
    p = run(r, "apply", str(write_request(tmp_path, WHOAMI)), "--repo", str(r.path), env=env)
    out = json.loads(p.stdout)
    assert p.returncode == 1 and out["outcome"] == "failed"
    assert "injected failure after 2 object write(s)" in out["error"]
    assert "nothing in the repository changed" in out["error"] and "ROLLBACK" not in out["error"]
    assert codes(out) == {"git.failed"}
    before.assert_kept(r)
    assert r.branches() == ["main"]


def test_apply_into_a_full_stdout_still_names_the_commit(tmp_path: Path):
    r = make_repo(tmp_path)
    with open("/dev/full", "w") as full:
        p = subprocess.run([cli(), "apply", str(write_request(tmp_path, WHOAMI)), "--repo", str(r.path)],
                           stdout=full, stderr=subprocess.PIPE, text=True, env=r.env, timeout=120)
    assert p.returncode == 2
    [branch] = [b for b in r.branches() if b != "main"]
    commit = r.git("rev-parse", branch).strip()
    assert f"committed {commit} on branch {branch}" in p.stderr
    assert "cannot write standard output" in p.stderr
