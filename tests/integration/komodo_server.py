"""A loopback stand-in for the Komodo Core API subset appforge uses.

Mirrors Komodo **2.3.2** (moghtech/komodo at commit cc1c5aa5d, the `komodo_client` 2.3 types:
``client/core/rs/src`` and the TypeScript ``client/core/ts/src/types.ts`` generated from it).
Written from reading these files, not copied from them:

- routes: ``POST /read``, ``/write``, ``/execute`` with ``{"type": ..., "params": {...}}`` (and
  ``POST /<kind>/<Type>`` with the params alone); any other path falls through to the web UI's
  static files (``bin/core/src/api/mod.rs``, ``fallback_service``), which answer a POST with
  **405** and an empty body;
- auth by ``X-Api-Key`` / ``X-Api-Secret`` (401 otherwise); errors are non-2xx
  ``{"error": ..., "trace": [...]}``; "not found" is a **500** (``resource::get``);
- ``CreateStack`` (``bin/core/src/resource/mod.rs``, ``create``): empty name **400**, a name
  that is a valid ObjectId **400**, a duplicate name **409**;
- stack config (``client/core/rs/src/entities/stack.rs``, ``StackConfig``): partial configs
  merge over the defaults, **unknown fields are ignored** (no ``deny_unknown_fields``),
  ``server``/``swarm`` are aliases of ``server_id``/``swarm_id``;
- ``ListStacks`` items are ``ResourceListItem`` (``entities/resource.rs``): ``id``, ``type``
  (serde rename of ``resource_type``), ``name``, ``template``, ``tags``, ``info`` with
  ``StackListItemInfo`` (``server_id``, ``swarm_id``, ``files_on_host``, ``file_contents``,
  ``linked_repo``, ``repo``, ``state``, ``status``, ``services``);
- executions (``bin/core/src/api/execute/mod.rs``, ``inner_handler``;
  ``bin/core/src/helpers/update.rs``, ``init_execution_update``/``make_update``): the Update is
  returned at once with ``status: InProgress`` and ``success: true``; the work fails or succeeds
  *inside* the Update, which ends ``Complete`` with ``success`` = all logs successful
  (``entities/update.rs``, ``finalize``). A failed pull is the ``Compose Pull`` stage
  (``bin/periphery/src/api/compose.rs``);
- which files run (``bin/periphery/src/stack/write.rs``, ``write_stack``): ``files_on_host``, then a
  linked repo, then ``repo``, and only then the UI-defined ``file_contents``, written to
  ``<root>/stacks/<name>`` whatever ``run_directory`` says (``write_stack_ui_defined``);
- variables and secrets (``lib/interpolate/src/lib.rs``): ``[[NAME]]`` in ``file_contents`` and
  ``environment`` is replaced, unknown names are left as written; ``environment`` becomes the env
  file (``lib/environment/src/lib.rs``) that compose's ``${VAR}`` reads;
- ``UpdateResourceMeta`` (``api/write/resource.rs``): ``target {type, id}``, tags by name, missing
  tags created; answers ``{}`` (NoData). ``DestroyStack`` is an execution (compose down);
  ``DeleteStack {id}`` answers the deleted stack. ``ListStackServices {stack}``.

Progress is counted, never timed: an Update completes on the ``polls_to_complete``-th GetUpdate.

Failure modes (``FakeKomodo(modes={...})``), switchable at run time through ``.modes``:
``pull_fails`` (the Update fails in stage "Compose Pull"), ``read_500_once``, ``write_500``,
``never_complete``, ``echo_4xx``, ``echo_5xx``, ``echo_200``, ``echo_logs`` (see ``do_POST``).

Run standalone: ``python3 komodo_server.py [--mode M ...]`` prints the URL (the server binds
port 0 and reports the port it got). Needs PyYAML for reading compose files.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml  # PyYAML: reads the compose file the way compose would see its keys

MIRRORS = "moghtech/komodo 2.3.2 (cc1c5aa5d)"
API_KEY = "K-test-key"
API_SECRET = "S-test-secret-do-not-print"

READ = {"ListStacks", "GetStack", "GetUpdate", "ListServers", "ListStackServices"}
WRITE = {"CreateStack", "UpdateStack", "UpdateResourceMeta", "DeleteStack"}
EXECUTE = {"DeployStack", "DestroyStack"}

STACK_CONFIG_DEFAULTS = {
    "server_id": "", "swarm_id": "", "project_name": "", "run_directory": "", "file_paths": [],
    "file_contents": "", "environment": "", "env_file_path": ".env", "auto_pull": True,
    "run_build": False, "destroy_before_deploy": False, "files_on_host": False, "repo": "",
    "linked_repo": "", "branch": "main", "git_provider": "github.com",
}
ALIASES = {"server": "server_id", "swarm": "swarm_id"}
OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
VAR = re.compile(r"\[\[([^\[\]]+)\]\]")


class ApiError(Exception):
    def __init__(self, status: int, error: str, trace: list[str] | None = None):
        super().__init__(error)
        self.status, self.error, self.trace = status, error, trace or []


class FakeKomodo:
    """The server state plus a ThreadingHTTPServer on 127.0.0.1 (port 0: the kernel picks one)."""

    def __init__(self, modes: set[str] | None = None, polls_to_complete: int = 2):
        self.modes = set(modes or ())
        self.polls_to_complete = polls_to_complete
        self.servers = {"64a0000000000000000000aa": {"name": "truenas"}}
        self.swarms = {"64a0000000000000000000bb": {"name": "homelab-swarm"}}
        self.variables: dict[str, str] = {}
        self.secrets: dict[str, str] = {}
        self.tags: dict[str, str] = {}  # id -> name
        self.stacks: dict[str, dict] = {}
        self.updates: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []  # (path, type) of every authenticated call
        self.bodies: list[dict] = []            # the params of every authenticated call
        self.seen_headers: list[dict[str, str]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._read_500_done = False
        handler = type("Handler", (_Handler,), {"fake": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
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

    def add_stack(self, name: str, **config) -> dict:
        """A stack someone made in the UI (e.g. switched to files on host)."""
        sid = self._oid()
        cfg = self._merge_config(STACK_CONFIG_DEFAULTS, config)
        self.stacks[sid] = {"id": sid, "name": name, "config": cfg, "state": "running", "deploys": 0,
                            "description": "", "tags": [], "deployed": None, "container_env": {}}
        return self.stacks[sid]

    # -- helpers -------------------------------------------------------------------------
    def _oid(self) -> str:
        return f"{0x650000000000000000000000 + next(self._ids):024x}"

    def _find_stack(self, id_or_name: str) -> dict:
        for sid, s in self.stacks.items():
            if sid == id_or_name or s["name"] == id_or_name:
                return s
        raise ApiError(500, f"Failed to get Stack {id_or_name}", [f"did not find any Stack matching {id_or_name}"])

    def _resolve(self, table: dict, kind: str, id_or_name: str) -> str:
        for rid, r in table.items():
            if rid == id_or_name or r["name"] == id_or_name:
                return rid
        raise ApiError(500, "Failed to validate Stack config", [f"did not find any {kind} matching {id_or_name}"])

    def _merge_config(self, base: dict, partial) -> dict:
        if not isinstance(partial, dict):
            raise ApiError(422, "Failed to deserialize the JSON body into the target type: config: expected a map")
        out = dict(base)
        for k, v in partial.items():
            k = ALIASES.get(k, k)
            if k not in STACK_CONFIG_DEFAULTS:
                continue  # serde without deny_unknown_fields: ignored
            if k == "server_id" and v:
                v = self._resolve(self.servers, "Server", v)
            if k == "swarm_id" and v:
                v = self._resolve(self.swarms, "Swarm", v)
            out[k] = v
        return out

    @staticmethod
    def _stack_json(s: dict) -> dict:
        return {"_id": {"$oid": s["id"]}, "name": s["name"], "description": s["description"], "template": False,
                "tags": s["tags"], "config": s["config"], "info": {"deployed_contents": None}}

    def _interpolate(self, text: str) -> str:
        def sub(m):
            n = m.group(1)
            return self.variables.get(n, self.secrets.get(n, m.group(0)))
        return VAR.sub(sub, text)

    # -- request types -------------------------------------------------------------------
    def dispatch(self, kind: str, typ: str, params):
        allowed = {"read": READ, "write": WRITE, "execute": EXECUTE}[kind]
        if typ not in allowed:
            raise ApiError(422, f"Failed to deserialize the JSON body into the target type: unknown variant `{typ}`")
        if not isinstance(params, dict):
            raise ApiError(422, "Failed to deserialize the JSON body into the target type: params: expected a map")
        return getattr(self, "_" + typ)(params)

    def _ListServers(self, params):
        return [{"id": sid, "type": "Server", "name": s["name"], "template": False, "tags": [],
                 "info": {"state": "Ok"}} for sid, s in self.servers.items()]

    def _ListStacks(self, params):
        names = ((params.get("query") or {}).get("names")) or []
        out = []
        for sid, s in self.stacks.items():
            if names and s["name"] not in names:
                continue
            c = s["config"]
            out.append({"id": sid, "type": "Stack", "name": s["name"], "template": False, "tags": s["tags"],
                        "info": {"server_id": c["server_id"], "swarm_id": c["swarm_id"],
                                 "files_on_host": c["files_on_host"], "file_contents": bool(c["file_contents"]),
                                 "linked_repo": c["linked_repo"], "repo": c["repo"], "branch": c["branch"],
                                 "git_provider": c["git_provider"], "repo_link": "", "state": s["state"],
                                 "status": None, "services": [], "project_missing": False,
                                 "missing_files": [], "deployed_hash": None, "latest_hash": None}})
        return out

    def _GetStack(self, params):
        return self._stack_json(self._find_stack(str(params.get("stack", ""))))

    def _ListStackServices(self, params):
        s = self._find_stack(str(params.get("stack", "")))
        if not s["deployed"]:
            return []
        up = s["state"] == "running"
        return [{"stack_id": s["id"], "stack_name": s["name"], "service": svc, "image": image,
                 "container": {"name": f"{s['name']}-{svc}-1", "state": "running" if up else "exited",
                               "status": "Up 2 minutes" if up else "Exited (0)"} if up else None,
                 "swarm_service": None, "state": "running" if up else "down", "image_digests": None}
                for svc, image in s["deployed"]]

    def _CreateStack(self, params):
        name = params.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "Must provide non-empty name for resource")
        if OBJECT_ID.match(name):
            raise ApiError(400, "Valid ObjectIds cannot be used as names")
        if any(s["name"] == name for s in self.stacks.values()):
            raise ApiError(409, f"Resource with name '{name}' already exists")
        config = self._merge_config(STACK_CONFIG_DEFAULTS, params.get("config") or {})
        sid = self._oid()
        self.stacks[sid] = {"id": sid, "name": name, "config": config, "state": "down", "deploys": 0,
                            "description": "", "tags": [], "deployed": None, "container_env": {}}
        return self._stack_json(self.stacks[sid])

    def _UpdateStack(self, params):
        s = self._find_stack(str(params.get("id", "")))
        s["config"] = self._merge_config(s["config"], params.get("config") or {})
        return self._stack_json(s)

    def _UpdateResourceMeta(self, params):
        target = params.get("target") or {}
        if target.get("type") != "Stack":
            raise ApiError(422, "Failed to deserialize the JSON body into the target type: target: unknown variant")
        s = self._find_stack(str(target.get("id", "")))
        if params.get("description") is not None:
            s["description"] = params["description"]
        if params.get("tags") is not None:
            ids = []
            for t in params["tags"]:
                tid = next((i for i, n in self.tags.items() if i == t or n == t), None)
                if tid is None:
                    tid = self._oid()
                    self.tags[tid] = t
                ids.append(tid)
            s["tags"] = ids
        return {}

    def _DeleteStack(self, params):
        s = self._find_stack(str(params.get("id", "")))
        del self.stacks[s["id"]]
        return self._stack_json(s)

    def _new_update(self, op: str, s: dict) -> str:
        uid = self._oid()
        self.updates[uid] = {
            "_id": {"$oid": uid}, "operation": op, "start_ts": int(time.time() * 1000), "end_ts": None,
            "status": "InProgress", "success": True, "operator": "api-user", "version": {"major": 0},
            "target": {"type": "Stack", "id": s["id"]}, "logs": [], "_stack": s["id"], "_polls": 0,
        }
        return uid

    def _DeployStack(self, params):
        s = self._find_stack(str(params.get("stack", "")))
        return self._public_update(self._new_update("DeployStack", s))

    def _DestroyStack(self, params):
        s = self._find_stack(str(params.get("stack", "")))
        return self._public_update(self._new_update("DestroyStack", s))

    def _run_deploy(self, u: dict, stack: dict) -> None:
        c = stack["config"]
        log = lambda stage, ok, out="", err="": {"stage": stage, "command": "", "stdout": out, "stderr": err,
                                                  "success": ok}
        if not c["server_id"] and not c["swarm_id"]:
            u["logs"].append(log("Task Error", False, err="Stack has no Server or Swarm configured"))
            return
        if c["files_on_host"] or c["linked_repo"] or c["repo"]:
            # write_stack: these win over file_contents, which is never written.
            stack["ran_from"] = "files_on_host" if c["files_on_host"] else "repo"
            u["logs"].append(log("Compose Up", True, out="ran the compose file from " + stack["ran_from"]))
            stack["state"] = "running"
            return
        if not c["file_contents"].strip():
            u["logs"].append(log("Task Error", False, err="Must either input compose file contents directly, "
                                 "or use files on host / git repo options."))
            return
        contents = self._interpolate(c["file_contents"])
        env_file = self._interpolate(c["environment"])
        stack["ran_from"] = "file_contents"
        stack["run_directory"] = f"/etc/komodo/stacks/{stack['name']}"
        stack["written_compose"], stack["written_env"] = contents, env_file
        u["logs"].append(log("Write Compose File", True, out=f"wrote {stack['run_directory']}/compose.yaml"))
        try:
            doc = yaml.safe_load(contents) or {}
        except yaml.YAMLError as e:
            u["logs"].append(log("Compose Config", False, err=f"invalid compose file: {e}"))
            return
        services = doc.get("services") or {}
        images = [svc.get("image", "") for svc in services.values()]
        if "pull_fails" in self.modes or "deploy_fails" in self.modes:
            u["logs"].append(log("Compose Pull", False, err=f"Error response from daemon: pull access denied for "
                                 f"{images[0] if images else stack['name']}, repository does not exist or may "
                                 "require 'docker login'"))
            stack["state"] = "down"
            return
        if "echo_logs" in self.modes:
            u["logs"].append(log("Compose Up", False, err=f"login failed with X-Api-Key: {API_KEY} "
                                 f"X-Api-Secret: {API_SECRET}"))
            return
        env = dict(l.split("=", 1) for l in env_file.splitlines() if "=" in l)
        # compose's env-file rule: a single-quoted value is taken literally, without the quotes
        env = {k: v[1:-1] if len(v) >= 2 and v[0] == v[-1] == "'" else v for k, v in env.items()}
        # compose interpolation: $$ is a literal $, ${VAR} and $VAR come from the env file
        interp = lambda v: re.sub(r"\$\$|\$\{(\w+)\}|\$(\w+)",
                                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1) or m.group(2), ""), str(v))
        stack["container_env"] = {k: interp(v) for svc in services.values()
                                  for k, v in (svc.get("environment") or {}).items()}
        u["logs"].append(log("Compose Up", True, out=f"Container {stack['name']} Started"))
        stack["deployed"] = list(zip(services, images))
        stack["state"] = "running"
        stack["deploys"] += 1

    def _GetUpdate(self, params):
        uid = str(params.get("id", ""))
        u = self.updates.get(uid)
        if u is None:
            raise ApiError(500, f"Failed to get Update {uid}", ["no update found with given id"])
        if u["status"] == "InProgress" and "never_complete" not in self.modes:
            u["_polls"] += 1
            if u["_polls"] >= self.polls_to_complete:
                stack = self.stacks.get(u["_stack"])
                if stack is None:
                    u["logs"].append({"stage": "Task Error", "command": "", "stdout": "", "success": False,
                                      "stderr": "stack was deleted"})
                elif u["operation"] == "DeployStack":
                    self._run_deploy(u, stack)
                else:
                    u["logs"].append({"stage": "Compose Down", "command": "docker compose down", "stdout": "",
                                      "stderr": "", "success": True})
                    stack["state"], stack["deployed"] = "down", None
                u["status"] = "Complete"
                u["success"] = all(l["success"] for l in u["logs"])
                u["end_ts"] = int(time.time() * 1000)
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
            self._send(405, None)  # the static UI fallback: POST is not allowed there
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
            fake.bodies.append(params if isinstance(params, dict) else {})
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
    ap.add_argument("--mode", action="append", default=[])
    args = ap.parse_args()
    fake = FakeKomodo(set(args.mode)).start()
    print(fake.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
