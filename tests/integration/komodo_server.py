"""A loopback fake of the Komodo Core API subset appforge uses (moghtech/komodo, API 2.x).

Faithful where the client can observe it:
- ``POST /read``, ``/write``, ``/execute`` with ``{"type": ..., "params": {...}}`` (and
  ``POST /<kind>/<Type>`` with the params alone), JSON in and out;
- auth by the ``X-Api-Key`` / ``X-Api-Secret`` headers; errors are non-2xx with
  ``{"error": ..., "trace": [...]}``;
- resources serialise their id as ``{"_id": {"$oid": ...}}``; list items carry ``id``;
- ``CreateStack {name, config}``, ``UpdateStack {id, config}`` (partial config merged),
  ``ListStacks {query: {names}}``, ``GetStack {stack}``, ``DeployStack {stack}`` returning an
  ``Update``, ``GetUpdate {id}``; an Update moves Queued -> InProgress -> Complete (one step
  per GetUpdate) and ends with ``success`` true or false and ``logs``.

Failure modes (``FakeKomodo(modes={...})``), switchable at run time through ``.modes``:
- ``deploy_fails``: the Update completes with success false and a failing "Compose Up" log;
- ``read_500_once``: the first /read request answers 500;
- ``write_500``: every /write answers 500;
- ``never_complete``: Updates stay InProgress forever.
- ``echo_4xx``: every /write answers 400 with the request headers in ``error`` and, spelled
  with a JSON ``\\u`` escape, in ``trace`` (a server that echoes what it got);
- ``echo_5xx``: every /read answers 502 with the request headers as plain text;
- ``echo_200``: every /read answers 200 with the request headers as plain text (not JSON);
- ``echo_logs``: the Update fails and its log's stderr repeats the request headers.

Run standalone: ``python3 komodo_server.py [--port N] [--mode M ...]`` prints the URL.
Only the standard library is used.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "K-test-key"
API_SECRET = "S-test-secret-do-not-print"

READ = {"ListStacks", "GetStack", "GetUpdate", "ListServers"}
WRITE = {"CreateStack", "UpdateStack"}
EXECUTE = {"DeployStack"}

STACK_CONFIG_DEFAULTS = {
    "server_id": "",
    "project_name": "",
    "run_directory": "",
    "file_paths": [],
    "file_contents": "",
    "environment": "",
    "env_file_path": ".env",
    "auto_pull": True,
    "run_build": False,
    "destroy_before_deploy": False,
}


class ApiError(Exception):
    def __init__(self, status: int, error: str, trace: list[str] | None = None):
        super().__init__(error)
        self.status, self.error, self.trace = status, error, trace or []


class FakeKomodo:
    """The server state plus a ThreadingHTTPServer on 127.0.0.1 (port 0 = a free one)."""

    def __init__(self, modes: set[str] | None = None, port: int = 0):
        self.modes = set(modes or ())
        self.servers = {"64a0000000000000000000aa": {"name": "truenas"}}
        self.stacks: dict[str, dict] = {}
        self.updates: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []  # (path, type) of every authenticated call
        self.seen_headers: list[dict[str, str]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._read_500_done = False
        handler = type("Handler", (_Handler,), {"fake": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> "FakeKomodo":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def types(self) -> list[str]:
        return [t for _, t in self.calls]

    # -- helpers -------------------------------------------------------------------------
    def _oid(self) -> str:
        return f"{0x650000000000000000000000 + next(self._ids):024x}"

    def _find_stack(self, id_or_name: str) -> dict:
        for sid, s in self.stacks.items():
            if sid == id_or_name or s["name"] == id_or_name:
                return s
        raise ApiError(500, f"Failed to get Stack {id_or_name}",
                       [f"did not find any Stack matching {id_or_name}"])

    def _server_id(self, id_or_name: str) -> str:
        for sid, s in self.servers.items():
            if sid == id_or_name or s["name"] == id_or_name:
                return sid
        raise ApiError(500, "Failed to validate Stack config",
                       [f"did not find any Server matching {id_or_name}"])

    def _merge_config(self, base: dict, partial: dict) -> dict:
        if not isinstance(partial, dict):
            raise ApiError(422, "Failed to deserialize the JSON body into the target type: config: expected a map")
        out = dict(base)
        for k, v in partial.items():
            if k not in STACK_CONFIG_DEFAULTS:
                raise ApiError(422, f"Failed to deserialize the JSON body into the target type: config: unknown field `{k}`")
            if k == "server_id" and v:
                v = self._server_id(v)
            out[k] = v
        return out

    @staticmethod
    def _stack_json(s: dict) -> dict:
        return {"_id": {"$oid": s["id"]}, "name": s["name"], "description": "", "tags": [],
                "config": s["config"], "info": {"deployed_contents": None}}

    # -- request types -------------------------------------------------------------------
    def dispatch(self, kind: str, typ: str, params: dict):
        allowed = {"read": READ, "write": WRITE, "execute": EXECUTE}[kind]
        if typ not in allowed:
            raise ApiError(422, f"Failed to deserialize the JSON body into the target type: unknown variant `{typ}`")
        if not isinstance(params, dict):
            raise ApiError(422, "Failed to deserialize the JSON body into the target type: params: expected a map")
        return getattr(self, "_" + typ)(params)

    def _ListServers(self, params):
        return [{"id": sid, "name": s["name"], "tags": [], "resource_type": "Server", "info": {"state": "Ok"}}
                for sid, s in self.servers.items()]

    def _ListStacks(self, params):
        names = ((params.get("query") or {}).get("names")) or []
        out = []
        for sid, s in self.stacks.items():
            if names and s["name"] not in names:
                continue
            out.append({"id": sid, "name": s["name"], "tags": [], "resource_type": "Stack",
                        "info": {"server_id": s["config"]["server_id"], "state": s["state"], "status": None}})
        return out

    def _GetStack(self, params):
        return self._stack_json(self._find_stack(str(params.get("stack", ""))))

    def _CreateStack(self, params):
        name = params.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(500, "Failed to create Stack", ["Must provide non-empty name for resource"])
        if any(s["name"] == name for s in self.stacks.values()):
            raise ApiError(500, "Failed to create Stack", ["Must provide unique name for resource"])
        config = self._merge_config(STACK_CONFIG_DEFAULTS, params.get("config") or {})
        sid = self._oid()
        self.stacks[sid] = {"id": sid, "name": name, "config": config, "state": "down", "deploys": 0}
        return self._stack_json(self.stacks[sid])

    def _UpdateStack(self, params):
        s = self._find_stack(str(params.get("id", "")))
        s["config"] = self._merge_config(s["config"], params.get("config") or {})
        return self._stack_json(s)

    def _DeployStack(self, params):
        s = self._find_stack(str(params.get("stack", "")))
        if not s["config"]["server_id"]:
            raise ApiError(500, f"Failed to deploy Stack {s['name']}", ["Stack has no server configured"])
        if "services:" not in s["config"]["file_contents"]:
            raise ApiError(500, f"Failed to deploy Stack {s['name']}", ["No compose file contents"])
        uid = self._oid()
        now = int(time.time() * 1000)
        self.updates[uid] = {
            "_id": {"$oid": uid}, "operation": "DeployStack", "start_ts": now, "end_ts": None,
            "status": "Queued", "success": False, "operator": "api-user", "version": {"major": 0},
            "target": {"type": "Stack", "id": s["id"]}, "logs": [], "_stack": s["id"],
        }
        return self._public_update(uid)

    def _GetUpdate(self, params):
        uid = str(params.get("id", ""))
        u = self.updates.get(uid)
        if u is None:
            raise ApiError(500, f"Failed to get Update {uid}", ["no update found with given id"])
        if u["status"] == "Queued":
            u["status"] = "InProgress"
        elif u["status"] == "InProgress" and "never_complete" not in self.modes:
            u["status"] = "Complete"
            u["end_ts"] = int(time.time() * 1000)
            stack = self.stacks[u["_stack"]]
            write_log = {"stage": "Write Compose File", "command": "", "stdout": "wrote compose.yaml",
                         "stderr": "", "success": True}
            if "echo_logs" in self.modes:
                u["success"] = False
                u["logs"] = [write_log, {"stage": "Compose Up", "command": "docker compose up -d", "stdout": "",
                                         "success": False,
                                         "stderr": f"login failed with X-Api-Key: {API_KEY} X-Api-Secret: {API_SECRET}"}]
                stack["state"] = "down"
            elif "deploy_fails" in self.modes:
                u["success"] = False
                u["logs"] = [write_log, {
                    "stage": "Compose Up", "command": "docker compose up -d",
                    "stdout": "", "success": False,
                    "stderr": f"Error response from daemon: pull access denied for {stack['name']}, "
                              "repository does not exist or may require 'docker login'"}]
                stack["state"] = "down"
            else:
                u["success"] = True
                u["logs"] = [write_log, {"stage": "Compose Up", "command": "docker compose up -d",
                                         "stdout": f"Container {stack['name']} Started", "stderr": "",
                                         "success": True}]
                stack["state"] = "running"
                stack["deploys"] += 1
        return self._public_update(uid)

    def _public_update(self, uid: str) -> dict:
        return {k: v for k, v in self.updates[uid].items() if not k.startswith("_") or k == "_id"}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeKomodo
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output clean
        pass

    def _send(self, status: int, payload) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send(405, None)

    def _echo(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.headers.items())

    def _send_raw(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if not parts or parts[0] not in ("read", "write", "execute") or len(parts) > 2:
            self._send(404, None)  # axum: unknown route, empty body
            return
        if self.headers.get("X-Api-Key") != API_KEY or self.headers.get("X-Api-Secret") != API_SECRET:
            self._send(401, {"error": "Unauthorized", "trace": ["Invalid api key or secret"]})
            return
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            self._send(415, {"error": "Expected request with `Content-Type: application/json`", "trace": []})
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError as e:
            self._send(400, {"error": f"Failed to parse the request body as JSON: {e}", "trace": []})
            return
        kind = parts[0]
        if len(parts) == 2:
            typ, params = parts[1], body
        elif isinstance(body, dict) and isinstance(body.get("type"), str):
            typ, params = body["type"], body.get("params", {})
        else:
            self._send(422, {"error": "Failed to deserialize the JSON body into the target type: missing field `type`",
                             "trace": []})
            return
        with fake._lock:
            fake.calls.append(("/" + kind, typ))
            fake.seen_headers.append({k.lower(): v for k, v in self.headers.items()})
            if kind == "read" and "read_500_once" in fake.modes and not fake._read_500_done:
                fake._read_500_done = True
                self._send(500, {"error": "Failed to query database", "trace": ["connection reset by peer"]})
                return
            if kind == "write" and "echo_4xx" in fake.modes:
                text = json.dumps({"error": "bad request: " + self._echo(), "trace": ["secret was " + API_SECRET]})
                escaped = "\\u%04x" % ord(API_SECRET[0]) + API_SECRET[1:]  # decodes to the secret
                head, tail = text.split('"trace"', 1)
                self._send_raw(400, (head + '"trace"' + tail.replace(API_SECRET, escaped)).encode(), "application/json")
                return
            if kind == "read" and ("echo_5xx" in fake.modes or "echo_200" in fake.modes):
                status = 502 if "echo_5xx" in fake.modes else 200
                self._send_raw(status, ("proxy saw " + self._echo()).encode(), "text/plain")
                return
            if kind == "write" and "write_500" in fake.modes:
                self._send(500, {"error": f"Failed to {typ}", "trace": ["database write failed"]})
                return
            try:
                result = fake.dispatch(kind, typ, params)
            except ApiError as e:
                self._send(e.status, {"error": e.error, "trace": e.trace})
                return
        self._send(200, result)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", action="append", default=[])
    args = ap.parse_args()
    fake = FakeKomodo(set(args.mode), args.port).start()
    print(fake.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
