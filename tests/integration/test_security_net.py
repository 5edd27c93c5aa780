"""Issue 13 items 2-4 through the CLI: where the Komodo credentials go, what is scrubbed from
what a server echoes, and which hosts `validate --check-images` may reach.

Stand-ins only, all on loopback: komodo_server.FakeKomodo (with its echo modes), a tiny
registry that answers with whatever Bearer challenge or redirect a test asks for, and "victim"
listeners that never answer and only count connections (read back from the accept backlog
after the CLI exited, so nothing depends on timing).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from komodo_server import API_KEY, API_SECRET, FakeKomodo

CLI = os.environ.get("APPFORGE_CLI", "")
SRC = Path(os.environ.get("APPFORGE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
EXAMPLE = SRC / "examples" / "requests" / "myapp-komodo.yaml"


def cli() -> str:
    if not CLI or not os.access(CLI, os.X_OK):
        pytest.fail("APPFORGE_CLI must name the built appforge binary (e.g. build/cli/appforge)")
    return CLI


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([cli(), *args], capture_output=True, text=True, env=env, timeout=120)


def creds() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMODO_") and k != "APPFORGE_INSECURE_REGISTRIES"}
    env.update(KOMODO_API_KEY=API_KEY, KOMODO_API_SECRET=API_SECRET)
    return env


class Victim:
    """A listener that never answers; connections() drains the accept backlog and counts them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self._accepted: list[socket.socket] = []

    def connections(self) -> int:
        self.sock.setblocking(False)
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return len(self._accepted)
            self._accepted.append(conn)

    def close(self):
        for c in self._accepted:
            c.close()
        self.sock.close()


@pytest.fixture
def victim():
    v = Victim()
    yield v
    v.close()


@pytest.fixture
def komodo():
    fake = FakeKomodo().start()
    yield fake
    fake.stop()


def nas_request(tmp_path: Path, url: str | None) -> Path:
    lines = [l for l in EXAMPLE.read_text().splitlines(True) if not l.startswith("komodoApiUrl:")]
    if url is not None:
        lines.append(f"komodoApiUrl: {url}\n")
    p = tmp_path / "nas.yaml"
    p.write_text("".join(lines))
    return p


def deploy(req: Path, *extra: str) -> subprocess.CompletedProcess:
    return run("komodo", "deploy", str(req), "--server", "truenas", "--poll-interval", "0", *extra, env=creds())


def assert_no_credentials(p: subprocess.CompletedProcess) -> None:
    for s in (API_KEY, API_SECRET, API_SECRET[1:]):
        assert s not in p.stdout and s not in p.stderr, s


# -- item 2: the Komodo URL comes from the profile or --url, never from the request ------------

def test_request_url_is_never_the_target(komodo, tmp_path):
    p = deploy(nas_request(tmp_path, komodo.url))  # no --url, no komodo.url in the profile
    assert p.returncode == 1, p.stderr
    assert "[komodo.url.missing]" in p.stderr and "set komodo.url in the profile or pass --url" in p.stderr
    assert komodo.calls == [] and komodo.seen_headers == []


def test_request_url_must_equal_the_flag(komodo, tmp_path):
    other = FakeKomodo().start()
    try:
        p = deploy(nas_request(tmp_path, other.url), "--url", komodo.url)
        assert p.returncode == 1, p.stderr
        assert "/komodoApiUrl: komodoApiUrl must be left out or equal the configured Komodo URL" in p.stderr
        assert "[komodo.url.mismatch]" in p.stderr
        assert komodo.calls == [] and other.calls == []
        # The same URL (a trailing slash aside) is fine.
        p = deploy(nas_request(tmp_path, komodo.url + "/"), "--url", komodo.url)
        assert p.returncode == 0, p.stderr
    finally:
        other.stop()


def test_profile_url_is_used_without_the_flag(komodo, tmp_path):
    prof = tmp_path / "profile.yaml"
    prof.write_text(f"komodo:\n  url: {komodo.url}\n")
    p = deploy(nas_request(tmp_path, None), "--profile", str(prof))
    assert p.returncode == 0, p.stderr
    assert komodo.types()[0] == "ListStacks"
    # validate applies the same rule with the profile: a request naming another URL is invalid.
    v = run("validate", str(nas_request(tmp_path, "https://attacker.example")), "--profile", str(prof), "--output", "json")
    assert v.returncode == 1
    assert [(d["path"], d["code"]) for d in json.loads(v.stdout)] == [("/komodoApiUrl", "komodo.url.mismatch")]


@pytest.mark.parametrize("url", ["http://komodo.invalid:9120", "http://127.0.0.1.nip.io:9120", "http://10.0.0.5:9120"])
def test_plain_http_only_to_loopback(url, tmp_path):
    p = deploy(nas_request(tmp_path, None), "--url", url)
    assert p.returncode == 2
    assert "--url: the Komodo URL must use https; plain http is allowed only to loopback" in p.stderr
    prof = tmp_path / "profile.yaml"
    prof.write_text(f"komodo:\n  url: {url}\n")
    p = deploy(nas_request(tmp_path, None), "--profile", str(prof))
    assert p.returncode == 2 and "[profile.komodoUrl]" in p.stderr


def test_backstage_nas_form_does_not_ask_for_the_url():
    p = run("backstage-template", "--workflow", "nas", "--form-schema")
    assert p.returncode == 0, p.stderr
    assert "komodoApiUrl" not in p.stdout


# -- item 3: nothing a server echoes gets the credentials printed or stored --------------------

@pytest.mark.parametrize("mode,code,needle", [
    ("echo_4xx", 1, "Komodo refused CreateStack (HTTP 400)"),
    ("echo_5xx", 2, "HTTP 502"),
    ("echo_200", 2, "body that is not JSON"),
    ("echo_logs", 1, "Compose Up: login failed"),
])
def test_echoed_credentials_are_redacted(komodo, tmp_path, mode, code, needle):
    komodo.modes.add(mode)
    p = deploy(nas_request(tmp_path, None), "--url", komodo.url, "--verbose")
    assert p.returncode == code, p.stderr
    out = json.loads(p.stdout)
    assert needle in out["errorMessage"], out["errorMessage"]
    assert "[REDACTED]" in out["errorMessage"]  # the echo did arrive, scrubbed
    assert_no_credentials(p)


# -- item 4: --check-images reaches only the hosts the profile allows --------------------------

class Registry:
    """Answers every manifest HEAD with `reply(handler)`; counts requests."""

    def __init__(self, reply):
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                outer.requests += 1
                status, headers = reply(self)
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_GET = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def check_image(tmp_path: Path, image: str, allowed: list[str] | None) -> tuple[subprocess.CompletedProcess, list]:
    req = tmp_path / "app.yaml"
    req.write_text("operatorId: alice\nappName: hello\ncontainerImage: " + json.dumps(image) +
                   "\nstoragePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n")
    args = ["validate", str(req), "--check-images", "--output", "json"]
    if allowed is not None:
        prof = tmp_path / "profile.yaml"
        prof.write_text("registries:\n  allowed: " + json.dumps(allowed) + "\n")
        args += ["--profile", str(prof)]
    p = run(*args, env=creds())
    return p, json.loads(p.stdout)


def test_unlisted_loopback_port_is_never_connected(tmp_path, victim):
    p, diags = check_image(tmp_path, f"{victim.host}/x:1", None)
    assert p.returncode == 1
    assert [(d["path"], d["code"]) for d in diags] == [("/containerImage", "image.not_allowed")]
    assert f"registry {victim.host} (a loopback address) is not in the profile's registries.allowed list" in diags[0]["message"]
    assert victim.connections() == 0


@pytest.mark.parametrize("image", ["169.254.169.254/latest/x:1", "10.0.0.5:5000/x:1", "192.168.1.1/x:1"])
def test_private_and_link_local_literals_are_refused(tmp_path, image):
    p, diags = check_image(tmp_path, image, None)
    assert [d["code"] for d in diags] == ["image.not_allowed"]


def test_realm_on_an_unlisted_host_is_not_fetched(tmp_path, victim):
    reg = Registry(lambda h: (401, [("WWW-Authenticate", f'Bearer realm="http://{victim.host}/token",service="x"')]))
    try:
        p, diags = check_image(tmp_path, f"{reg.host}/acme/app:1", [reg.host])
        assert [d["code"] for d in diags] == ["image.not_allowed"]
        assert "token realm" in diags[0]["message"] and victim.host in diags[0]["message"]
        assert victim.connections() == 0
    finally:
        reg.stop()


def test_realm_must_be_https_off_loopback(tmp_path):
    reg = Registry(lambda h: (401, [("WWW-Authenticate", 'Bearer realm="http://169.254.169.254/latest/meta-data/"')]))
    try:
        p, diags = check_image(tmp_path, f"{reg.host}/acme/app:1", [reg.host, "169.254.169.254"])
        assert [d["code"] for d in diags] == ["image.not_allowed"]
        assert "https is required except for loopback" in diags[0]["message"]
    finally:
        reg.stop()


def test_token_redirect_off_the_list_is_not_followed(tmp_path, victim):
    tokens = Registry(lambda h: (302, [("Location", f"http://{victim.host}/steal")]))
    reg = Registry(lambda h: (401, [("WWW-Authenticate", f'Bearer realm="http://{tokens.host}/token"')]))
    try:
        p, diags = check_image(tmp_path, f"{reg.host}/acme/app:1", [reg.host, tokens.host])
        assert [d["code"] for d in diags] == ["image.not_allowed"]
        assert "redirect refused" in diags[0]["message"]
        assert tokens.requests == 1 and victim.connections() == 0
    finally:
        reg.stop()
        tokens.stop()


def test_manifest_redirect_off_the_list_is_not_followed(tmp_path, victim):
    reg = Registry(lambda h: (307, [("Location", f"http://{victim.host}{h.path}")]))
    try:
        p, diags = check_image(tmp_path, f"{reg.host}/acme/app:1", [reg.host])
        assert [d["code"] for d in diags] == ["image.not_allowed"]
        assert victim.connections() == 0
    finally:
        reg.stop()


def test_redirect_within_the_list_is_followed(tmp_path):
    target = Registry(lambda h: (200, [("Docker-Content-Digest", "sha256:" + "0" * 64)]))
    reg = Registry(lambda h: (307, [("Location", f"http://{target.host}{h.path}")]))
    try:
        p, diags = check_image(tmp_path, f"{reg.host}/acme/app:1", [reg.host, target.host])
        assert p.returncode == 0 and diags == [], p.stderr
        assert target.requests == 1
    finally:
        reg.stop()
        target.stop()


def test_a_name_starting_with_127_is_not_loopback(tmp_path):
    # Only a real loopback address gets plain http; this name is spoken to over https (and fails
    # to resolve or connect either way, which the message shows with the URL it tried).
    p, diags = check_image(tmp_path, "127.0.0.1.nip.io/x:1", ["127.0.0.1.nip.io"])
    assert [d["code"] for d in diags] == ["image.unreachable"]
    assert "https://127.0.0.1.nip.io" in diags[0]["message"], diags[0]["message"]
