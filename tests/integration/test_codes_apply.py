"""`appforge apply` refusals whose codes no other test named (issue 19): each asserts the code,
the pointer and the message, and that the checkout is left exactly as it was.

git.status and gitops.changed need git to misbehave or the repo to move under apply; a fake `git`
first on PATH does it (the real git runs the rest).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from test_gitops import NS_ROOT, WHOAMI, Repo, apply, clean_env, make_fixture_repo, tool, write_request


def _only(out: dict, code: str) -> dict:
    found = [d for d in out.get("diagnostics", []) if d["code"] == code]
    assert len(found) == 1, out
    return found[0]


def _fake_git(tmp_path: Path, body: str) -> dict:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\n{body}\nexec {tool('git')} \"$@\"\n")
    fake.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_not_a_repo(tmp_path: Path):
    r = make_fixture_repo(tmp_path)
    shutil.rmtree(r.path / ".git")
    # No repository above tmp_path may answer for it either.
    env = dict(r.env, GIT_CEILING_DIRECTORIES=str(tmp_path))
    p, out = apply(r, write_request(tmp_path, WHOAMI), env=env)
    assert p.returncode == 1, p.stderr
    d = _only(out, "git.not-a-repo")
    assert d["path"] == "" and d["message"].startswith("git rev-parse failed (exit 128): fatal: not a git repository"), d
    assert not (r.path / ".git").exists()


def test_no_commit_to_branch_from(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    src = make_fixture_repo(tmp_path / "src")
    work = tmp_path / "fresh"
    shutil.copytree(src.path, work, ignore=shutil.ignore_patterns(".git"))
    r = Repo(work, clean_env(home))
    r.git("init", "-q", "-b", "main")
    before = r.snapshot()
    p, out = apply(r, write_request(tmp_path, WHOAMI))
    assert p.returncode == 1, p.stderr
    assert _only(out, "git.no-head") == {"path": "", "code": "git.no-head", "severity": "error",
                                         "message": "the repo has no commit to branch from"}
    assert r.snapshot() == before


def test_git_status_failing_is_a_refusal(tmp_path: Path):
    r = make_fixture_repo(tmp_path)
    before = r.snapshot()
    env = dict(r.env, **_fake_git(tmp_path, 'case " $* " in *" status "*) echo "fatal: index file corrupt" >&2; exit 128;; esac'))
    p, out = apply(r, write_request(tmp_path, WHOAMI), env=env)
    assert p.returncode == 1, p.stderr
    assert _only(out, "git.status") == {"path": "", "code": "git.status", "severity": "error",
                                        "message": "git status failed (exit 128): fatal: index file corrupt"}
    assert r.snapshot() == before
    assert r.branches() == ["main"]


def test_a_commit_landing_after_the_plan_is_gitops_changed(tmp_path: Path):
    r = make_fixture_repo(tmp_path)
    # Just before apply reads HEAD, someone commits the very file the plan creates.
    planned = f"{NS_ROOT}/tools/whoami/deployment.yaml"
    real = tool("git")
    once = tmp_path / "raced"
    body = (f'case " $* " in *" HEAD^{{commit}} "*) if [ ! -e {once} ]; then touch {once}; '
            f'mkdir -p {r.path}/{NS_ROOT}/tools/whoami && echo "kind: ConfigMap" > {r.path}/{planned} && '
            f'{real} -C {r.path} add -A && {real} -C {r.path} -c user.name=R -c user.email=r@e commit -q -m race; fi;; esac')
    req = WHOAMI + "namespace: tools\n"
    env = dict(r.env, **_fake_git(tmp_path, body))
    p, out = apply(r, write_request(tmp_path, req), env=env)
    assert once.exists()
    assert p.returncode == 1, (p.stdout, p.stderr)
    head = r.git("rev-parse", "HEAD").strip()
    d = _only(out, "gitops.changed")
    assert d == {"path": "", "code": "gitops.changed", "severity": "error",
                 "message": f"{planned}: exists in {head[:12]} but was absent when planned"}
    assert r.branches() == ["main"]


def test_a_branch_created_meanwhile_loses_the_race_cleanly(tmp_path: Path):
    r = make_fixture_repo(tmp_path)
    real = tool("git")
    # Just before apply's compare-and-swap update-ref, another run creates the same branch.
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text(f"""#!/usr/bin/env python3
import os, subprocess, sys
args = sys.argv[1:]
if "update-ref" in args:
    ref = args[args.index("update-ref") + 3]
    subprocess.run([{real!r}, "-C", {str(r.path)!r}, "update-ref", ref, "HEAD"], check=True)
os.execv({real!r}, [{real!r}] + args)
""")
    fake.chmod(0o755)
    env = dict(r.env, PATH=f"{bin_dir}:{os.environ['PATH']}")
    main = r.git("rev-parse", "main").strip()
    p, out = apply(r, write_request(tmp_path, WHOAMI), env=env)
    assert p.returncode == 1, (p.stdout, p.stderr)
    [branch] = [b for b in r.branches() if b != "main"]
    assert _only(out, "git.branch.exists") == {
        "path": "", "code": "git.branch.exists", "severity": "error",
        "message": f"branch {branch} already exists (created meanwhile)"}
    # The winner's branch is left as it was made (at main); nothing of ours landed.
    assert r.git("rev-parse", branch).strip() == main
    assert r.git("rev-parse", "main").strip() == main
