"""`appforge komodo` end to end against a loopback fake of the Komodo API (komodo_server.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from komodo_server import API_KEY, API_SECRET, FakeKomodo

CLI = os.environ.get("APPFORGE_CLI", "")
SRC = Path(os.environ.get("APPFORGE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
EXAMPLE = SRC / "examples" / "requests" / "myapp-komodo.yaml"

DATA_MODEL_PAYLOAD = {
    "appName": "myapp",
    "appVersion": "1.0.0",
    "appConfig": {"storage": {"enabled": True, "size": "50Gi", "path": "/data"}, "network": {"ports": [8080]}},
    "storageLocation": "/mnt/pool/apps/myapp",
}


def cli() -> str:
    if not CLI or not os.access(CLI, os.X_OK):
        pytest.fail("APPFORGE_CLI must name the built appforge binary (e.g. build/cli/appforge)")
    return CLI


def run(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([cli(), *args], capture_output=True, text=True, env=env, timeout=timeout)


def creds(key: str = API_KEY, secret: str = API_SECRET) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMODO_")}
    env.update(KOMODO_API_KEY=key, KOMODO_API_SECRET=secret)
    return env


@pytest.fixture
def komodo():
    fake = FakeKomodo().start()
    yield fake
    fake.stop()


def example_without_url(tmp: Path) -> Path:
    """The example without its komodoApiUrl: a request deployed with --url may only repeat that URL."""
    p = tmp / "myapp-komodo.yaml"
    p.write_text("".join(l for l in EXAMPLE.read_text().splitlines(True) if not l.startswith("komodoApiUrl:")))
    return p


REQUEST = example_without_url(Path(tempfile.mkdtemp(prefix="appforge-komodo-")))


def deploy(fake_url: str, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run("komodo", "deploy", str(REQUEST), "--url", fake_url, "--server", "truenas",
               "--poll-interval", "0.05", *extra, env=env if env is not None else creds())


def assert_no_secret(p: subprocess.CompletedProcess) -> None:
    assert API_SECRET not in p.stdout and API_SECRET not in p.stderr
    assert API_KEY not in p.stdout and API_KEY not in p.stderr


def test_payload_is_the_data_model_example():
    p = run("komodo", "payload", str(EXAMPLE))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == DATA_MODEL_PAYLOAD


# The compose file of the example, written out by hand (not produced by appforge).
EXAMPLE_COMPOSE = """services:
  myapp:
    image: myapp:1.0.0
    ports:
      - "8080:8080"
    restart: unless-stopped
    volumes:
      - bind:
          create_host_path: true
        source: /mnt/pool/apps/myapp/data
        target: /data
        type: bind
"""


def test_deploy_success_creates_stack_and_polls_to_complete(komodo):
    p = deploy(komodo.url)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "success"
    assert out["submissionStatus"].endswith(": Complete")
    assert "errorMessage" not in out
    assert komodo.types() == ["ListStacks", "CreateStack", "UpdateResourceMeta", "DeployStack", "GetUpdate", "GetUpdate"]
    (stack,) = komodo.stacks.values()
    assert stack["name"] == "myapp" and stack["state"] == "running"
    assert stack["config"]["server_id"] == "64a0000000000000000000aa"  # the name was resolved
    # Pinned to the UI-defined file; run_directory untouched (Periphery runs it in <root>/stacks/<name>).
    assert stack["config"]["files_on_host"] is False and stack["config"]["repo"] == "" and stack["config"]["linked_repo"] == ""
    assert stack["config"]["run_directory"] == ""
    assert stack["ran_from"] == "file_contents" and stack["run_directory"] == "/etc/komodo/stacks/myapp"
    assert stack["config"]["file_contents"] == EXAMPLE_COMPOSE
    assert stack["description"] == "Example app on TrueNAS through Komodo"
    assert [komodo.tags[t] for t in stack["tags"]] == ["appforge"]
    for h in komodo.seen_headers:
        assert h["x-api-key"] == API_KEY and h["content-type"] == "application/json"
    assert_no_secret(p)


def test_redeploy_updates_the_existing_stack(komodo):
    assert deploy(komodo.url).returncode == 0
    komodo.calls.clear()
    p = deploy(komodo.url)
    assert p.returncode == 0, p.stderr
    assert komodo.types()[:4] == ["ListStacks", "UpdateStack", "UpdateResourceMeta", "DeployStack"]
    assert len(komodo.stacks) == 1 and next(iter(komodo.stacks.values()))["deploys"] == 2


def test_a_failed_pull_is_reported_as_the_failing_stage(komodo):
    komodo.modes.add("pull_fails")
    p = deploy(komodo.url)
    assert p.returncode == 1, p.stderr
    assert komodo.types()[-1] == "GetUpdate"  # DeployStack itself succeeded: the failure is inside the Update
    out = json.loads(p.stdout)
    assert out["status"] == "failed"
    assert out["errorMessage"] == ("Komodo deploy of stack 'myapp' failed: Compose Pull: Error response from daemon: "
                                   "pull access denied for myapp:1.0.0, repository does not exist or may require "
                                   "'docker login'")
    assert "Compose Pull: Error response from daemon" in p.stderr
    assert_no_secret(p)


def test_wrong_credentials_give_a_clear_401(komodo):
    p = deploy(komodo.url, env=creds(secret="S-wrong-secret"))
    assert p.returncode == 2
    assert "HTTP 401" in p.stderr and "KOMODO_API_KEY" in p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "failed" and "401" in out["errorMessage"]
    assert komodo.calls == []  # the fake records only authenticated calls
    assert "S-wrong-secret" not in p.stdout + p.stderr


def test_wrong_url_gives_a_clear_405(komodo):
    p = deploy(komodo.url + "/api/v9")
    assert p.returncode == 2
    assert "HTTP 405" in p.stderr and "Komodo URL" in p.stderr


def test_a_500_on_a_read_is_retried(komodo):
    komodo.modes.add("read_500_once")
    p = deploy(komodo.url)
    assert p.returncode == 0, p.stderr
    assert komodo.types()[:3] == ["ListStacks", "ListStacks", "CreateStack"]
    assert json.loads(p.stdout)["status"] == "success"


def test_a_500_on_a_write_is_not_retried(komodo):
    komodo.modes.add("write_500")
    p = deploy(komodo.url)
    assert p.returncode == 1
    assert komodo.types() == ["ListStacks", "CreateStack"]
    out = json.loads(p.stdout)
    assert out["status"] == "failed" and "writes are not retried" in out["errorMessage"]
    assert "database write failed" in out["errorMessage"]


def test_a_deploy_that_never_completes_times_out(komodo):
    komodo.modes.add("never_complete")
    p = deploy(komodo.url, "--timeout", "1.5")
    assert p.returncode == 2
    assert "timed out after 1.5 s" in p.stderr and "InProgress" in p.stderr
    assert json.loads(p.stdout)["status"] == "failed"
    # Counted work, not wall time: every poll waits --poll-interval (0.05 s) first, so within 1.5 s
    # at most 1.5 / 0.05 = 30 polls fit, however fast or slow the machine is; and it polled at all.
    polls = komodo.types().count("GetUpdate")
    assert 1 <= polls <= 30


def test_connection_refused_is_retried_then_reported():
    # Bound but never listening, and held for the whole test: nobody else can take the port, and
    # a connect is refused (bind-and-close would let another process grab it meanwhile).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        p = deploy(f"http://127.0.0.1:{port}")
    assert p.returncode == 2
    assert "cannot connect" in p.stderr and "after 4 attempt(s)" in p.stderr


def test_credentials_come_only_from_the_environment(komodo):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMODO_")}
    p = deploy(komodo.url, env=env)
    assert p.returncode == 2
    assert "KOMODO_API_KEY" in p.stderr
    assert komodo.calls == []


def test_invalid_request_never_reaches_komodo(komodo, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(REQUEST.read_text().replace("ports: [8080]", "ports: [80800]"))
    p = run("komodo", "deploy", str(bad), "--url", komodo.url, "--server", "truenas", env=creds())
    assert p.returncode == 1
    assert "/komodoRequest/appConfig/network/ports/0" in p.stderr
    assert komodo.calls == []


# -- issue 17: Komodo as it really behaves -------------------------------------------------------

def test_the_stand_in_follows_komodo(komodo):
    """The stand-in's own behaviour, checked against what the server code does (see its header)."""
    import urllib.error
    import urllib.request

    def call(path, body, headers=None):
        h = {"Content-Type": "application/json", "X-Api-Key": API_KEY, "X-Api-Secret": API_SECRET, **(headers or {})}
        req = urllib.request.Request(komodo.url + path, json.dumps(body).encode(), h, method="POST")
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw else None

    assert call("/api/v1/read", {})[0] == 405
    status, stack = call("/write", {"type": "CreateStack", "params": {"name": "a", "config": {
        "server": "truenas", "file_contents": "services: {}\n", "no_such_field": 1}}})
    assert status == 200 and "no_such_field" not in stack["config"]  # unknown fields are ignored
    assert call("/write", {"type": "CreateStack", "params": {"name": "a", "config": {}}})[0] == 409
    assert call("/write", {"type": "CreateStack", "params": {"name": "", "config": {}}})[0] == 400
    assert call("/write", {"type": "CreateStack", "params": {"name": "0123456789abcdef01234567", "config": {}}})[0] == 400
    status, items = call("/read", {"type": "ListStacks", "params": {}})
    assert items[0]["type"] == "Stack" and "resource_type" not in items[0] and items[0]["info"]["files_on_host"] is False
    status, update = call("/execute", {"type": "DeployStack", "params": {"stack": "a"}})
    assert status == 200 and update["status"] == "InProgress" and update["success"] is True
    assert call("/read", {"type": "GetStack", "params": {"stack": "nope"}})[0] == 500


def test_a_stack_switched_to_files_on_host_is_refused(komodo):
    komodo.add_stack("myapp", files_on_host=True, server="truenas", run_directory="/mnt/apps01/myapp")
    p = deploy(komodo.url)
    assert p.returncode == 1
    assert komodo.types() == ["ListStacks"]  # nothing written, nothing deployed
    assert ("stack 'myapp' exists on Komodo but takes its compose file from files on the host, which Komodo prefers "
            "over the file appforge sends") in p.stderr
    assert "[komodo.stack.managed]" in p.stderr
    assert json.loads(p.stdout)["status"] == "failed"

    p = deploy(komodo.url, "--take-over")
    assert p.returncode == 0, p.stderr
    assert "[komodo.stack.taken_over]" in p.stderr
    (stack,) = komodo.stacks.values()
    assert stack["config"]["files_on_host"] is False and stack["ran_from"] == "file_contents"


def test_secret_environment_reaches_the_container_and_is_never_printed(komodo, tmp_path):
    secret = "pa$$w0rd-only-in-komodo"
    komodo.secrets["MYAPP_DB_PASSWORD"] = secret
    req = tmp_path / "secret.yaml"
    req.write_text(REQUEST.read_text().replace(
        "    network:\n",
        "    environment: {PRICE: $5}\n"
        "    secretEnv:\n      - {name: DB_PASSWORD, komodoVariable: MYAPP_DB_PASSWORD}\n    network:\n"))
    p = run("komodo", "deploy", str(req), "--url", komodo.url, "--server", "truenas", "--poll-interval", "0",
            env=creds())
    assert p.returncode == 0, p.stderr
    (stack,) = komodo.stacks.values()
    assert stack["config"]["environment"] == "DB_PASSWORD='[[MYAPP_DB_PASSWORD]]'\n"
    assert 'DB_PASSWORD: "${DB_PASSWORD}"' in stack["config"]["file_contents"]
    assert stack["container_env"] == {"DB_PASSWORD": secret, "PRICE": "$5"}  # $$ kept the literal, ${} the secret
    assert secret not in p.stdout + p.stderr
    for body in komodo.bodies:
        assert secret not in json.dumps(body)
    assert_no_secret(p)


def test_status_and_destroy(komodo):
    env = creds()
    p = run("komodo", "status", "myapp", "--url", komodo.url, env=env)
    assert p.returncode == 1 and json.loads(p.stdout)["outcome"] == "not_found"
    assert "stack 'myapp' does not exist on Komodo" in p.stderr
    assert deploy(komodo.url).returncode == 0
    p = run("komodo", "status", "myapp", "--url", komodo.url, env=env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["state"] == "running" and out["managedElsewhere"] is False
    assert out["services"] == [{"service": "myapp", "image": "myapp:1.0.0", "state": "running", "status": "Up 2 minutes"}]

    komodo.calls.clear()
    p = run("komodo", "destroy", "myapp", "--url", komodo.url, env=env)
    assert p.returncode == 2 and "pass --yes to confirm" in p.stderr and komodo.calls == []
    p = run("komodo", "destroy", "myapp", "--yes", "--url", komodo.url, "--poll-interval", "0", env=env)
    assert p.returncode == 0, p.stderr
    assert komodo.types() == ["ListStacks", "DestroyStack", "GetUpdate", "GetUpdate", "DeleteStack"]
    assert json.loads(p.stdout)["deleted"] is True and komodo.stacks == {}
    assert_no_secret(p)


# -- GitOps for Komodo: a Resource Sync repo in the style of cpritchett/homelab ------------------

HOMELAB_TOML = """# Komodo Resource Sync: every stack of the home lab.
# (kept in the style of cpritchett/homelab: swarm stacks, compose files under stacks/)

[[stack]]
name = "caddy"          # ingress for everything else
tags = ["platform"]
deploy = true
[stack.config]
swarm = "homelab"
linked_repo = "homelab"
run_directory = "stacks/platform/caddy"
file_paths = ["compose.yaml"]

[[stack]]
name = "jellyfin"
deploy = true
after = ["caddy"]
[stack.config]
swarm = "homelab"
linked_repo = "homelab"
run_directory = "stacks/media/jellyfin"
file_paths = ["compose.yaml"]
"""


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def homelab(tmp_path):
    repo = tmp_path / "homelab"
    (repo / "komodo").mkdir(parents=True)
    (repo / "komodo" / "resources.toml").write_text(HOMELAB_TOML)
    for d in ("platform/caddy", "media/jellyfin"):
        (repo / "stacks" / d).mkdir(parents=True)
        (repo / "stacks" / d / "compose.yaml").write_text("services: {}\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    prof = tmp_path / "profile.yaml"
    prof.write_text("komodo:\n  swarm: homelab\n  linkedRepo: homelab\n  proxy: caddy\n  proxyNetwork: caddy\n")
    return repo, prof


def test_sync_plan_and_apply_add_one_stack_and_change_nothing_else(homelab, tmp_path):
    import tomllib

    import yaml

    repo, prof = homelab
    req = tmp_path / "paperless.yaml"
    req.write_text("""operatorId: erin
appName: paperless
komodoRequest:
  appName: paperless
  appVersion: "2.14"
  appConfig:
    image: ghcr.io/paperless-ngx/paperless-ngx
    group: paperless
    after: [caddy]
    ingress: {host: paperless.internal.hypyr.space, port: 8000}
    secretEnv:
      - {name: PAPERLESS_DBPASS, komodoVariable: PAPERLESS_DB_PASSWORD}
""")
    p = run("komodo", "plan", str(req), "--repo", str(repo), "--profile", str(prof), "--output", "json")
    assert p.returncode == 0, p.stderr
    plan = json.loads(p.stdout)
    assert plan["ok"] and plan["syncFile"] == "komodo/resources.toml" and plan["stackDir"] == "stacks/apps/paperless"
    assert [f["path"] for f in plan["creates"]] == ["stacks/apps/paperless/compose.yaml"]
    assert git(repo, "status", "--porcelain") == ""  # plan writes nothing

    audit = tmp_path / "audit.jsonl"
    p = run("komodo", "apply", str(req), "--repo", str(repo), "--profile", str(prof), "--audit-log", str(audit))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    branch = out["branch"]
    assert branch.startswith("feat/app/paperless-") and out["prTitle"] == "feat: deploy paperless"
    assert out["risk"]["verdict"] == "needs-review"  # a secret reference
    assert git(repo, "diff", "--name-status", "main", branch).splitlines() == [
        "M\tkomodo/resources.toml", "A\tstacks/apps/paperless/compose.yaml"]
    toml_text = git(repo, "show", f"{branch}:komodo/resources.toml")
    assert toml_text.startswith(HOMELAB_TOML)  # every byte, comments included, kept
    doc = tomllib.loads(toml_text)  # an independent TOML reader (Python's)
    assert [s["name"] for s in doc["stack"]] == ["caddy", "jellyfin", "paperless"]
    assert doc["stack"][:2] == tomllib.loads(HOMELAB_TOML)["stack"]
    assert doc["stack"][2] == {"name": "paperless", "tags": ["appforge"], "deploy": True, "after": ["caddy"],
                               "config": {"swarm": "homelab", "linked_repo": "homelab",
                                          "run_directory": "stacks/apps/paperless", "file_paths": ["compose.yaml"],
                                          "environment": "PAPERLESS_DBPASS='[[PAPERLESS_DB_PASSWORD]]'\n"}}
    compose = yaml.safe_load(git(repo, "show", f"{branch}:stacks/apps/paperless/compose.yaml"))
    svc = compose["services"]["paperless"]
    assert svc["image"] == "ghcr.io/paperless-ngx/paperless-ngx:2.14"
    assert svc["environment"] == {"PAPERLESS_DBPASS": "${PAPERLESS_DBPASS}"}
    assert svc["deploy"]["labels"] == {"caddy": "paperless.internal.hypyr.space", "caddy.reverse_proxy": "{{upstreams 8000}}"}
    assert svc["networks"] == ["caddy"] and compose["networks"] == {"caddy": {"external": True}}
    assert git(repo, "status", "--porcelain") == "" and git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    (line,) = audit.read_text().splitlines()
    assert json.loads(line)["outcome"] == "committed" and json.loads(line)["workflow"] == "komodo-sync"

    # The same stack name again (on a branch holding it): refused, nothing created.
    git(repo, "checkout", "-q", branch)
    other = tmp_path / "again.yaml"
    other.write_text(req.read_text().replace("group: paperless", "group: docs"))
    p = run("komodo", "apply", str(other), "--repo", str(repo), "--profile", str(prof))
    assert p.returncode == 1
    assert "[komodo.sync.exists]" in p.stderr and "already declares a [[stack]] named 'paperless'" in p.stderr
    assert git(repo, "branch", "--list").count("\n") == 2


def test_sync_apply_that_fails_midway_leaves_the_repo_untouched(homelab, tmp_path):
    repo, prof = homelab
    head = git(repo, "rev-parse", "HEAD")
    env = dict(os.environ, APPFORGE_FAIL_AFTER_WRITES="1")
    p = run("komodo", "apply", str(REQUEST), "--repo", str(repo), "--profile", str(prof), env=env)
    assert p.returncode == 1
    assert "[git.failed]" in p.stderr and "nothing in the repository changed" in p.stderr
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "branch", "--list").strip() == "* main"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_the_target_comes_from_the_profile_or_swarm_flag(komodo, tmp_path):
    prof = tmp_path / "p.yaml"
    prof.write_text("komodo:\n  server: truenas\n  tags: [nas, appforge]\n")
    p = run("komodo", "deploy", str(REQUEST), "--url", komodo.url, "--profile", str(prof), "--poll-interval", "0",
            env=creds())
    assert p.returncode == 0, p.stderr
    (stack,) = komodo.stacks.values()
    assert stack["config"]["server_id"] == "64a0000000000000000000aa"
    assert sorted(komodo.tags.values()) == ["appforge", "nas"]

    komodo.stacks.clear()
    p = run("komodo", "deploy", str(REQUEST), "--url", komodo.url, "--profile", str(prof), "--swarm", "homelab-swarm",
            "--poll-interval", "0", env=creds())
    assert p.returncode == 0, p.stderr
    (stack,) = komodo.stacks.values()
    assert stack["config"]["swarm_id"] == "64a0000000000000000000bb" and stack["config"]["server_id"] == ""
    assert "deploy:" in stack["config"]["file_contents"] and "restart:" not in stack["config"]["file_contents"]
    p = run("komodo", "deploy", str(REQUEST), "--url", komodo.url, "--server", "a", "--swarm", "b", env=creds())
    assert p.returncode == 2 and "--server and --swarm exclude each other" in p.stderr
