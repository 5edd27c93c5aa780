#!/usr/bin/env python3
"""Derive self-contained draft-07 JSON Schemas for the kinds appforge renders.

Inputs (read-only, from --reference DIR):
  kubernetes-json-schema/v1.34.0-local-strict/<kind>.json + _definitions.json
      Kubernetes 1.34 OpenAPI converted to JSON Schema 2020-12 ($defs), strict
      variant (additionalProperties: false everywhere).
  crds/*.yaml
      Real CustomResourceDefinitions (volsync, external-secrets, Flux, Gateway API).

  charts/app-template/ (+ charts/common/)
      The bjw-s app-template chart; its values.schema.json $refs the common
      library's schemas by web URL.

Output (--out DIR, default schemas/kubernetes under the repo root): one
self-contained draft-07 schema per kind, index.json and README.md. And
(--values-out DIR, default schemas/app-template): the chart's values schema as
one self-contained draft-07 schema, every $ref resolved to a local definition
(see values_readme() for the changes made), and README.md.

What the conversion does:
  core kinds  copy only the $defs transitively reachable from the kind into
              "definitions", rewrite "$ref" to "#/definitions/<name>", drop
              description / format / x-kubernetes-* keys, merge type-only
              oneOf alternatives (Quantity, IntOrString) into one type list,
              and additionally require apiVersion, kind and metadata.name.
  CRDs        take spec.versions[].schema.openAPIV3Schema of the served storage
              version and convert OpenAPI v3 to draft-07: nullable -> type list
              with "null"; x-kubernetes-int-or-string -> type [integer, string];
              x-kubernetes-preserve-unknown-fields -> no additionalProperties
              restriction; every other object with "properties" and no
              "additionalProperties" becomes strict (additionalProperties:
              false); other x-kubernetes-* keys (CEL rules, list types) are
              dropped; apiVersion/kind become required consts; metadata is a
              permissive object that requires a string "name".

Why "format" is dropped everywhere: valijson 1.0's FormatConstraint calls
asString() on the target whatever its type. That throws std::runtime_error for a
non-empty object/array value (e.g. {"replicas": {"a": 1}} against int32), and a
"date-time" field holding null (kubectl's "creationTimestamp: null") fails.
int32/int64/byte/double are not checked by valijson anyway.

The output is deterministic (sorted keys, fixed indentation) so the script can
be rerun and the result diffed; --check reports stale files without writing.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
DEFAULT_OUT = REPO_ROOT / "schemas" / "kubernetes"
DEFAULT_VALUES_OUT = REPO_ROOT / "schemas" / "app-template"

K8S_SCHEMA_DIR = "kubernetes-json-schema/v1.34.0-local-strict"
DRAFT7 = "http://json-schema.org/draft-07/schema#"
REGENERATE = ("python3 tools/derive_schemas.py --reference ../shared/reference --out schemas/kubernetes "
              "--values-out schemas/app-template")

# (file stem in the reference dir == output file stem, apiVersion, kind)
CORE_KINDS = [
    ("deployment-apps-v1", "apps/v1", "Deployment"),
    ("service-v1", "v1", "Service"),
    ("ingress-networking-v1", "networking.k8s.io/v1", "Ingress"),
    ("persistentvolumeclaim-v1", "v1", "PersistentVolumeClaim"),
    ("persistentvolume-v1", "v1", "PersistentVolume"),
    ("namespace-v1", "v1", "Namespace"),
    ("configmap-v1", "v1", "ConfigMap"),
    ("secret-v1", "v1", "Secret"),
]

# (CRD file in crds/, expected group, expected kind, expected version)
CRDS = [
    ("volsync.backube_replicationsources.yaml", "volsync.backube", "ReplicationSource", "v1alpha1"),
    ("volsync.backube_replicationdestinations.yaml", "volsync.backube", "ReplicationDestination", "v1alpha1"),
    ("external-secrets.io_externalsecrets.yaml", "external-secrets.io", "ExternalSecret", "v1"),
    ("kustomize.toolkit.fluxcd.io_kustomizations.yaml", "kustomize.toolkit.fluxcd.io", "Kustomization", "v1"),
    ("gateway.networking.k8s.io_httproutes.yaml", "gateway.networking.k8s.io", "HTTPRoute", "v1"),
    ("gateway.networking.k8s.io_gateways.yaml", "gateway.networking.k8s.io", "Gateway", "v1"),
    ("helm.toolkit.fluxcd.io_helmreleases.yaml", "helm.toolkit.fluxcd.io", "HelmRelease", "v2"),
    ("source.toolkit.fluxcd.io_ocirepositories.yaml", "source.toolkit.fluxcd.io", "OCIRepository", "v1"),
]

KUSTOMIZE_FILE = "kustomization-kustomize.config.k8s.io-v1beta1.json"

# ---------------------------------------------------------------------------
# Generic schema walking

# Keys whose value is a map name -> schema (names must never be filtered).
SCHEMA_MAP_KEYS = {"properties", "patternProperties", "definitions", "$defs"}
# Keys whose value is one schema (or a boolean schema).
SCHEMA_KEYS = {"additionalProperties", "additionalItems", "not", "contains",
               "propertyNames", "if", "then", "else"}
# Keys whose value is a list of schemas.
SCHEMA_LIST_KEYS = {"allOf", "anyOf", "oneOf"}
# Keys copied verbatim.
VALUE_KEYS = {"type", "enum", "const", "required", "default", "pattern",
              "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
              "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
              "minProperties", "maxProperties", "multipleOf"}
# Keys removed everywhere (annotations, or not safe with valijson, see above).
DROPPED_KEYS = {"description", "format", "$schema", "$id", "title", "example",
                "externalDocs"}


class ConversionError(Exception):
    pass


def _fail(path: str, msg: str) -> None:
    raise ConversionError(f"{path}: {msg}")


# ---------------------------------------------------------------------------
# Core kinds (strict kubernetes-json-schema, 2020-12 $defs -> draft-07)

def _core_ref_target(ref: str, path: str) -> str:
    for prefix in ("/api/_definitions.json#/$defs/", "#/$defs/", "_definitions.json#/$defs/"):
        if ref.startswith(prefix):
            name = ref[len(prefix):]
            if "/" in name or "~" in name:
                _fail(path, f"unsupported $ref {ref!r}")
            return name
    _fail(path, f"unsupported $ref {ref!r}")
    return ""  # unreachable


def convert_core(node, path: str, refs: set):
    """Clean one schema node of the strict k8s schemas; collect $ref targets."""
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict):
        _fail(path, f"expected a schema object, got {type(node).__name__}")
    out = {}
    for key, value in node.items():
        sub = f"{path}/{key}"
        if key in DROPPED_KEYS or key.startswith("x-kubernetes-"):
            continue
        if key == "$ref":
            name = _core_ref_target(value, sub)
            refs.add(name)
            out[key] = f"#/definitions/{name}"
        elif key in SCHEMA_MAP_KEYS:
            out[key] = {k: convert_core(v, f"{sub}/{k}", refs) for k, v in value.items()}
        elif key in SCHEMA_KEYS:
            out[key] = convert_core(value, sub, refs)
        elif key in SCHEMA_LIST_KEYS:
            out[key] = [convert_core(v, f"{sub}/{i}", refs) for i, v in enumerate(value)]
        elif key == "items":
            if isinstance(value, list):
                out[key] = [convert_core(v, f"{sub}/{i}", refs) for i, v in enumerate(value)]
            else:
                out[key] = convert_core(value, sub, refs)
        elif key in VALUE_KEYS:
            out[key] = copy.deepcopy(value)
        else:
            _fail(sub, f"unknown schema keyword {key!r}")
    _merge_type_only_alternatives(out)
    if "$ref" in out and len(out) > 1:
        # draft-07 ignores siblings of $ref; refuse to silently lose them.
        _fail(path, f"$ref with sibling keywords {sorted(out)}")
    return out


def _merge_type_only_alternatives(out: dict) -> None:
    """Turn oneOf/anyOf of bare {"type": ...} schemas into one type list.

    Quantity is oneOf[{type:[string,null]},{type:[number,null]}] and IntOrString
    oneOf[{type:[string,null]},{type:[integer,null]}]. As a oneOf, null matches
    both branches and is rejected, and a wrong type yields four nested errors;
    the merged {"type": [...]} accepts the same non-null values with one error.
    """
    for key in ("oneOf", "anyOf"):
        alts = out.get(key)
        if "type" in out or not isinstance(alts, list) or not alts:
            continue
        if not all(isinstance(a, dict) and set(a) == {"type"} for a in alts):
            continue
        types: list = []
        for a in alts:
            for t in (a["type"] if isinstance(a["type"], list) else [a["type"]]):
                if t not in types:
                    types.append(t)
        if "number" in types and "integer" in types:
            types.remove("integer")
        del out[key]
        out["type"] = types


def derive_core(ref_dir: Path, stem: str, api_version: str, kind: str, defs: dict) -> dict:
    src = ref_dir / K8S_SCHEMA_DIR / f"{stem}.json"
    with open(src, encoding="utf-8") as f:
        top = json.load(f)

    refs: set = set()
    root = convert_core(top, stem, refs)

    # Transitive closure over _definitions.json.
    definitions = {}
    pending = sorted(refs)
    while pending:
        name = pending.pop()
        if name in definitions:
            continue
        if name not in defs:
            _fail(stem, f"$ref to missing definition {name!r}")
        new_refs: set = set()
        definitions[name] = convert_core(defs[name], f"_definitions.json#/$defs/{name}", new_refs)
        pending.extend(sorted(new_refs - definitions.keys()))

    props = root.get("properties", {})
    for field, want in (("apiVersion", api_version), ("kind", kind)):
        enum = props.get(field, {}).get("enum")
        if enum != [want]:
            _fail(stem, f"{field} enum is {enum!r}, expected [{want!r}]")
    meta_ref = props.get("metadata", {}).get("$ref")
    if meta_ref != "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta":
        _fail(stem, f"unexpected metadata schema {props.get('metadata')!r}")

    # Rendered objects must be self-describing and named: require apiVersion,
    # kind and metadata.name (ObjectMeta itself allows generateName instead).
    props["metadata"] = {"allOf": [{"$ref": meta_ref}, {"required": ["name"]}]}
    root["required"] = sorted(set(root.get("required", [])) | {"apiVersion", "kind", "metadata"})

    root["$schema"] = DRAFT7
    root["$comment"] = (f"Generated by tools/derive_schemas.py from {K8S_SCHEMA_DIR}/{stem}.json "
                        f"(+ reachable _definitions.json entries). Do not edit.")
    root["definitions"] = definitions
    return root


# ---------------------------------------------------------------------------
# CRDs (OpenAPI v3 structural schema -> draft-07)

CRD_VALUE_KEYS = VALUE_KEYS - {"const"}
CRD_IGNORED_KEYS = {"x-kubernetes-list-type", "x-kubernetes-list-map-keys",
                    "x-kubernetes-map-type", "x-kubernetes-validations",
                    "x-kubernetes-embedded-resource"}


def _is_int_or_string_anyof(value) -> bool:
    if not isinstance(value, list):
        return False
    types = sorted(v.get("type", "") for v in value if isinstance(v, dict) and set(v) == {"type"})
    return len(value) == 2 and types == ["integer", "string"]


def convert_openapi(node, path: str):
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict):
        _fail(path, f"expected a schema object, got {type(node).__name__}")
    out = {}
    int_or_string = bool(node.get("x-kubernetes-int-or-string"))
    preserve_unknown = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    nullable = bool(node.get("nullable"))
    for key, value in node.items():
        sub = f"{path}/{key}"
        if key in DROPPED_KEYS or key in CRD_IGNORED_KEYS:
            continue
        if key in ("x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields", "nullable"):
            continue  # handled below
        if key.startswith("x-kubernetes-"):
            _fail(sub, f"unhandled extension {key!r}")
        if key == "anyOf" and int_or_string and _is_int_or_string_anyof(value):
            continue  # replaced by a type list below
        if key == "properties":
            out[key] = {k: convert_openapi(v, f"{sub}/{k}") for k, v in value.items()}
        elif key in ("additionalProperties", "not"):
            out[key] = convert_openapi(value, sub)
        elif key in SCHEMA_LIST_KEYS:
            out[key] = [convert_openapi(v, f"{sub}/{i}") for i, v in enumerate(value)]
        elif key == "items":
            if isinstance(value, list):
                _fail(sub, "tuple items are not allowed in structural schemas")
            out[key] = convert_openapi(value, sub)
        elif key in CRD_VALUE_KEYS:
            out[key] = copy.deepcopy(value)
        else:
            _fail(sub, f"unknown OpenAPI keyword {key!r}")

    if int_or_string:
        if "type" in out:
            _fail(path, "x-kubernetes-int-or-string together with type")
        out["type"] = ["integer", "string"]
    if nullable:
        t = out.get("type")
        if t is None:
            pass  # untyped: null already allowed
        elif isinstance(t, list):
            if "null" not in t:
                out["type"] = t + ["null"]
        else:
            out["type"] = [t, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]

    if preserve_unknown:
        # Unknown fields are kept by the API server: allow anything extra.
        # Known properties (if any) are still checked.
        out.pop("additionalProperties", None)
    elif "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _crd_metadata_schema() -> dict:
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    return {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "namespace": {"type": "string"},
            "labels": string_map,
            "annotations": copy.deepcopy(string_map),
        },
    }


def derive_crd(ref_dir: Path, filename: str, group: str, kind: str, version: str):
    src = ref_dir / "crds" / filename
    with open(src, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
    if len(crds) != 1:
        _fail(filename, f"expected exactly one CRD, found {len(crds)}")
    spec = crds[0]["spec"]
    if spec["group"] != group or spec["names"]["kind"] != kind:
        _fail(filename, f"CRD is {spec['group']}/{spec['names']['kind']}, expected {group}/{kind}")
    chosen = [v for v in spec["versions"] if v.get("served") and v.get("storage")]
    if len(chosen) != 1:
        _fail(filename, "no single served storage version")
    ver = chosen[0]
    if ver["name"] != version:
        _fail(filename, f"served storage version is {ver['name']}, expected {version}")

    api_version = f"{group}/{version}"
    root = convert_openapi(ver["schema"]["openAPIV3Schema"], f"{filename}#{version}")
    props = root.setdefault("properties", {})
    props["apiVersion"] = {"type": "string", "const": api_version}
    props["kind"] = {"type": "string", "const": kind}
    props["metadata"] = _crd_metadata_schema()
    root["type"] = "object"
    root["additionalProperties"] = False
    root["required"] = sorted(set(root.get("required", [])) | {"apiVersion", "kind", "metadata"})
    root["$schema"] = DRAFT7
    root["$comment"] = (f"Generated by tools/derive_schemas.py from crds/{filename} "
                        f"(version {version}, openAPIV3Schema). Do not edit.")
    out_name = f"{kind.lower()}-{group}-{version}.json"
    return out_name, api_version, root


# ---------------------------------------------------------------------------
# kustomize file (hand-written; kustomize itself has no published schema)

def kustomize_schema() -> dict:
    s = {"type": "string"}
    strings = {"type": "array", "items": {"type": "string"}}
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    target = {
        "type": "object",
        "properties": {k: s for k in ("group", "version", "kind", "name", "namespace",
                                      "labelSelector", "annotationSelector")},
        "additionalProperties": False,
    }
    generator = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": s, "namespace": s, "behavior": {"type": "string", "enum": ["create", "replace", "merge"]},
            "files": strings, "literals": strings, "envs": strings, "type": s,
            "options": {"type": "object"},
        },
    }
    return {
        "$schema": DRAFT7,
        "$comment": ("Hand-written in tools/derive_schemas.py for kustomization.yaml "
                     "(kustomize.config.k8s.io/v1beta1). Known fields are type-checked; "
                     "other fields are allowed. Do not edit the generated file."),
        "type": "object",
        "required": ["apiVersion", "kind"],
        "properties": {
            "apiVersion": {"type": "string", "const": "kustomize.config.k8s.io/v1beta1"},
            "kind": {"type": "string", "const": "Kustomization"},
            "metadata": {"type": "object", "properties": {"name": s, "namespace": s}},
            "resources": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "components": strings,
            "namespace": s,
            "namePrefix": s,
            "nameSuffix": s,
            "commonLabels": string_map,
            "commonAnnotations": string_map,
            "labels": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "pairs": string_map,
                        "includeSelectors": {"type": "boolean"},
                        "includeTemplates": {"type": "boolean"},
                        "fields": {"type": "array", "items": {"type": "object"}},
                    },
                    "additionalProperties": False,
                },
            },
            "images": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": s, "newName": s, "newTag": s, "digest": s},
                    "additionalProperties": False,
                },
            },
            "replicas": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "count"],
                    "properties": {"name": s, "count": {"type": "integer", "minimum": 0}},
                    "additionalProperties": False,
                },
            },
            "patches": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"path": s, "patch": s, "target": target,
                                   "options": {"type": "object",
                                               "additionalProperties": {"type": "boolean"}}},
                    "additionalProperties": False,
                },
            },
            "configMapGenerator": {"type": "array", "items": generator},
            "secretGenerator": {"type": "array", "items": generator},
            "generatorOptions": {"type": "object"},
        },
        "additionalProperties": True,
    }


# ---------------------------------------------------------------------------
# app-template values schema (the chart's own values.schema.json, made local)

CHART_DIR = "charts/app-template"
COMMON_DIR = "charts/app-template/charts/common"
# Where the chart's schemas say they live; every $ref below this prefix is a file of the common
# library chart vendored in charts/app-template/charts/common (checked against its version).
COMMON_URL = "https://raw.githubusercontent.com/bjw-s-labs/helm-charts/common-{version}/charts/library/common/"
VALUES_FILE = "values.schema.json"

# Keywords of the chart's schemas (all draft-07), by how they are converted.
CHART_SCHEMA_MAP_KEYS = {"properties", "patternProperties"}
CHART_SCHEMA_KEYS = {"additionalProperties", "additionalItems", "not", "contains",
                     "propertyNames", "if", "then", "else"}
CHART_DROPPED_KEYS = DROPPED_KEYS | {"x-kubernetes-list-type", "x-kubernetes-list-map-keys",
                                     "x-kubernetes-map-type", "deprecated"}


# Chart schema nodes that are broken as written and what is used instead. common 4.1.1's
# k8s-api.json#/core.v1.ContainerSecurityContext wraps the real schema in a key that is no
# keyword ({"io.k8s.api.core.v1.SecurityContext": {...}}), so as written it accepts anything and
# container securityContext is never checked. The wrapped schema is used (type checks of its ten
# known fields; unknown fields stay allowed, as in the wrapped schema). Applied only while the
# node still has exactly that shape.
CHART_REPAIRS = {
    (f"{COMMON_DIR}/schemas/k8s-api.json", "/core.v1.ContainerSecurityContext"): "io.k8s.api.core.v1.SecurityContext",
}


def _chart_version(path: Path) -> str:
    with open(path, encoding="utf-8") as f:
        chart = yaml.safe_load(f)
    return str(chart["version"])


class _ChartRefs:
    """Loads the chart's schema files and names each $ref target as one definition."""

    def __init__(self, ref_dir: Path, common_version: str):
        self.ref_dir = ref_dir
        self.common_url = COMMON_URL.format(version=common_version)
        self.docs: dict = {}        # chart-relative file -> parsed JSON
        self.names: dict = {}       # (file, pointer) -> definition name
        self.pending: list = []     # (file, pointer) not yet converted

    def load(self, rel: str):
        if rel not in self.docs:
            path = self.ref_dir / rel
            with open(path, encoding="utf-8") as f:
                self.docs[rel] = json.load(f)
        return self.docs[rel]

    def locate(self, ref: str, base: str, path: str):
        """(chart-relative file, JSON pointer) that a $ref in file `base` points at."""
        uri, _, fragment = ref.partition("#")
        if fragment and not fragment.startswith("/"):
            _fail(path, f"unsupported $ref fragment {ref!r}")
        if not uri:
            rel = base
        elif uri.startswith(self.common_url):
            rel = f"{COMMON_DIR}/{uri[len(self.common_url):]}"
        elif "://" in uri:
            _fail(path, f"$ref {ref!r} is neither the common library ({self.common_url}) nor a local file")
        else:
            rel = os.path.normpath(os.path.join(os.path.dirname(base), uri))
            if rel.startswith(".."):
                _fail(path, f"$ref {ref!r} leaves the chart")
        rel = Path(rel).as_posix()
        return rel, fragment

    def target(self, rel: str, pointer: str, path: str):
        node = self.load(rel)
        for token in pointer.split("/")[1:] if pointer else []:
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or token not in node:
                _fail(path, f"$ref target {rel}#{pointer} does not exist")
            node = node[token]
        wrapped = CHART_REPAIRS.get((rel, pointer))
        if wrapped and isinstance(node, dict) and set(node) == {wrapped}:
            node = node[wrapped]
        return node

    def name(self, rel: str, pointer: str) -> str:
        key = (rel, pointer)
        if key not in self.names:
            stem = Path(rel).stem
            tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
            name = ".".join([stem] + tokens)
            if "/" in name or "~" in name or name in self.names.values():
                _fail(rel, f"cannot name definition for {rel}#{pointer} ({name!r})")
            self.names[key] = name
            self.pending.append(key)
        return self.names[key]


def convert_chart(node, base: str, path: str, refs: _ChartRefs):
    """One node of the chart's schemas: local $refs, no annotations, no `format`."""
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict):
        _fail(path, f"expected a schema object, got {type(node).__name__}")
    if "$ref" in node:
        # draft-07: siblings of $ref are ignored (the chart only puts "type"/"description" there,
        # and valijson ignores them too); the chart declares draft-07, so keep its meaning.
        rel, pointer = refs.locate(node["$ref"], base, f"{path}/$ref")
        refs.target(rel, pointer, f"{path}/$ref")  # must exist
        return {"$ref": f"#/definitions/{refs.name(rel, pointer)}"}
    out = {}
    for key, value in node.items():
        sub = f"{path}/{key}"
        if key in CHART_DROPPED_KEYS:
            continue
        if key in CHART_SCHEMA_MAP_KEYS:
            out[key] = {k: convert_chart(v, base, f"{sub}/{k}", refs) for k, v in value.items()}
        elif key in CHART_SCHEMA_KEYS:
            out[key] = convert_chart(value, base, sub, refs)
        elif key in SCHEMA_LIST_KEYS:
            out[key] = [convert_chart(v, base, f"{sub}/{i}", refs) for i, v in enumerate(value)]
        elif key == "items":
            if isinstance(value, list):
                out[key] = [convert_chart(v, base, f"{sub}/{i}", refs) for i, v in enumerate(value)]
            else:
                out[key] = convert_chart(value, base, sub, refs)
        elif key == "dependencies":
            out[key] = {k: (copy.deepcopy(v) if isinstance(v, list) else convert_chart(v, base, f"{sub}/{k}", refs))
                        for k, v in value.items()}
        elif key in VALUE_KEYS:
            out[key] = copy.deepcopy(value)
        else:
            _fail(sub, f"unknown schema keyword {key!r}")
    return out


def derive_values_schema(ref_dir: Path) -> dict:
    """app-template's values.schema.json with every $ref resolved into local definitions."""
    version = _chart_version(ref_dir / CHART_DIR / "Chart.yaml")
    common_version = _chart_version(ref_dir / COMMON_DIR / "Chart.yaml")
    refs = _ChartRefs(ref_dir, common_version)
    top_rel = f"{CHART_DIR}/{VALUES_FILE}"
    top = refs.load(top_rel)
    # app-template's own file is one $ref to the common library's values schema: that is the root.
    rel, pointer = top_rel, ""
    for _ in range(8):
        node = refs.target(rel, pointer, rel)
        if not (isinstance(node, dict) and set(node) - {"$schema", "$id", "description"} == {"$ref"}):
            break
        rel, pointer = refs.locate(node["$ref"], rel, f"{rel}#{pointer}")
    if rel != f"{COMMON_DIR}/{VALUES_FILE}" or pointer:
        _fail(top_rel, f"expected the root to be the common library's values schema, got {rel}#{pointer}")
    if "$ref" not in top:
        _fail(top_rel, "expected a $ref to the common library's values schema")
    root_doc = refs.load(rel)
    if root_doc.get("$schema", "").rstrip("#") != DRAFT7.rstrip("#"):
        _fail(rel, f"expected draft-07, found {root_doc.get('$schema')!r}")
    root = convert_chart(root_doc, rel, rel, refs)

    definitions = {}
    while refs.pending:
        key = refs.pending.pop(0)
        name = refs.names[key]
        definitions[name] = convert_chart(refs.target(*key, key[0]), key[0], f"{key[0]}#{key[1]}", refs)

    root["$schema"] = DRAFT7
    root["$comment"] = (f"Generated by tools/derive_schemas.py from the app-template {version} chart "
                        f"({CHART_DIR}/{VALUES_FILE} -> common {common_version} {VALUES_FILE} and "
                        f"schemas/*.json), every $ref resolved to a local definition. Do not edit.")
    root["definitions"] = dict(sorted(definitions.items()))
    return root


def values_readme(version: str, common_version: str) -> str:
    return "\n".join([
        "# app-template values schema (generated)",
        "",
        f"The bjw-s app-template {version} chart's `values.schema.json` as one self-contained",
        "draft-07 schema, which appforge uses (valijson) to check the `spec.values` of every",
        "app-template HelmRelease it renders (`SchemaRegistry::find_values(\"app-template\")`).",
        "**Generated, do not edit by hand.** Regenerate from the repository root:",
        "",
        "```sh",
        REGENERATE,
        "```",
        "",
        "## Source and changes",
        "",
        f"- `{CHART_DIR}/{VALUES_FILE}` is a single `$ref` to the common library's",
        f"  `{VALUES_FILE}` (common {common_version}, vendored in `{COMMON_DIR}/`), which `$ref`s",
        "  `schemas/*.json` there by URLs and relative paths. Every `$ref` target becomes one entry",
        "  of `definitions` (`<file stem>.<pointer>`, e.g. `containers.probe`), and every `$ref`",
        "  points there: the schema needs no network.",
        "- Siblings of `$ref` (the chart puts `type`/`description` there) are dropped: the chart",
        "  declares draft-07, where they are ignored (valijson ignores them as well).",
        "- `description`, `title`, `format` (int32/int64, unchecked by valijson and unsafe with it,",
        "  see `schemas/kubernetes/README.md`) and `x-kubernetes-*` keys are dropped.",
        "- Repair: common's `k8s-api.json#/core.v1.ContainerSecurityContext` wraps its schema in a",
        "  key that is no keyword, so as written it accepts anything; the wrapped schema is used, so",
        "  container `securityContext` fields are type-checked (unknown fields stay allowed).",
        "",
        "Helm validates the chart's defaults merged with the release values; app-template's own",
        "`values.yaml` sets nothing, so checking `spec.values` alone gives Helm's verdict.",
        "",
    ])


def build_values(ref_dir: Path) -> dict:
    """Return {file name: text} of the chart values schema (schemas/app-template/)."""
    version = _chart_version(ref_dir / CHART_DIR / "Chart.yaml")
    common_version = _chart_version(ref_dir / COMMON_DIR / "Chart.yaml")
    return {VALUES_FILE: dump(derive_values_schema(ref_dir)),
            "README.md": values_readme(version, common_version)}


# ---------------------------------------------------------------------------
# Output

def dump(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def readme(index: list) -> str:
    lines = [
        "# Kubernetes JSON Schemas (generated)",
        "",
        "Self-contained draft-07 JSON Schemas used by appforge to validate every rendered",
        "object with valijson. **Generated, do not edit by hand.**",
        "",
        "Regenerate from the repository root:",
        "",
        "```sh",
        REGENERATE,
        "```",
        "",
        "(`python3 tools/derive_schemas.py` uses the same defaults; add `--check` to only",
        "report stale files.) Requires Python 3.11 and PyYAML.",
        "",
        "## Sources",
        "",
        f"- Core kinds: `{K8S_SCHEMA_DIR}/<kind>.json` and `_definitions.json`",
        "  (Kubernetes 1.34 OpenAPI as JSON Schema 2020-12, strict variant: unknown fields",
        "  are rejected). Only the definitions reachable from each kind are copied, into",
        "  `definitions`, with `$ref` rewritten to `#/definitions/<name>`.",
        "- CRDs: `crds/*.yaml`, `spec.versions[].schema.openAPIV3Schema` of the served",
        "  storage version, converted from OpenAPI v3 to draft-07.",
        f"- `{KUSTOMIZE_FILE}`: hand-written in the script.",
        "",
        "Paths are relative to the reference directory (default `../shared/reference`).",
        "",
        "## Changes made to the sources",
        "",
        "- `description`, `format`, `x-kubernetes-*` and other annotation keys are dropped.",
        "  `format` is dropped because valijson 1.0 applies it to non-string values",
        "  (throws on objects/arrays, rejects `null` for `date-time`); valijson does not",
        "  check int32/int64/byte/double anyway.",
        "- Core kinds: `oneOf` made only of `{\"type\": ...}` alternatives (Quantity,",
        "  IntOrString) becomes one type list, e.g. `[\"string\", \"integer\", \"null\"]`:",
        "  the same values are accepted (plus `null`, which matched both branches and so",
        "  failed `oneOf`), and a wrong type gives one error instead of four.",
        "- Every Kubernetes object schema requires `apiVersion`, `kind` and `metadata.name`.",
        "- CRDs: `nullable` becomes a type list with `\"null\"`; `x-kubernetes-int-or-string`",
        "  becomes `type: [integer, string]` (any `pattern` still applies to strings);",
        "  `x-kubernetes-preserve-unknown-fields` allows unknown fields; every other object",
        "  with `properties` gets `additionalProperties: false`, so typos are rejected like",
        "  in the strict core schemas. `apiVersion`/`kind` are `const`; `metadata` is a",
        "  permissive object that requires a string `name`. CEL rules",
        "  (`x-kubernetes-validations`) are not checked.",
        "",
        "## Files",
        "",
        "| apiVersion | kind | file |",
        "|---|---|---|",
    ]
    for e in index:
        lines.append(f"| `{e['apiVersion']}` | {e['kind']} | `{e['file']}` |")
    lines.append("")
    return "\n".join(lines)


def build(ref_dir: Path) -> dict:
    """Return {file name: text} for everything the script owns."""
    with open(ref_dir / K8S_SCHEMA_DIR / "_definitions.json", encoding="utf-8") as f:
        defs = json.load(f)["$defs"]

    files: dict = {}
    index: list = []
    for stem, api_version, kind in CORE_KINDS:
        name = f"{stem}.json"
        files[name] = dump(derive_core(ref_dir, stem, api_version, kind, defs))
        index.append({"apiVersion": api_version, "kind": kind, "file": name})
    for filename, group, kind, version in CRDS:
        name, api_version, schema = derive_crd(ref_dir, filename, group, kind, version)
        files[name] = dump(schema)
        index.append({"apiVersion": api_version, "kind": kind, "file": name})
    files[KUSTOMIZE_FILE] = dump(kustomize_schema())
    index.append({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                  "file": KUSTOMIZE_FILE})

    index.sort(key=lambda e: (e["apiVersion"], e["kind"], e["file"]))
    files["index.json"] = dump(index)
    files["README.md"] = readme(index)
    return files


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                   help="reference directory (default: ../shared/reference relative to the repo root)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="output directory (default: schemas/kubernetes under the repo root)")
    p.add_argument("--values-out", type=Path, default=DEFAULT_VALUES_OUT,
                   help="output directory of the chart values schema (default: schemas/app-template)")
    p.add_argument("--check", action="store_true",
                   help="do not write; exit 1 if any output file is missing or differs")
    args = p.parse_args(argv)

    try:
        outputs = [(args.out, build(args.reference)), (args.values_out, build_values(args.reference))]
    except (ConversionError, OSError, KeyError, yaml.YAMLError, json.JSONDecodeError) as e:
        print(f"derive_schemas: error: {e}", file=sys.stderr)
        return 2

    stale = []
    report = []
    for out_dir, files in outputs:
        for name in sorted(files):
            target = out_dir / name
            try:
                current = target.read_text(encoding="utf-8")
            except FileNotFoundError:
                current = None
            fresh = current == files[name]
            report.append((target, fresh))
            if fresh:
                continue
            stale.append(target)
            if not args.check:
                out_dir.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{name}.tmp")
                tmp.write_text(files[name], encoding="utf-8")
                os.replace(tmp, target)

    if args.check:
        for target in stale:
            print(f"stale: {target}", file=sys.stderr)
        return 1 if stale else 0
    for target, fresh in report:
        print(f"{'unchanged' if fresh else 'wrote'} {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
