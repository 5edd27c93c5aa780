"""The real `helm template` on hand-written app-template HelmReleases (needs ../shared: the chart is
../shared/reference/charts/app-template/; APPFORGE_SHARED overrides the location). Proves what
Helm makes of the values shapes appforge's app-template workload writes, and that
`helm_support.app_facts` reads the same app out of a plain Deployment + Service + HTTPRoute bundle
and out of Helm's output.
"""

from __future__ import annotations

import copy

import pytest

from helm_support import (  # noqa: F401  (helm is a fixture)
    HelmError,
    app_facts,
    chart_version,
    check_app_template_release,
    helm,
    helm_template,
    mount_at,
    only_container,
    only_workload,
)

HTTP_PROBE = {"enabled": True, "custom": True,
              "spec": {"httpGet": {"path": "/ping", "port": 8989}, "initialDelaySeconds": 0, "periodSeconds": 10,
                       "timeoutSeconds": 1, "failureThreshold": 3}}


def oci_repository() -> dict:
    return {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
            "metadata": {"name": "app-template", "namespace": "flux-system"},
            "spec": {"interval": "15m", "url": "oci://ghcr.io/bjw-s-labs/helm/app-template",
                     "ref": {"tag": chart_version()},
                     "layerSelector": {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                                       "operation": "copy"}}}


def release(name: str, namespace: str, values: dict) -> dict:
    return {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"interval": "1h",
                     "chartRef": {"kind": "OCIRepository", "name": "app-template", "namespace": "flux-system"},
                     "install": {"remediation": {"retries": -1}}, "upgrade": {"remediation": {"retries": 3}},
                     "values": values}}


def sonarr_release() -> dict:
    """An *arr-style app: config claim, NAS media with subPath, scratch, http probes, secret env."""
    return release("sonarr", "media", {
        "nameOverride": "sonarr",
        "defaultPodOptions": {"securityContext": {
            "runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
            "fsGroupChangePolicy": "OnRootMismatch", "supplementalGroups": [10000]}},
        "controllers": {"sonarr": {"containers": {"app": {
            "image": {"repository": "ghcr.io/home-operations/sonarr", "tag": "4.0.15.2941"},
            "env": {"TZ": "Europe/Berlin", "SONARR__SERVER__PORT": "8989"},
            "envFrom": [{"secretRef": {"name": "sonarr-secret"}}],
            "ports": [{"name": "http", "containerPort": 8989, "protocol": "TCP"}],
            "probes": {"liveness": copy.deepcopy(HTTP_PROBE), "readiness": copy.deepcopy(HTTP_PROBE)},
            "resources": {"requests": {"cpu": "10m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
        }}}},
        "service": {"app": {"controller": "sonarr", "ports": {"http": {"port": 8989}}}},
        "route": {"app": {
            "hostnames": ["sonarr.home.example.com", "tv.home.example.com"],
            "parentRefs": [{"name": "internal", "namespace": "network", "sectionName": "https"}],
            "rules": [{"backendRefs": [{"identifier": "app", "port": 8989}]}]}},
        "persistence": {
            "config": {"existingClaim": "sonarr"},
            "media": {"type": "nfs", "server": "nas.home.example.com", "path": "/volume1/media",
                      "globalMounts": [{"path": "/data", "subPath": "tv"}]},
            "tmp": {"type": "emptyDir"},
        },
    })


MOSQUITTO_CONF = "listener 1883\nallow_anonymous true\npersistence false\n"


def mosquitto_release() -> dict:
    """A single-binary TCP app with a config file from a ConfigMap."""
    return release("mosquitto", "home", {
        "nameOverride": "mosquitto",
        "controllers": {"mosquitto": {"containers": {"app": {
            "image": {"repository": "docker.io/library/eclipse-mosquitto", "tag": "2.0.21"},
            "command": ["/usr/sbin/mosquitto"],
            "args": ["-c", "/mosquitto/config/mosquitto.conf"],
            "ports": [{"name": "mqtt", "containerPort": 1883, "protocol": "TCP"}],
            "probes": {
                "liveness": {"enabled": True, "type": "TCP"},  # the chart fills in the Service port
                "readiness": {"enabled": True, "custom": True, "spec": {"tcpSocket": {"port": "mqtt"}}},
            },
            "resources": {"requests": {"cpu": "5m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
            "securityContext": {"runAsUser": 1883, "runAsGroup": 1883, "runAsNonRoot": True,
                                "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
        }}}},
        "configMaps": {"config": {"data": {"mosquitto.conf": MOSQUITTO_CONF}}},
        "service": {"app": {"controller": "mosquitto", "type": "LoadBalancer",
                            "ports": {"mqtt": {"port": 1883, "protocol": "TCP"}}}},
        "persistence": {"config-file": {
            "type": "configMap", "identifier": "config",
            "globalMounts": [{"path": "/mosquitto/config/mosquitto.conf", "subPath": "mosquitto.conf",
                              "readOnly": True}]}},
    })


def kinds(objects: list[dict]) -> list[str]:
    return sorted(f"{o['apiVersion']}/{o['kind']}" for o in objects)


def one(objects: list[dict], kind: str) -> dict:
    hits = [o for o in objects if o["kind"] == kind]
    assert len(hits) == 1, (kind, kinds(objects))
    return hits[0]


def test_arr_app_renders_as_values_say(helm) -> None:
    objects = helm_template(sonarr_release(), oci_repository(), helm_bin=helm)
    assert kinds(objects) == ["apps/v1/Deployment", "gateway.networking.k8s.io/v1/HTTPRoute", "v1/Service"]
    for o in objects:
        assert o["metadata"]["namespace"] == "media"
    dep = one(objects, "Deployment")
    pod = dep["spec"]["template"]
    assert dep["metadata"]["name"] == "sonarr"
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "sonarr"  # the release name (see below)
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
        "fsGroupChangePolicy": "OnRootMismatch", "supplementalGroups": [10000]}

    facts = app_facts(objects)
    w = only_workload(facts)
    assert (w["kind"], w["name"], w["app"], w["replicas"], w["strategy"]) == \
        ("Deployment", "sonarr", "sonarr", 1, "Recreate")
    assert w["selectorMatchesPod"]
    c = only_container(facts)
    assert c["image"] == "ghcr.io/home-operations/sonarr:4.0.15.2941"
    assert c["ports"] == [{"name": "http", "containerPort": 8989, "protocol": "TCP"}]
    assert c["env"] == {"TZ": "Europe/Berlin", "SONARR__SERVER__PORT": "8989"}
    assert c["envFrom"] == [{"kind": "secret", "name": "sonarr-secret"}]
    probe = {"type": "http", "path": "/ping", "port": 8989, "scheme": "HTTP", "initialDelaySeconds": 0,
             "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}
    assert c["probes"] == {"liveness": probe, "readiness": probe}
    assert c["resources"] == {"requests": {"cpu": "10m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}}
    assert c["mounts"] == [
        {"path": "/config", "kind": "persistentVolumeClaim", "claim": "sonarr", "subPath": "", "readOnly": False},
        {"path": "/data", "kind": "nfs", "server": "nas.home.example.com", "nfsPath": "/volume1/media",
         "subPath": "tv", "readOnly": False},
        {"path": "/tmp", "kind": "emptyDir", "medium": "", "subPath": "", "readOnly": False},
    ]
    assert facts["services"] == [{"name": "sonarr", "type": "ClusterIP", "selectsPod": True,
                                  "ports": [{"port": 8989, "targetPort": 8989, "protocol": "TCP"}]}]
    assert facts["routes"] == [{"kind": "HTTPRoute", "name": "sonarr",
                                "hostnames": ["sonarr.home.example.com", "tv.home.example.com"],
                                "parents": [{"name": "internal", "namespace": "network", "sectionName": "https"}],
                                "backends": [{"service": "sonarr", "port": 8989}], "paths": ["/"]}]


def test_nfs_mount_keeps_its_export_path(helm) -> None:
    """A mount's "path" key is the mount path; the NFS export path must not overwrite it."""
    c = only_container(app_facts(helm_template(sonarr_release(), helm_bin=helm)))
    nfs = [v for v in c["mounts"] if v["kind"] == "nfs"]
    assert len(nfs) == 1
    assert nfs[0]["path"] == "/data"
    assert nfs[0]["nfsPath"] == "/volume1/media"


def test_tcp_app_with_config_file(helm) -> None:
    objects = helm_template(mosquitto_release(), oci_repository(), helm_bin=helm)
    assert kinds(objects) == ["apps/v1/Deployment", "v1/ConfigMap", "v1/Service"]
    cm = one(objects, "ConfigMap")
    assert cm["data"] == {"mosquitto.conf": MOSQUITTO_CONF.rstrip("\n")}  # the chart trims the last newline
    pod = one(objects, "Deployment")["spec"]["template"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "mosquitto"
    assert "checksum/configMaps" in pod["metadata"]["annotations"]  # a config change restarts the pod

    facts = app_facts(objects)
    c = only_container(facts)
    assert c["image"] == "docker.io/library/eclipse-mosquitto:2.0.21"
    assert (c["command"], c["args"]) == (["/usr/sbin/mosquitto"], ["-c", "/mosquitto/config/mosquitto.conf"])
    assert c["ports"] == [{"name": "mqtt", "containerPort": 1883, "protocol": "TCP"}]
    assert c["env"] == {} and c["envFrom"] == []
    tcp = {"type": "tcp", "port": 1883, "initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1,
           "successThreshold": 1, "failureThreshold": 3}
    assert c["probes"] == {"liveness": tcp, "readiness": tcp}  # the named port "mqtt" resolved
    assert c["securityContext"]["runAsUser"] == 1883
    assert c["resources"]["limits"] == {"memory": "64Mi"}
    m = mount_at(c, "/mosquitto/config/mosquitto.conf")
    assert m == {"path": "/mosquitto/config/mosquitto.conf", "kind": "configMap", "name": cm["metadata"]["name"],
                 "items": [], "subPath": "mosquitto.conf", "readOnly": True}
    assert only_workload(facts)["podSecurityContext"] == {}
    assert facts["services"] == [{"name": "mosquitto", "type": "LoadBalancer", "selectsPod": True,
                                  "ports": [{"port": 1883, "targetPort": 1883, "protocol": "TCP"}]}]
    assert facts["routes"] == []


def test_pod_name_label_is_the_release_name_unless_global_name_override(helm) -> None:
    """app-template 4.1.1 sets global.nameOverride to the release name when it is unset, and the
    global one wins: values.nameOverride changes nothing; global.nameOverride renames the labels
    and suffixes the object names. (The design note's "pods are labelled app-template" holds for
    the common library alone, not for app-template.)"""
    r = mosquitto_release()
    del r["spec"]["values"]["nameOverride"]
    w = only_workload(app_facts(helm_template(r, helm_bin=helm)))
    assert (w["name"], w["app"]) == ("mosquitto", "mosquitto")

    r["spec"]["values"]["nameOverride"] = "broker"
    w = only_workload(app_facts(helm_template(r, helm_bin=helm)))
    assert (w["name"], w["app"]) == ("mosquitto", "mosquitto")

    r["spec"]["values"]["global"] = {"nameOverride": "broker"}
    facts = app_facts(helm_template(r, helm_bin=helm))
    w = only_workload(facts)
    assert (w["name"], w["app"]) == ("mosquitto-broker", "broker")
    assert w["selectorMatchesPod"] and facts["services"][0]["selectsPod"]

    r = mosquitto_release()
    r["spec"]["releaseName"] = "mqtt"  # Flux's release name, not metadata.name
    assert only_workload(app_facts(helm_template(r, helm_bin=helm)))["app"] == "mqtt"


def test_routes_offline_fall_back_to_v1alpha2(helm) -> None:
    """Offline Helm knows no Gateway API; helm_template tells it the cluster serves v1 routes."""
    objects = helm_template(sonarr_release(), helm_bin=helm, api_versions=())
    assert one(objects, "HTTPRoute")["apiVersion"] == "gateway.networking.k8s.io/v1alpha2"


def plain_sonarr_bundle() -> list[dict]:
    """The same app as sonarr_release(), written as plain objects (the NAS share as a PV + claim)."""
    labels = {"app.kubernetes.io/name": "sonarr"}
    probe = {"httpGet": {"path": "/ping", "port": "http"}}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sonarr", "namespace": "media"},
         "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {
                      "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000,
                                          "fsGroup": 1000, "fsGroupChangePolicy": "OnRootMismatch",
                                          "supplementalGroups": [10000]},
                      "containers": [{
                          "name": "sonarr", "image": "ghcr.io/home-operations/sonarr:4.0.15.2941",
                          "ports": [{"name": "http", "containerPort": 8989, "protocol": "TCP"}],
                          "env": [{"name": "TZ", "value": "Europe/Berlin"},
                                  {"name": "SONARR__SERVER__PORT", "value": "8989"}],
                          "envFrom": [{"secretRef": {"name": "sonarr-secret"}}],
                          "livenessProbe": probe, "readinessProbe": copy.deepcopy(probe),
                          "resources": {"requests": {"cpu": "10m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
                          "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                              "capabilities": {"drop": ["ALL"]}},
                          "volumeMounts": [{"name": "config", "mountPath": "/config"},
                                           {"name": "media", "mountPath": "/data", "subPath": "tv"},
                                           {"name": "tmp", "mountPath": "/tmp"}]}],
                      "volumes": [{"name": "config", "persistentVolumeClaim": {"claimName": "sonarr"}},
                                  {"name": "media", "persistentVolumeClaim": {"claimName": "sonarr-media"}},
                                  {"name": "tmp", "emptyDir": {}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sonarr", "namespace": "media"},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": 8989, "targetPort": "http"}]}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
         "metadata": {"name": "sonarr", "namespace": "media"},
         "spec": {"parentRefs": [{"name": "internal", "namespace": "network", "sectionName": "https"}],
                  "hostnames": ["tv.home.example.com", "sonarr.home.example.com"],
                  "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                             "backendRefs": [{"name": "sonarr", "port": 8989}]}]}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "sonarr-media", "namespace": "media"},
         "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": "media-sonarr-nfs",
                  "resources": {"requests": {"storage": "1Mi"}}}},
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "media-sonarr-nfs"},
         "spec": {"capacity": {"storage": "1Mi"}, "accessModes": ["ReadWriteMany"],
                  "nfs": {"server": "nas.home.example.com", "path": "/volume1/media"},
                  "claimRef": {"namespace": "media", "name": "sonarr-media"}}},
    ]


def comparable(facts: dict) -> dict:
    """The facts both renderings must share (claims are objects next to the Helm release)."""
    return {k: facts[k] for k in ("workloads", "services", "routes")}


def test_app_facts_same_app_plain_and_helm(helm) -> None:
    helm_facts = comparable(app_facts(helm_template(sonarr_release(), helm_bin=helm)))
    plain = plain_sonarr_bundle()
    # Container names are no fact (app-template names the container after its identifier, "app"),
    # nor are the labels Helm adds or the defaults it writes (enableServiceLinks, dnsPolicy, ...).
    assert comparable(app_facts(plain)) == helm_facts

    # ...and the comparison sees a difference in any one fact.
    for path, value in [
        (("spec", "template", "spec", "containers", 0, "volumeMounts", 1, "subPath"), "movies"),
        (("spec", "template", "spec", "containers", 0, "image"), "ghcr.io/home-operations/sonarr:4.0.14"),
        (("spec", "template", "spec", "containers", 0, "env", 0, "value"), "UTC"),
        (("spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet", "path"), "/"),
        (("spec", "template", "spec", "securityContext", "runAsUser"), 0),
        (("spec", "strategy", "type"), "RollingUpdate"),
    ]:
        changed = copy.deepcopy(plain)
        node = changed[0]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        assert comparable(app_facts(changed)) != helm_facts, path
    changed = copy.deepcopy(plain)
    changed[4]["spec"]["nfs"]["path"] = "/volume1/other"
    assert comparable(app_facts(changed)) != helm_facts
    changed = copy.deepcopy(plain)
    changed[2]["spec"]["hostnames"] = ["sonarr.home.example.com"]
    assert comparable(app_facts(changed)) != helm_facts


def test_refuses_what_it_cannot_render_faithfully() -> None:
    r = sonarr_release()
    r["spec"]["valuesFrom"] = [{"kind": "ConfigMap", "name": "x"}]
    with pytest.raises(HelmError, match="valuesFrom"):
        check_app_template_release(r)
    r = sonarr_release()
    r["spec"]["chartRef"]["kind"] = "HelmChart"
    with pytest.raises(HelmError, match="OCIRepository"):
        check_app_template_release(r)
    oci = oci_repository()
    oci["spec"]["ref"]["tag"] = "3.7.3"
    with pytest.raises(HelmError, match="local chart"):
        check_app_template_release(sonarr_release(), oci)


def test_helm_errors_are_raised(helm) -> None:
    r = sonarr_release()
    r["spec"]["values"]["service"]["app"]["controller"] = "nope"  # a Service for no controller
    with pytest.raises(HelmError):
        helm_template(r, helm_bin=helm)
