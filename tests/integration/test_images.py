"""`appforge validate --check-images` against a real registry: Debian's docker-registry on loopback.

Setup pushes a minimal OCI image (config blob + one layer + manifest) through the registry's
own HTTP API. A small token front (Bearer challenge -> token -> retry) sits before the same
registry to exercise the anonymous-pull flow public registries use.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CLI = os.environ.get("APPFORGE_CLI", "")
NOT_FOUND = "Container image not found. Verify image name and registry access"
REPO = "acme/hello"
TAG = "v1"


def cli() -> str:
    if not CLI or not os.access(CLI, os.X_OK):
        pytest.fail("APPFORGE_CLI must name the built appforge binary (e.g. build/cli/appforge)")
    return CLI


class RefusingPort:
    """A loopback port that refuses connections: bound (so nobody else gets it) but not listening.

    Picking a "free" port by binding and closing a socket, then using it later, races with every
    other process on the machine; holding the bound socket for the whole test does not.
    """

    def __enter__(self) -> str:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def __exit__(self, *exc) -> None:
        self.sock.close()


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def push_blob(base: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    status, headers, _ = http("POST", f"{base}/v2/{REPO}/blobs/uploads/", b"")
    assert status == 202, f"upload start: HTTP {status}"
    location = urllib.parse.urljoin(base, headers["Location"])
    sep = "&" if "?" in location else "?"
    status, _, body = http("PUT", f"{location}{sep}digest={urllib.parse.quote(digest)}", data,
                           {"Content-Type": "application/octet-stream"})
    assert status == 201, f"blob upload: HTTP {status} {body!r}"
    return digest


def push_image(base: str) -> str:
    """Pushes REPO:TAG; returns the manifest digest."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        content = b"hello from appforge\n"
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime = len(content), 0
        tar.addfile(info, io.BytesIO(content))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()]},
    }).encode()
    config_digest = push_blob(base, config)
    layer_digest = push_blob(base, layer)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest,
                    "size": len(layer)}],
    }).encode()
    status, headers, body = http("PUT", f"{base}/v2/{REPO}/manifests/{TAG}", manifest,
                                 {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 201, f"manifest upload: HTTP {status} {body!r}"
    return headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(manifest).hexdigest()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry not found: install the Debian package docker-registry (tools/setup.sh)")
    root = tmp_path_factory.mktemp("registry")
    # Port 0: the registry binds a free port itself and logs the one it got ("listening on
    # 127.0.0.1:N"), so no other process can take it between choosing and binding.
    (root / "config.yml").write_text(
        "version: 0.1\n"
        "log:\n  level: info\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "http:\n  addr: 127.0.0.1:0\n")
    proc = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    port = None
    for line in proc.stderr:  # ends when the registry exits
        log.append(line)
        m = re.search(r'msg="listening on 127\.0\.0\.1:(\d+)"', line)
        if m:
            port = int(m.group(1))
            break
    if port is None:
        proc.kill()
        pytest.fail("docker-registry did not start: " + "".join(log)[-2000:])
    # Keep draining its log so the registry never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    status = http("GET", base + "/v2/")[0]
    assert status == 200, f"docker-registry /v2/ answered HTTP {status}"
    digest = push_image(base)
    yield {"host": f"127.0.0.1:{port}", "base": base, "digest": digest}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


class TokenFront:
    """Anonymous pulls answered the way Docker Hub and distribution's token auth answer them.

    - a manifest HEAD without a token: 401 and `Bearer realm=...,service=...,scope=
      "repository:<name>:pull"`;
    - the realm (GET ?scope=&service=): 200 with `token`, `access_token` or both (the token
      spec allows either; auth.docker.io sends both), `expires_in` and `issued_at`. A token is
      issued for a repository that does not exist too, granting nothing, as auth.docker.io does;
    - the HEAD again with the token: the registry's own answer for an existing repository (200,
      or 404 for a missing tag); for a missing repository 401 with `error="insufficient_scope"`,
      never 404: Docker Hub does not tell a missing repository from a private one.
    A token is good only for the repository it was issued for.
    """

    SERVICE = "fake-registry"

    def __init__(self, upstream: str, token_fields: tuple[str, ...] = ("token", "access_token")):
        self.upstream = upstream
        self.token_fields = token_fields
        self.token_requests: list[dict] = []
        self.head_statuses: list[int] = []
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, headers=(), body=b""):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _challenge(self, repo: str, error: str = ""):
                realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
                challenge = f'Bearer realm="{realm}",service="{front.SERVICE}",scope="repository:{repo}:pull"'
                if error:
                    challenge += f',error="{error}"'
                front.head_statuses.append(401)
                return self._reply(401, [("WWW-Authenticate", challenge), ("Content-Type", "application/json")],
                                   b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                if url.path == "/token":
                    q = dict(urllib.parse.parse_qsl(url.query))
                    front.token_requests.append(q)
                    m = re.fullmatch(r"repository:([a-z0-9._/-]+):pull", q.get("scope", ""))
                    if q.get("service") != front.SERVICE or not m:
                        return self._reply(400, body=b'{"errors":[{"code":"DENIED"}]}')
                    token = front.token_for(m.group(1))
                    body = {k: token for k in front.token_fields}
                    body.update(expires_in=300, issued_at="2026-01-01T00:00:00Z")
                    return self._reply(200, [("Content-Type", "application/json")], json.dumps(body).encode())
                self.do_HEAD()

            def do_HEAD(self):
                m = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", urllib.parse.urlparse(self.path).path)
                if not m:
                    return self._reply(404)
                repo = m.group(1)
                if self.headers.get("Authorization") != "Bearer " + front.token_for(repo):
                    return self._challenge(repo)
                if http("GET", f"{front.upstream}/v2/{repo}/tags/list")[0] == 404:  # NAME_UNKNOWN
                    return self._challenge(repo, "insufficient_scope")
                status, headers, _ = http("HEAD", front.upstream + self.path, None,
                                          {"Accept": self.headers.get("Accept", "")})
                front.head_statuses.append(status)
                self._reply(status, [(k, v) for k, v in headers.items() if k.lower() == "docker-content-digest"])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"

    @staticmethod
    def token_for(repo: str) -> str:
        return "tok-" + hashlib.sha256(repo.encode()).hexdigest()[:16]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def request_file(tmp_path: Path, image: str) -> Path:
    p = tmp_path / "request.yaml"
    p.write_text("operatorId: alice\nappName: hello\ncontainerImage: " + json.dumps(image) +
                 "\nstoragePattern: ephemeral\ningressPattern: internal-only\nbackupStrategy: none\n")
    return p


def validate(tmp_path: Path, image: str, *extra: str) -> tuple[subprocess.CompletedProcess, list]:
    # A loopback registry is reached only when the profile lists it (registries.allowed, issue 13).
    profile = tmp_path / "profile.yaml"
    profile.write_text("registries:\n  allowed: [" + json.dumps(image.split("/", 1)[0]) + "]\n")
    p = subprocess.run([cli(), "validate", str(request_file(tmp_path, image)), "--output", "json",
                        "--profile", str(profile), *extra], capture_output=True, text=True, timeout=60)
    return p, json.loads(p.stdout)


def test_existing_tag_passes(registry, tmp_path):
    p, diags = validate(tmp_path, f"{registry['host']}/{REPO}:{TAG}", "--check-images")
    assert p.returncode == 0, p.stdout + p.stderr
    assert diags == []
    assert "image check: registry" in p.stderr


def test_existing_digest_passes(registry, tmp_path):
    p, diags = validate(tmp_path, f"{registry['host']}/{REPO}@{registry['digest']}", "--check-images")
    assert p.returncode == 0, p.stdout + p.stderr


def test_missing_tag_fails_with_the_exact_message(registry, tmp_path):
    p, diags = validate(tmp_path, f"{registry['host']}/{REPO}:v999", "--check-images")
    assert p.returncode == 1
    assert [(d["path"], d["code"], d["message"]) for d in diags] == [
        ("/containerImage", "image.not_found", NOT_FOUND)]


def test_missing_repository_fails_with_the_exact_message(registry, tmp_path):
    p, diags = validate(tmp_path, f"{registry['host']}/acme/nothing-here:v1", "--check-images")
    assert p.returncode == 1
    assert [d["message"] for d in diags] == [NOT_FOUND]


def test_without_the_flag_only_the_format_is_checked(registry, tmp_path):
    p, diags = validate(tmp_path, f"{registry['host']}/{REPO}:v999")
    assert p.returncode == 0 and diags == []
    assert "image check: format only" in p.stderr


def test_unreachable_registry_has_its_own_diagnostic(tmp_path):
    with RefusingPort() as host:
        p, diags = validate(tmp_path, f"{host}/{REPO}:{TAG}", "--check-images")
    assert p.returncode == 1
    assert len(diags) == 1 and diags[0]["code"] == "image.unreachable"
    assert diags[0]["message"].startswith("Container image could not be checked: registry unreachable")
    assert host in diags[0]["message"] and "cannot connect" in diags[0]["message"]
    assert NOT_FOUND not in diags[0]["message"]


@pytest.mark.parametrize("fields", [("token",), ("access_token",), ("token", "access_token")],
                         ids=["token", "access_token", "both"])
def test_bearer_token_challenge_flow(registry, tmp_path, fields):
    front = TokenFront(registry["base"], fields)
    try:
        p, diags = validate(tmp_path, f"{front.host}/{REPO}:{TAG}", "--check-images")
        assert p.returncode == 0, p.stdout + p.stderr
        assert diags == []
        assert front.token_requests == [{"scope": f"repository:{REPO}:pull", "service": TokenFront.SERVICE}]
        assert front.head_statuses == [401, 200]
        p, diags = validate(tmp_path, f"{front.host}/{REPO}:v999", "--check-images")
        assert [(d["code"], d["message"]) for d in diags] == [("image.not_found", NOT_FOUND)]
        assert len(front.token_requests) == 2
        assert front.head_statuses[2:] == [401, 404]
    finally:
        front.stop()


def test_missing_repository_behind_a_token_service_is_not_found(registry, tmp_path):
    # Docker Hub answers 401 insufficient_scope, not 404, for a repository that does not exist
    # (a typo in the image name, the most common mistake): the user must read "not found", not
    # "registry refused access".
    front = TokenFront(registry["base"])
    try:
        p, diags = validate(tmp_path, f"{front.host}/acme/nothing-here:v1", "--check-images")
        assert p.returncode == 1, p.stdout + p.stderr
        assert [(d["path"], d["code"], d["message"]) for d in diags] == [
            ("/containerImage", "image.not_found", NOT_FOUND)]
        assert front.head_statuses == [401, 401]
        assert len(front.token_requests) == 1
    finally:
        front.stop()


def test_docker_hub_images_go_to_registry_1_with_an_https_token_realm(tmp_path):
    # Docker Hub itself, in a private network namespace (dockerhub_standin.py): real names
    # (registry-1.docker.io, auth.docker.io), https with a test CA, the token answer with both
    # `token` and `access_token`, and 401 insufficient_scope for a missing repository.
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare not found: install util-linux (tools/setup.sh)")
    images = {
        "hello:v1": [],  # docker.io/library/hello
        "docker.io/acme/tool:1.0": [],
        "index.docker.io/library/hello:v1": [],
        "hello:v999": [("image.not_found", NOT_FOUND)],  # 404 MANIFEST_UNKNOWN
        "acme/nothing-here:1": [("image.not_found", NOT_FOUND)],  # 401 insufficient_scope
    }
    commands = []
    for i, image in enumerate(images):
        (tmp_path / f"r{i}").mkdir()
        commands.append([cli(), "validate", str(request_file(tmp_path / f"r{i}", image)), "--output", "json",
                         "--check-images"])
    env = {k: v for k, v in os.environ.items() if k != "APPFORGE_INSECURE_REGISTRIES"}
    work = tmp_path / "hub"
    work.mkdir()
    p = subprocess.run([unshare, "--map-root-user", "--mount", "--net", sys.executable,
                        str(Path(__file__).with_name("dockerhub_standin.py")), str(work), json.dumps(commands)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, "the Docker Hub stand-in could not run (it needs unshare -rmn):\n" + p.stderr[-3000:]
    out = json.loads(p.stdout)
    for (image, expected), r in zip(images.items(), out["results"]):
        got = [(d["code"], d["message"]) for d in json.loads(r["stdout"])]
        assert got == expected, f"{image}: {r['stdout']} {r['stderr']}"
        assert r["returncode"] == (1 if expected else 0), f"{image}: {r['stderr']}"
    seen = [(q["host"], q["method"], q["path"], bool(q["auth"]), q["status"]) for q in out["requests"]]
    token = "/token?scope=repository%3Alibrary%2Fhello%3Apull&service=registry.docker.io"
    assert seen[:3] == [
        ("registry-1.docker.io", "HEAD", "/v2/library/hello/manifests/v1", False, 401),
        ("auth.docker.io", "GET", token, False, 200),
        ("registry-1.docker.io", "HEAD", "/v2/library/hello/manifests/v1", True, 200)]
    assert {q[0] for q in seen} == {"registry-1.docker.io", "auth.docker.io"}
    assert ("registry-1.docker.io", "HEAD", "/v2/acme/nothing-here/manifests/1", True, 401) in seen
