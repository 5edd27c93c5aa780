"""Docker Hub, as far as `appforge validate --check-images` sees it, in a private network namespace.

Run inside `unshare --map-root-user --mount --net` (tests/integration/test_images.py does):

    python3 dockerhub_standin.py WORKDIR COMMANDS_JSON

It brings loopback up, makes a test CA and one certificate for registry-1.docker.io and
auth.docker.io, bind-mounts a hosts file that sends exactly those two names to 127.0.0.1 (so
a client that asks docker.io itself cannot resolve it) and a CA folder over /etc/ssl/certs
(libcurl's CA bundle and CA path), serves both names over https on 127.0.0.1:443, runs each
command of COMMANDS_JSON (a list of argv lists) and prints one JSON object: every command's
returncode/stdout/stderr and every request the stand-in saw. Nothing leaves the namespace.

What the stand-in answers, as registry-1.docker.io and auth.docker.io do (distribution's token
authentication, https://distribution.github.io/distribution/spec/auth/token/):
- a manifest HEAD/GET without a token: 401 with `Bearer realm="https://auth.docker.io/token",
  service="registry.docker.io",scope="repository:<name>:pull"`;
- GET https://auth.docker.io/token?scope=...&service=registry.docker.io: 200 with `token` and
  `access_token` (the same value), `expires_in` and `issued_at`; a repository that does not
  exist gets a token too, one that grants nothing;
- with the token: 200 and Docker-Content-Digest for a manifest that exists, 404
  MANIFEST_UNKNOWN for a missing tag, and 401 `error="insufficient_scope"` for a repository
  that does not exist (never 404).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import socket
import ssl
import struct
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REGISTRY = "registry-1.docker.io"
AUTH = "auth.docker.io"
SERVICE = "registry.docker.io"
REALM = f"https://{AUTH}/token"
# name -> {tag: manifest body}
IMAGES = {
    "library/hello": {"v1": b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'},
    "acme/tool": {"1.0": b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","x":1}'},
}


def token_for(repo: str) -> str:
    return "hub-" + hashlib.sha256(repo.encode()).hexdigest()[:24]


def loopback_up() -> None:
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def make_certificates(work: Path) -> tuple[Path, Path]:
    """A CA folder (bundle + hashed links) and the server's cert+key file."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=work)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=appforge test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", f"/CN={REGISTRY}")
    (work / "san.ext").write_text(f"subjectAltName=DNS:{REGISTRY},DNS:{AUTH}\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
    certs = work / "certs"
    certs.mkdir()
    (certs / "ca-certificates.crt").write_bytes((work / "ca.pem").read_bytes())
    (certs / "appforge-test-ca.pem").write_bytes((work / "ca.pem").read_bytes())
    openssl("rehash", str(certs))
    (work / "server-all.pem").write_bytes((work / "server.pem").read_bytes() + (work / "server.key").read_bytes())
    return certs, work / "server-all.pem"


def bind_mount(src: Path, dst: str) -> None:
    subprocess.run(["mount", "--bind", str(src), dst], check=True, capture_output=True)


class Hub:
    def __init__(self, server_pem: Path):
        self.requests: list[dict] = []
        hub = self

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

            def _record(self, status: int) -> None:
                hub.requests.append({"host": self.headers.get("Host", ""), "method": self.command, "path": self.path,
                                     "auth": self.headers.get("Authorization", ""), "status": status})

            def _unauthorized(self, repo: str, error: str = ""):
                challenge = f'Bearer realm="{REALM}",service="{SERVICE}",scope="repository:{repo}:pull"'
                if error:
                    challenge += f',error="{error}"'
                self._record(401)
                body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required",
                                               "detail": [{"Type": "repository", "Class": "", "Name": repo,
                                                           "Action": "pull"}]}]}).encode()
                return self._reply(401, [("WWW-Authenticate", challenge), ("Content-Type", "application/json")], body)

            def do_GET(self):
                host = self.headers.get("Host", "")
                url = urllib.parse.urlparse(self.path)
                if host == AUTH and url.path == "/token":
                    q = dict(urllib.parse.parse_qsl(url.query))
                    scope = q.get("scope", "")
                    if q.get("service") != SERVICE or not scope.startswith("repository:") or not scope.endswith(":pull"):
                        self._record(400)
                        return self._reply(400, [("Content-Type", "application/json")],
                                           b'{"details":"invalid scope or service"}')
                    token = token_for(scope[len("repository:"):-len(":pull")])
                    self._record(200)
                    body = json.dumps({"token": token, "access_token": token, "expires_in": 300,
                                       "issued_at": "2026-01-01T00:00:00.000000000Z"}).encode()
                    return self._reply(200, [("Content-Type", "application/json")], body)
                return self.do_HEAD()

            def do_HEAD(self):
                host = self.headers.get("Host", "")
                parts = urllib.parse.urlparse(self.path).path.split("/manifests/")
                if host != REGISTRY or len(parts) != 2 or not parts[0].startswith("/v2/"):
                    self._record(404)
                    return self._reply(404, [("Content-Type", "text/plain")], b"404 page not found\n")
                repo, ref = parts[0][len("/v2/"):], parts[1]
                if self.headers.get("Authorization") != "Bearer " + token_for(repo):
                    return self._unauthorized(repo)
                if repo not in IMAGES:
                    return self._unauthorized(repo, "insufficient_scope")
                manifest = IMAGES[repo].get(ref)
                if manifest is None:
                    self._record(404)
                    return self._reply(404, [("Content-Type", "application/json")],
                                       b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
                self._record(200)
                digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
                return self._reply(200, [("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                                         ("Docker-Content-Digest", digest)], manifest)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 443), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(server_pem))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def main() -> int:
    work = Path(sys.argv[1])
    commands = json.loads(sys.argv[2])
    loopback_up()
    certs, server_pem = make_certificates(work)
    hosts = work / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n127.0.0.1 {REGISTRY}\n127.0.0.1 {AUTH}\n")
    bind_mount(hosts, "/etc/hosts")
    bind_mount(certs, "/etc/ssl/certs")
    hub = Hub(server_pem)
    results = []
    for argv in commands:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        results.append({"returncode": p.returncode, "stdout": p.stdout, "stderr": p.stderr})
    json.dump({"results": results, "requests": hub.requests}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
