"""The appforge package: requests in and out, validate, render, write, the Komodo payload,
errors, threads, and agreement with the CLI that `pip install` puts on PATH."""

import json
import math
import os
import subprocess
import threading
from collections import OrderedDict
from pathlib import Path

import pytest

import appforge

SRC = Path(__file__).resolve().parents[2]
EXAMPLES = SRC / "examples" / "requests"
PAPERLESS = EXAMPLES / "paperless-longhorn-backup.yaml"
WHOAMI = EXAMPLES / "whoami-internal.yaml"
KOMODO = EXAMPLES / "myapp-komodo.yaml"


def test_public_names_are_exported():
    assert set(appforge.__all__) <= set(dir(appforge))
    assert issubclass(appforge.ValidationError, appforge.AppforgeError)
    assert issubclass(appforge.ValidationError, ValueError)


def test_version_is_the_core_version_and_the_wheel_version():
    from importlib.metadata import version

    assert appforge.__version__ == appforge._core.version()
    assert version("appforge") == appforge.__version__
    cmake = (SRC / "CMakeLists.txt").read_text()
    assert f"project(appforge VERSION {appforge.__version__}" in cmake


# --- requests ---------------------------------------------------------------------------

def test_load_request_from_yaml_json_dict_and_path_is_the_same_request():
    text = PAPERLESS.read_text()
    from_yaml = appforge.load_request(text)
    from_path = appforge.load_request(PAPERLESS)
    from_json = appforge.load_request(from_yaml.to_json())
    from_dict = appforge.load_request(from_yaml.to_dict())
    from_bytes = appforge.load_request(text.encode())
    assert from_yaml == from_path == from_json == from_dict == from_bytes
    assert from_yaml.kind == "app" and from_yaml.app_name == "paperless"
    assert from_yaml["storageConfig"] == {"sizeGi": 20}


def test_requests_write_back_exactly():
    r = appforge.load_request(PAPERLESS)
    again = appforge.load_request(r.to_yaml())
    assert again == r and again.to_yaml() == r.to_yaml()
    assert json.loads(r.to_json()) == r.to_dict()
    # deterministic: sorted keys whatever order the dict was built in
    shuffled = OrderedDict(reversed(list(r.to_dict().items())))
    assert appforge.load_request(shuffled).to_yaml() == r.to_yaml()


def test_a_request_is_editable_and_to_dict_is_a_copy():
    r = appforge.load_request(WHOAMI)
    d = r.to_dict()
    d["appName"] = "changed"
    assert r.app_name == "whoami"
    r["appName"] = "whoami2"
    assert r.app_name == "whoami2" and "appName: whoami2" in r.to_yaml()
    del r["appName"]
    assert "appName" not in r and r.app_name is None


def test_komodo_requests_are_recognised_by_the_core():
    assert appforge.load_request(KOMODO).kind == "komodo"
    assert appforge.load_request({"komodoRequest": {}}).kind == "komodo"


@pytest.mark.parametrize("text,code", [
    ("appName: [1, 2\n", "parse."),
    ("a: &x 1\nb: *x\n", "parse.alias"),
    ("a: 1\na: 2\n", "parse.duplicate_key"),
])
def test_unreadable_text_raises_validation_error_with_parse_diagnostics(text, code):
    with pytest.raises(appforge.ValidationError) as info:
        appforge.load_request(text)
    assert info.value.diagnostics and info.value.diagnostics[0].code.startswith(code)
    assert code.rstrip(".") in str(info.value) or info.value.diagnostics[0].message in str(info.value)


def test_a_document_that_is_not_a_mapping_is_refused():
    with pytest.raises(appforge.ValidationError, match="mapping"):
        appforge.load_request("- a\n- b\n")


@pytest.mark.parametrize("value,exc", [
    ({1: "x"}, TypeError),
    ({"a": object()}, TypeError),
    ({"a": math.nan}, ValueError),
    ({"a": 2 ** 70}, ValueError),
    ({"a": {1, 2}}, TypeError),
])
def test_values_yaml_cannot_hold_are_refused(value, exc):
    with pytest.raises(exc):
        appforge.load_request(value)


def test_load_request_refuses_other_types():
    with pytest.raises(TypeError):
        appforge.load_request(42)  # type: ignore[arg-type]


# --- validate ---------------------------------------------------------------------------

def test_validate_returns_diagnostics_naming_the_field(engine):
    r = appforge.load_request(WHOAMI)
    assert engine.validate(r) == []
    r["appName"] = "Bad_Name"
    ds = engine.validate(r)
    assert ds and all(isinstance(d, appforge.Diagnostic) for d in ds)
    assert ds[0].path == "/appName" and ds[0].severity == "error" and ds[0].code.startswith("app.name")
    assert str(ds[0]).startswith("/appName: ")


def test_validate_reports_unreadable_text_instead_of_raising(engine):
    ds = engine.validate("{unclosed: 1\n")
    assert ds and ds[0].code.startswith("parse.")


def test_validate_rejects_non_request_types(engine):
    with pytest.raises(TypeError):
        engine.validate(3.5)  # type: ignore[arg-type]


# --- render -----------------------------------------------------------------------------

def test_render_returns_the_bundle_the_cli_writes(engine, cli, tmp_path):
    bundle = engine.render(appforge.load_request(PAPERLESS))
    assert bundle.app_name == "paperless" and bundle.namespace == "documents"
    assert bundle.filenames[-1] == "kustomization.yaml"
    assert "kind: Deployment" in bundle["deployment.yaml"]
    assert len(bundle) == len(list(bundle)) == len(bundle.files)
    with pytest.raises(KeyError):
        bundle["nope.yaml"]

    subprocess.run([cli, "render", str(PAPERLESS), "--out", str(tmp_path / "cli")], check=True)
    written = bundle.write(tmp_path / "py")
    assert written == tmp_path / "py"
    cli_files = sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert sorted(bundle.filenames) == cli_files
    for name in cli_files:
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    stream = subprocess.run([cli, "render", str(PAPERLESS)], check=True, capture_output=True, text=True).stdout
    assert bundle.stream() == stream


def test_render_is_deterministic_across_inputs(engine):
    a = engine.render(PAPERLESS.read_text())
    b = engine.render(appforge.load_request(PAPERLESS).to_dict())
    assert a.files == b.files


def test_render_of_an_invalid_request_raises_with_all_diagnostics(engine):
    r = appforge.load_request(WHOAMI)
    r["appName"] = "X"
    r["containerImage"] = "not an image"
    with pytest.raises(appforge.ValidationError) as info:
        engine.render(r)
    paths = {d.path for d in info.value.errors}
    assert {"/appName", "/containerImage"} <= paths
    with pytest.raises(ValueError):
        engine.render(r)


def test_render_of_a_komodo_request_names_the_mistake(engine):
    with pytest.raises(appforge.ValidationError) as info:
        engine.render(KOMODO.read_text())
    assert [d.code for d in info.value.errors] == ["render.kind"]


def test_write_refuses_a_non_empty_folder_unless_told(engine, tmp_path):
    bundle = engine.render(WHOAMI.read_text())
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError):
        bundle.write(target)
    assert (target / "keep.txt").exists()
    bundle.write(target, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == sorted(bundle.filenames)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    with pytest.raises(FileExistsError):
        bundle.write(target / "kustomization.yaml")


def test_render_keeps_warnings_on_the_bundle(engine):
    f = SRC / "tests" / "data" / "requests" / "valid" / "warning-large-size.yaml"
    bundle = engine.render(f.read_text())
    assert [d.severity for d in bundle.warnings] == ["warning"]


def test_threads_share_one_engine_and_get_identical_bundles(engine):
    text = PAPERLESS.read_text()
    expected = engine.render(text).files
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(engine.render(text).files)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 20
    assert all(r == expected for r in results)


# --- Komodo -----------------------------------------------------------------------------

def test_komodo_payload_matches_the_cli(engine, cli):
    payload = engine.komodo_payload(appforge.load_request(KOMODO))
    assert set(payload) == {"appName", "appVersion", "appConfig", "storageLocation"}
    out = subprocess.run([cli, "komodo", "payload", str(KOMODO)], check=True, capture_output=True, text=True)
    assert json.loads(out.stdout) == payload


def test_komodo_payload_fills_the_storage_location_from_the_profile(engine):
    r = appforge.load_request(KOMODO)
    doc = r.to_dict()
    del doc["komodoRequest"]["storageLocation"]
    root = engine.profile["nas"]["appRoots"][0]
    assert engine.komodo_payload(doc)["storageLocation"] == f"{root}/myapp"
    assert engine.komodo_payload(r)["storageLocation"] == "/mnt/pool/apps/myapp"  # r is unchanged


def test_komodo_payload_errors(engine):
    with pytest.raises(appforge.AppforgeError, match="GitOps request") as info:
        engine.komodo_payload(WHOAMI.read_text())
    assert not isinstance(info.value, appforge.ValidationError)
    with pytest.raises(appforge.ValidationError) as bad:
        engine.komodo_payload({"komodoRequest": {}})
    assert bad.value.errors


# --- engines ----------------------------------------------------------------------------

def test_engine_profile_from_text_dict_and_path_agree(src):
    path = src / "tests" / "data" / "profiles" / "production.yaml"
    by_path = appforge.Engine(profile=path)
    by_text = appforge.Engine(profile=path.read_text())
    by_dict = appforge.Engine(profile=appforge.load_request(path).to_dict())
    assert by_path.profile == by_text.profile == by_dict.profile
    assert by_path.profile != appforge.Engine().profile


def test_a_bad_profile_raises_validation_error_naming_the_field():
    with pytest.raises(appforge.ValidationError) as info:
        appforge.Engine(profile="publicZone: 42\n")
    assert any("publicZone" in d.path or "publicZone" in d.message for d in info.value.diagnostics)
    with pytest.raises(appforge.ValidationError):
        appforge.Engine(profile="name: [unclosed")
    with pytest.raises(TypeError):
        appforge.Engine(profile=42)  # type: ignore[arg-type]


def test_patterns_directories_load_over_the_catalog(src, tmp_path):
    with pytest.raises(appforge.ValidationError) as info:
        appforge.Engine(patterns=tmp_path / "missing")
    assert info.value.errors[0].code == "pattern.dir"
    base = appforge.Engine().patterns
    assert "longhorn-persistent" in base["storage"]
    same = appforge.Engine(patterns=[str(tmp_path)])
    assert same.patterns == base


def test_the_cli_is_installed_with_the_package(cli):
    out = subprocess.run([cli, "--version"], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == f"appforge {appforge.__version__}"
