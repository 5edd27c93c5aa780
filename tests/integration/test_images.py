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
import shutil
import socket
import subprocess
import tarfile
import threading
import time
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    port = free_port()
    (root / "config.yml").write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if http("GET", base + "/v2/")[0] == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("docker-registry did not start: " + proc.stderr.read().decode(errors="replace")[-2000:])
        time.sleep(0.1)
    digest = push_image(base)
    yield {"host": f"127.0.0.1:{port}", "base": base, "digest": digest}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


class TokenFront:
    """Anonymous-pull auth like Docker Hub's: 401 + Bearer challenge, a token realm, then the registry."""

    TOKEN = "tok-anonymous-pull"

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.token_requests: list[dict] = []
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

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                if url.path == "/token":
                    q = dict(urllib.parse.parse_qsl(url.query))
                    front.token_requests.append(q)
                    if q.get("service") != "fake-registry" or not q.get("scope", "").endswith(":pull"):
                        return self._reply(400, body=b'{"errors":[{"code":"DENIED"}]}')
                    return self._reply(200, [("Content-Type", "application/json")],
                                       json.dumps({"token": front.TOKEN, "expires_in": 300}).encode())
                self.do_HEAD()

            def do_HEAD(self):
                parts = self.path.split("/")
                repo = "/".join(parts[2:-2]) if len(parts) > 4 else ""
                if self.headers.get("Authorization") != "Bearer " + front.TOKEN:
                    realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
                    challenge = f'Bearer realm="{realm}",service="fake-registry",scope="repository:{repo}:pull"'
                    return self._reply(401, [("WWW-Authenticate", challenge), ("Content-Type", "application/json")],
                                       b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                status, headers, _ = http("HEAD", front.upstream + self.path, None,
                                          {"Accept": self.headers.get("Accept", "")})
                self._reply(status, [(k, v) for k, v in headers.items() if k.lower() == "docker-content-digest"])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"

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
    host = f"127.0.0.1:{free_port()}"
    p, diags = validate(tmp_path, f"{host}/{REPO}:{TAG}", "--check-images")
    assert p.returncode == 1
    assert len(diags) == 1 and diags[0]["code"] == "image.unreachable"
    assert diags[0]["message"].startswith("Container image could not be checked: registry unreachable")
    assert host in diags[0]["message"] and "cannot connect" in diags[0]["message"]
    assert NOT_FOUND not in diags[0]["message"]


def test_bearer_token_challenge_flow(registry, tmp_path):
    front = TokenFront(registry["base"])
    try:
        p, diags = validate(tmp_path, f"{front.host}/{REPO}:{TAG}", "--check-images")
        assert p.returncode == 0, p.stdout + p.stderr
        assert front.token_requests == [{"scope": f"repository:{REPO}:pull", "service": "fake-registry"}]
        p, diags = validate(tmp_path, f"{front.host}/{REPO}:v999", "--check-images")
        assert [d["message"] for d in diags] == [NOT_FOUND]
        assert len(front.token_requests) == 2
    finally:
        front.stop()
