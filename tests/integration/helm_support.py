"""Real Helm for the tests, and the facts of an app read from its Kubernetes objects.

- `helm_template(helmrelease)` renders a Flux HelmRelease of the bjw-s app-template chart with the
  real `helm template` and the chart from `../shared/reference/charts/app-template/` (the
  `shared` directory next to the repository root; `APPFORGE_SHARED` overrides it). Helm 3 is
  installed by `tools/setup.sh` (from the Go module proxy into ~/.cache/appforge/bin);
  `APPFORGE_HELM` names another binary.
- `app_facts(objects)` reduces a list of objects (a plain Deployment + Service + HTTPRoute bundle,
  or Helm's output, plus any claims/volumes next to it) to what makes the app the app: image,
  command/args, ports, env and env sources, probes, mounts (path, kind, claim, NFS server/path,
  subPath), security contexts, resources, Service ports, route hostnames/parents/backends. Two
  renderings of one app give equal facts; everything else (labels Helm adds, defaults it writes
  such as `enableServiceLinks`, key order) is left out.
- The `helm` fixture fails the test (never skips) when Helm 3 is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(os.environ.get("APPFORGE_SOURCE_DIR") or Path(__file__).resolve().parents[2])
HELM_VERSION = "v3.22.0"
# A Helm built with `go install` defaults to Kubernetes 1.20, below app-template's kubeVersion.
KUBE_VERSION = "1.34.0"
APP_TEMPLATE_OCI = "oci://ghcr.io/bjw-s-labs/helm/app-template"
# What the target cluster serves, as Flux's Helm would see it there. Offline, `helm template` knows
# no CRD API, and app-template then writes its routes as gateway.networking.k8s.io/v1alpha2.
CLUSTER_API_VERSIONS = ("gateway.networking.k8s.io/v1/HTTPRoute", "gateway.networking.k8s.io/v1/GRPCRoute")


class HelmError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# Locating ../shared, the chart and helm


def shared_dir() -> Path:
    """The shared directory (`../shared` next to the repository root, or $APPFORGE_SHARED)."""
    env = os.environ.get("APPFORGE_SHARED")
    return Path(env) if env else REPO_ROOT.resolve().parent / "shared"


def chart_dir() -> Path:
    return shared_dir() / "reference" / "charts" / "app-template"


def chart_version(chart: Path | None = None) -> str:
    with open((chart or chart_dir()) / "Chart.yaml", encoding="utf-8") as f:
        return str(yaml.safe_load(f)["version"])


def helm_candidates() -> list[Path]:
    out = []
    if os.environ.get("APPFORGE_HELM"):
        out.append(Path(os.environ["APPFORGE_HELM"]))
    tools_bin = os.environ.get("APPFORGE_TOOLS_BIN")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    out.append(Path(tools_bin) / "helm" if tools_bin else cache / "appforge" / "bin" / "helm")
    on_path = shutil.which("helm")
    if on_path:
        out.append(Path(on_path))
    return out


def find_helm() -> Path | None:
    """The first Helm 3 binary of $APPFORGE_HELM, the set-up script's cache dir, PATH."""
    for c in helm_candidates():
        if not (c.is_file() and os.access(c, os.X_OK)):
            continue
        r = subprocess.run([str(c), "version", "--template", "{{.Version}}"], capture_output=True, text=True,
                           timeout=60)
        if r.returncode == 0 and r.stdout.strip().startswith("v3."):
            return c
    return None


@pytest.fixture(scope="session")
def helm() -> Path:
    """The Helm 3 binary; fails (does not skip) when there is none, or the chart is missing."""
    path = find_helm()
    if path is None:
        pytest.fail("helm 3 is required: run tools/setup.sh --deps-only (it builds helm "
                    f"{HELM_VERSION} into ~/.cache/appforge/bin) or set APPFORGE_HELM; looked at "
                    + ", ".join(str(c) for c in helm_candidates()))
    if not (chart_dir() / "Chart.yaml").is_file():
        pytest.fail(f"the app-template chart is missing: {chart_dir()} (these tests need ../shared; "
                    "set APPFORGE_SHARED to its location)")
    return path


# ---------------------------------------------------------------------------------------------
# helm template


def release_identity(helmrelease: dict) -> tuple[str, str]:
    """(release name, namespace) as Flux computes them for a HelmRelease."""
    meta = helmrelease.get("metadata") or {}
    spec = helmrelease.get("spec") or {}
    target_ns = spec.get("targetNamespace")
    namespace = target_ns or meta.get("namespace") or "default"
    name = spec.get("releaseName") or (f"{target_ns}-{meta['name']}" if target_ns else meta["name"])
    return name, namespace


def check_app_template_release(helmrelease: dict, ocirepository: dict | None = None,
                               chart: Path | None = None) -> None:
    """Refuses what `helm_template` cannot render faithfully with the local chart."""
    if helmrelease.get("apiVersion") != "helm.toolkit.fluxcd.io/v2" or helmrelease.get("kind") != "HelmRelease":
        raise HelmError(f"not a helm.toolkit.fluxcd.io/v2 HelmRelease: {helmrelease.get('apiVersion')} "
                        f"{helmrelease.get('kind')}")
    spec = helmrelease.get("spec") or {}
    for unsupported in ("valuesFrom", "postRenderers"):
        if spec.get(unsupported):
            raise HelmError(f"spec.{unsupported} is not supported by helm_template")
    ref = spec.get("chartRef")
    if ref is not None:
        if ref.get("kind") != "OCIRepository":
            raise HelmError(f"spec.chartRef.kind is {ref.get('kind')!r}, expected OCIRepository")
    elif ((spec.get("chart") or {}).get("spec") or {}).get("chart") != "app-template":
        raise HelmError("the HelmRelease names neither a chartRef nor the app-template chart")
    if ocirepository is not None:
        if ref is None or ocirepository.get("metadata", {}).get("name") != ref.get("name"):
            raise HelmError("the OCIRepository is not the one spec.chartRef names")
        ospec = ocirepository.get("spec") or {}
        if ospec.get("url") != APP_TEMPLATE_OCI:
            raise HelmError(f"OCIRepository url {ospec.get('url')!r} is not {APP_TEMPLATE_OCI}")
        tag = (ospec.get("ref") or {}).get("tag")
        local = chart_version(chart)
        if tag != local:
            raise HelmError(f"OCIRepository ref.tag {tag!r} but the local chart is {local}")


def helm_template(helmrelease: dict, ocirepository: dict | None = None, *, helm_bin: Path | str | None = None,
                  chart: Path | None = None, api_versions: tuple[str, ...] = CLUSTER_API_VERSIONS) -> list[dict]:
    """The objects `helm template` renders for a Flux HelmRelease of app-template.

    Runs `helm template <release> <chart> --namespace <ns> --kube-version 1.34.0
    --skip-schema-validation -f values.yaml [--api-versions ...]` with spec.values as values.yaml,
    release name and namespace as Flux derives them, and `api_versions` as the cluster's APIs
    (default: Gateway API v1 routes; pass () to see the chart's offline fallback). With
    `ocirepository`, also checks that it is the one chartRef names and that it pins the local
    chart's version. Raises HelmError when Helm fails.
    """
    check_app_template_release(helmrelease, ocirepository, chart)
    binary = Path(helm_bin) if helm_bin else find_helm()
    if binary is None:
        raise HelmError("helm 3 not found (run tools/setup.sh --deps-only or set APPFORGE_HELM)")
    chart = chart or chart_dir()
    release, namespace = release_identity(helmrelease)
    values = (helmrelease.get("spec") or {}).get("values") or {}
    with tempfile.TemporaryDirectory(prefix="appforge-helm-") as tmp:
        values_file = Path(tmp) / "values.yaml"
        values_file.write_text(yaml.safe_dump(values, sort_keys=False), encoding="utf-8")
        # Keep Helm's config, cache and data out of $HOME.
        env = dict(os.environ, HELM_CONFIG_HOME=f"{tmp}/config", HELM_CACHE_HOME=f"{tmp}/cache",
                   HELM_DATA_HOME=f"{tmp}/data")
        cmd = [str(binary), "template", release, str(chart), "--namespace", namespace,
               "--kube-version", KUBE_VERSION, "--skip-schema-validation", "-f", str(values_file)]
        for api in api_versions:
            cmd += ["--api-versions", api]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if r.returncode != 0:
        raise HelmError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return [d for d in yaml.safe_load_all(r.stdout) if d]


# ---------------------------------------------------------------------------------------------
# The facts of an app

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1,
                  "failureThreshold": 3}


def _items(objects: list[dict]) -> list[dict]:
    """The objects, with List items opened."""
    out = []
    for o in objects:
        if not isinstance(o, dict):
            continue
        if o.get("kind") == "List":
            out.extend(_items(o.get("items") or []))
        else:
            out.append(o)
    return out


def _by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o.get("kind") == kind}


def _port_number(port: Any, container_ports: dict[str, int]) -> Any:
    """A named port resolved through the container's ports (an int or str stays what it is else)."""
    if isinstance(port, str) and port in container_ports:
        return container_ports[port]
    if isinstance(port, str) and port.isdigit():
        return int(port)
    return port


def _probe(p: dict | None, container_ports: dict[str, int]) -> dict | None:
    if not p:
        return None
    out: dict[str, Any] = {k: p.get(k, v) for k, v in PROBE_DEFAULTS.items()}
    if "terminationGracePeriodSeconds" in p:
        out["terminationGracePeriodSeconds"] = p["terminationGracePeriodSeconds"]
    if "httpGet" in p:
        h = p["httpGet"]
        out.update(type="http", path=h.get("path", "/"), port=_port_number(h.get("port"), container_ports),
                   scheme=h.get("scheme", "HTTP"))
        if h.get("httpHeaders"):
            out["httpHeaders"] = h["httpHeaders"]
    elif "tcpSocket" in p:
        out.update(type="tcp", port=_port_number(p["tcpSocket"].get("port"), container_ports))
    elif "grpc" in p:
        out.update(type="grpc", port=p["grpc"].get("port"), service=p["grpc"].get("service", ""))
    elif "exec" in p:
        out.update(type="exec", command=list(p["exec"].get("command") or []))
    return out


def _env(env: list | None) -> dict[str, Any]:
    """Name -> value, or -> {"secretKeyRef": {...}} etc. (order-free: app-template sorts an env map)."""
    out: dict[str, Any] = {}
    for e in env or []:
        if "valueFrom" in e:
            out[e["name"]] = e["valueFrom"]
        else:
            out[e["name"]] = str(e.get("value", ""))
    return out


def _env_from(env_from: list | None) -> list[dict]:
    out = []
    for e in env_from or []:
        for key, kind in (("secretRef", "secret"), ("configMapRef", "configMap")):
            if key in e:
                item = {"kind": kind, "name": e[key].get("name")}
                if e[key].get("optional") is not None:
                    item["optional"] = e[key]["optional"]
                if e.get("prefix"):
                    item["prefix"] = e["prefix"]
                out.append(item)
    return sorted(out, key=lambda i: (i["kind"], i["name"] or "", i.get("prefix", "")))


def _volume_source(volume: dict, claims: dict[str, dict], pvs: dict[str, dict]) -> dict:
    """What a pod volume is, with claims bound to an NFS PersistentVolume (in `objects`) seen through.

    Keys: kind, and claim (persistentVolumeClaim) | server, nfsPath (nfs) | medium, sizeLimit
    (emptyDir) | name, items (configMap, secret)."""
    if "persistentVolumeClaim" in volume:
        claim = volume["persistentVolumeClaim"]["claimName"]
        out: dict[str, Any] = {"kind": "persistentVolumeClaim", "claim": claim}
        pvc = claims.get(claim)
        pv = pvs.get(((pvc or {}).get("spec") or {}).get("volumeName", "")) if pvc else None
        if pv is None and pvc is not None:
            for candidate in pvs.values():
                ref = (candidate.get("spec") or {}).get("claimRef") or {}
                if ref.get("name") == claim:
                    pv = candidate
        if pv is not None and "nfs" in (pv.get("spec") or {}):
            nfs = pv["spec"]["nfs"]
            out = {"kind": "nfs", "server": nfs.get("server"), "nfsPath": nfs.get("path")}
        return out
    if "nfs" in volume:
        return {"kind": "nfs", "server": volume["nfs"].get("server"), "nfsPath": volume["nfs"].get("path")}
    if "emptyDir" in volume:
        e = volume["emptyDir"] or {}
        out = {"kind": "emptyDir", "medium": e.get("medium", "")}
        if e.get("sizeLimit") is not None:
            out["sizeLimit"] = e["sizeLimit"]
        return out
    if "configMap" in volume:
        c = volume["configMap"]
        return {"kind": "configMap", "name": c.get("name"), "items": c.get("items") or []}
    if "secret" in volume:
        s = volume["secret"]
        return {"kind": "secret", "name": s.get("secretName"), "items": s.get("items") or []}
    other = sorted(k for k in volume if k != "name")
    return {"kind": other[0] if other else "unknown", "spec": {k: volume[k] for k in other}}


def _container(c: dict, volumes: dict[str, dict], claims: dict[str, dict], pvs: dict[str, dict]) -> dict:
    ports = {p["name"]: p["containerPort"] for p in c.get("ports") or [] if p.get("name")}
    mounts = []
    for m in c.get("volumeMounts") or []:
        source = _volume_source(volumes.get(m["name"], {}), claims, pvs)
        mounts.append({**source, "path": m["mountPath"], "subPath": m.get("subPath", ""),
                       "readOnly": bool(m.get("readOnly", False))})
    probes = {}
    for kind in ("liveness", "readiness", "startup"):
        p = _probe(c.get(f"{kind}Probe"), ports)
        if p is not None:
            probes[kind] = p
    return {
        "image": c.get("image"),
        "command": list(c.get("command") or []),
        "args": list(c.get("args") or []),
        "ports": sorted(({"name": p.get("name", ""), "containerPort": p["containerPort"],
                          "protocol": p.get("protocol", "TCP")} for p in c.get("ports") or []),
                        key=lambda p: (p["containerPort"], p["protocol"], p["name"])),
        "env": _env(c.get("env")),
        "envFrom": _env_from(c.get("envFrom")),
        "probes": probes,
        "resources": c.get("resources") or {},
        "securityContext": c.get("securityContext") or {},
        "mounts": sorted(mounts, key=lambda m: m["path"]),
    }


def _selects(selector: dict | None, labels: dict | None) -> bool:
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


def app_facts(objects: list[dict]) -> dict:
    """The facts of the app(s) in `objects`; see the module docstring. Lists are opened.

    Returns {"workloads": [...], "services": [...], "routes": [...], "claims": {...}}, each
    workload with its kind, name, the app name (pod label app.kubernetes.io/name), replicas, pod
    security context and its containers (init containers apart) in pod-spec order. Named ports in
    probes and Service targetPorts are resolved to numbers, probe timings get Kubernetes' defaults,
    env is a name -> value map and mounts are sorted by path, so that equal apps compare equal.
    """
    objs = _items(objects)
    claims = _by_kind(objs, "PersistentVolumeClaim")
    pvs = _by_kind(objs, "PersistentVolume")
    workloads = []
    pods = []  # (labels, {port name: number}) of each workload's pods
    for o in objs:
        if o.get("kind") not in WORKLOAD_KINDS:
            continue
        spec = o.get("spec") or {}
        template = spec.get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        pod = template.get("spec") or {}
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        containers = [_container(c, volumes, claims, pvs) for c in pod.get("containers") or []]
        init = [_container(c, volumes, claims, pvs) for c in pod.get("initContainers") or []]
        named = {p["name"]: p["containerPort"] for c in containers for p in c["ports"] if p["name"]}
        pods.append((labels, named))
        workloads.append({
            "kind": o["kind"],
            "name": o["metadata"]["name"],
            "app": labels.get("app.kubernetes.io/name"),
            "replicas": spec.get("replicas", 1),
            # Recreate matters with a ReadWriteOnce claim (app-template's default for Deployments).
            "strategy": (spec.get("strategy") or {}).get("type", "RollingUpdate") if o["kind"] == "Deployment"
            else (spec.get("updateStrategy") or {}).get("type", "RollingUpdate"),
            "selectorMatchesPod": _selects((spec.get("selector") or {}).get("matchLabels"), labels),
            "podSecurityContext": pod.get("securityContext") or {},
            "containers": containers,
            "initContainers": init,
        })
    services = []
    for s in _by_kind(objs, "Service").values():
        spec = s.get("spec") or {}
        selector = spec.get("selector") or {}
        named: dict[str, int] = {}
        selected = False
        for labels, ports in pods:
            if _selects(selector, labels):
                selected = True
                named.update(ports)
        services.append({
            "name": s["metadata"]["name"],
            "type": spec.get("type", "ClusterIP"),
            "selectsPod": selected,
            "ports": sorted(({"port": p["port"], "targetPort": _port_number(p.get("targetPort", p["port"]), named),
                              "protocol": p.get("protocol", "TCP")} for p in spec.get("ports") or []),
                            key=lambda p: (p["port"], p["protocol"])),
        })
    services.sort(key=lambda s: s["name"])
    routes = []
    for r in objs:
        spec = r.get("spec") or {}
        if r.get("kind") == "HTTPRoute":
            backends = sorted({(b.get("name"), b.get("port")) for rule in spec.get("rules") or []
                               for b in rule.get("backendRefs") or []}, key=str)
            paths = sorted({(m.get("path") or {}).get("value", "/") for rule in spec.get("rules") or []
                            for m in rule.get("matches") or [{}]})
            routes.append({
                "kind": "HTTPRoute",
                "name": r["metadata"]["name"],
                "hostnames": sorted(spec.get("hostnames") or []),
                "parents": sorted(({k: p.get(k) for k in ("name", "namespace", "sectionName") if p.get(k)}
                                   for p in spec.get("parentRefs") or []), key=lambda p: sorted(p.items())),
                "backends": [{"service": n, "port": p} for n, p in backends],
                "paths": paths,
            })
        elif r.get("kind") == "Ingress":
            rules = spec.get("rules") or []
            backends = sorted({((p.get("backend") or {}).get("service") or {}).get("name", "") for rule in rules
                               for p in (rule.get("http") or {}).get("paths") or []})
            routes.append({
                "kind": "Ingress",
                "name": r["metadata"]["name"],
                "hostnames": sorted({rule["host"] for rule in rules if rule.get("host")}),
                "className": spec.get("ingressClassName"),
                "backends": [{"service": n} for n in backends],
            })
    routes.sort(key=lambda r: (r["kind"], r["name"]))
    claim_facts = {}
    for name, pvc in claims.items():
        spec = pvc.get("spec") or {}
        claim_facts[name] = {
            "storageClassName": spec.get("storageClassName"),
            "size": ((spec.get("resources") or {}).get("requests") or {}).get("storage"),
            "accessModes": sorted(spec.get("accessModes") or []),
            "dataSourceRef": spec.get("dataSourceRef"),
        }
    return {"workloads": workloads, "services": services, "routes": routes, "claims": claim_facts}


def only_workload(facts: dict) -> dict:
    """The one workload of `facts` (an assertion error when there is not exactly one)."""
    assert len(facts["workloads"]) == 1, [w["name"] for w in facts["workloads"]]
    return facts["workloads"][0]


def only_container(facts: dict) -> dict:
    w = only_workload(facts)
    assert len(w["containers"]) == 1, len(w["containers"])
    return w["containers"][0]


def mount_at(container: dict, path: str) -> dict:
    hits = [m for m in container["mounts"] if m["path"] == path]
    assert len(hits) == 1, (path, [m["path"] for m in container["mounts"]])
    return hits[0]

