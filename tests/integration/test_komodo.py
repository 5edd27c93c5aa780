"""`appforge komodo` end to end against a loopback fake of the Komodo API (komodo_server.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
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


def test_deploy_success_creates_stack_and_polls_to_complete(komodo):
    p = deploy(komodo.url)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "success"
    assert out["submissionStatus"].endswith(": Complete")
    assert "errorMessage" not in out
    assert komodo.types() == ["ListStacks", "CreateStack", "DeployStack", "GetUpdate", "GetUpdate"]
    (stack,) = komodo.stacks.values()
    assert stack["name"] == "myapp" and stack["state"] == "running"
    assert stack["config"]["server_id"] == "64a0000000000000000000aa"  # the name was resolved
    assert stack["config"]["run_directory"] == "/mnt/pool/apps/myapp"
    compose = stack["config"]["file_contents"]
    assert "image: myapp:1.0.0" in compose and "restart: unless-stopped" in compose
    assert '"8080:8080"' in compose and "source: /mnt/pool/apps/myapp/data" in compose
    # The compose file Komodo received is the one `appforge komodo compose` prints.
    c = run("komodo", "compose", str(EXAMPLE))
    assert c.returncode == 0 and c.stdout == compose
    for h in komodo.seen_headers:
        assert h["x-api-key"] == API_KEY and h["content-type"] == "application/json"
    assert_no_secret(p)


def test_redeploy_updates_the_existing_stack(komodo):
    assert deploy(komodo.url).returncode == 0
    komodo.calls.clear()
    p = deploy(komodo.url)
    assert p.returncode == 0, p.stderr
    assert komodo.types()[:3] == ["ListStacks", "UpdateStack", "DeployStack"]
    assert len(komodo.stacks) == 1 and next(iter(komodo.stacks.values()))["deploys"] == 2


def test_deploy_failure_reports_komodo_logs(komodo):
    komodo.modes.add("deploy_fails")
    p = deploy(komodo.url)
    assert p.returncode == 1, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "failed"
    assert "Compose Up: Error response from daemon: pull access denied for myapp" in out["errorMessage"]
    assert "pull access denied" in p.stderr
    assert_no_secret(p)


def test_wrong_credentials_give_a_clear_401(komodo):
    p = deploy(komodo.url, env=creds(secret="S-wrong-secret"))
    assert p.returncode == 2
    assert "HTTP 401" in p.stderr and "KOMODO_API_KEY" in p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "failed" and "401" in out["errorMessage"]
    assert komodo.calls == []  # the fake records only authenticated calls
    assert "S-wrong-secret" not in p.stdout + p.stderr


def test_wrong_url_gives_a_clear_404(komodo):
    p = deploy(komodo.url + "/api/v9")
    assert p.returncode == 2
    assert "HTTP 404" in p.stderr and "Komodo URL" in p.stderr


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
    t0 = time.monotonic()
    p = deploy(komodo.url, "--timeout", "1.5")
    elapsed = time.monotonic() - t0
    assert p.returncode == 2
    assert "timed out after 1.5 s" in p.stderr and "InProgress" in p.stderr
    assert json.loads(p.stdout)["status"] == "failed"
    assert 1.4 < elapsed < 10
    assert komodo.types().count("GetUpdate") >= 3


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as s:  # a port nobody listens on
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
