"""The Backstage form and appforge agree: a corpus of requests goes through ajv (draft-07, as
Backstage's form validator configures it) with the generated form schema, and through
`appforge validate`.

- Every request appforge accepts, the form accepts.
- Every request the form accepts but appforge rejects is rejected only for reasons the form
  cannot express: the semantic-only codes listed below, fields the template fills in (operator,
  ids, timestamps, workflow outputs), or fields the form does not show for the chosen pattern.

Needs node and the npm packages of tests/integration/package.json:
    npm ci --prefix tests/integration
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SRC = Path(os.environ.get("APPFORGE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
HERE = Path(__file__).resolve().parent

# The rules the form cannot express, by workflow, with the reason. The generator exports the
# same list (x-appforge-semantic-only); the test pins it so a change is deliberate.
SEMANTIC_ONLY = {
    "gitops": {
        "image.not_found": "needs a registry lookup",
        "image.denied": "needs a registry lookup",
        "image.unreachable": "needs a registry lookup",
        "image.not_allowed": "needs a registry lookup",
        "image.format": "digest lengths per algorithm, 255-character names, bare image ids",
        "backup.schedule.format": "cron grammar (the volsync subset)",
        "storage.nasSubpath.format": "path rules beyond traversal",
        "storage.s3Bucket.format": "IP-shaped names, reserved prefixes and suffixes, '..'",
        "schema.unknown_field": "a multi-page form cannot forbid keys of other pages",
    },
    "nas": {
        "schema.unknown_field": "a multi-page form cannot forbid keys of other pages",
        "komodo.storageLocation.format": "path canonical form",
        "komodo.description.control": "control characters in free text",
    },
}


def cli():
    path = os.environ.get("APPFORGE_CLI")
    if not path or not Path(path).is_file():
        pytest.fail("APPFORGE_CLI must name the built appforge binary")
    return path


def node():
    exe = shutil.which("node")
    if not exe:
        pytest.fail("node is not installed (Debian package: nodejs)")
    if not (HERE / "node_modules" / "ajv").is_dir() or not (HERE / "node_modules" / "yaml").is_dir():
        pytest.fail("ajv/yaml npm packages missing: run `npm ci --prefix tests/integration`")
    return exe


def corpus():
    files = []
    for d in [SRC / "tests/data/requests/valid", SRC / "tests/data/requests/invalid", SRC / "examples/requests"]:
        for f in sorted(d.glob("*")):
            if f.suffix in (".yaml", ".json") and not f.name.endswith(".expected.json"):
                files.append(f)
    return files


def profile_of(f):
    """A corpus request may name its profile in a sibling <name>.profile file (path under tests/data)."""
    p = f.with_suffix(".profile")
    if not p.exists():
        return None
    target = SRC / "tests/data" / p.read_text().strip()
    assert target.is_file(), f"{p} names a missing profile {target}"
    return target


def form_schema(workflow, profile):
    args = [cli(), "backstage-template", "--workflow", workflow, "--form-schema"]
    if profile:
        args += ["--profile", str(profile)]
    r = subprocess.run(args, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def ajv(schema, files, extra):
    payload = {
        "schema": schema,
        "strip": schema["x-appforge-template-filled"],
        "extra": extra,
        "files": [str(f) for f in files],
    }
    r = subprocess.run(
        [node(), str(HERE / "ajv_check.mjs")], input=json.dumps(payload), capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stderr
    return {Path(x["file"]): x for x in json.loads(r.stdout)}


def appforge_errors(files, profile):
    args = [cli(), "validate", "--output", "json"] + [str(f) for f in files]
    if profile:
        args += ["--profile", str(profile)]
    r = subprocess.run(args, capture_output=True, text=True, check=False)
    assert r.returncode in (0, 1, 2), r.stderr
    out = {f: [] for f in files}
    for d in json.loads(r.stdout):
        if d["severity"] == "error":
            out[Path(d["file"])].append(d)
    return out


def offered(schema, data):
    """JSON pointers the form shows for this data: page fields plus the active pattern branches."""
    out = set()

    def add(props, prefix):
        for key, sub in props.items():
            out.add(prefix + "/" + key)
            if isinstance(sub, dict) and "properties" in sub:
                add(sub["properties"], prefix + "/" + key)

    for page in schema["allOf"]:
        add(page.get("properties", {}), "")
        for selector, dep in page.get("dependencies", {}).items():
            chosen = data.get(selector) if isinstance(data, dict) else None
            for branch in dep.get("oneOf", []):
                if chosen in branch["properties"][selector].get("enum", []):
                    add({k: v for k, v in branch["properties"].items() if k != selector}, "")
    return out


def check_workflow(workflow):
    files = corpus()
    groups = {}
    for f in files:
        groups.setdefault(profile_of(f), []).append(f)
    stats = {"both_accept": 0, "both_reject": 0, "form_only_accepts": 0, "checked": 0}
    problems = []
    for profile, group in groups.items():
        schema = form_schema(workflow, profile)
        assert set(schema["x-appforge-semantic-only"]) == set(SEMANTIC_ONLY[workflow])
        filled = schema["x-appforge-template-filled"]
        form = ajv(schema, group, {"repoUrl": "github.com?owner=lab&repo=gitops"} if workflow == "gitops" else {})
        errors = appforge_errors(group, profile)
        for f in group:
            res = form[f]
            data = res["data"]
            is_nas = isinstance(data, dict) and "komodoRequest" in data
            if res["parsed"] and is_nas != (workflow == "nas"):
                continue  # the other workflow's request
            if not res["parsed"]:
                # What ajv's YAML reader refuses (duplicate keys), appforge must refuse too.
                if not errors[f]:
                    problems.append(f"{f}: appforge accepts a document the YAML 1.2 reader rejects")
                continue
            stats["checked"] += 1
            app_ok = not errors[f]
            if app_ok and not res["valid"]:
                problems.append(f"{f}: appforge accepts it but the form rejects it: {res['errors']}")
            elif app_ok:
                stats["both_accept"] += 1
            elif not res["valid"]:
                stats["both_reject"] += 1
            else:
                stats["form_only_accepts"] += 1
                shown = offered(schema, data)
                for d in errors[f]:
                    path = d["path"]
                    if d["code"] in SEMANTIC_ONLY[workflow]:
                        continue
                    if any(path == p or path.startswith(p + "/") for p in filled):
                        continue
                    if path and path not in shown:
                        continue  # a field the form does not show for this choice
                    problems.append(f"{f}: the form accepts it but appforge rejects it with {d['code']} at {path}")
    return stats, problems


@pytest.mark.parametrize("workflow", ["gitops", "nas"])
def test_form_and_appforge_agree(workflow):
    stats, problems = check_workflow(workflow)
    assert not problems, "\n".join(problems)
    assert stats["both_accept"] >= 3, stats
    assert stats["both_reject"] >= 3, stats


def test_form_rejects_most_invalid_gitops_requests():
    """The form is not vacuous: most invalid GitOps requests fail already in the form."""
    stats, _ = check_workflow("gitops")
    assert stats["both_reject"] > 2 * stats["form_only_accepts"], stats


def test_templates_are_valid_yaml_for_both_workflows(tmp_path):
    r = subprocess.run(
        [cli(), "backstage-template", "--out", str(tmp_path), "--output", "json"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    for wf in ("gitops", "nas"):
        t = json.loads((tmp_path / wf / "template.json").read_text())
        assert t["apiVersion"] == "scaffolder.backstage.io/v1beta3"
        assert t["kind"] == "Template"
        # Every page compiles in ajv (patterns use the "u" flag there, stricter than C++).
        res = ajv({"allOf": t["spec"]["parameters"], "x-appforge-template-filled": []}, [], {})
        assert res == {}
