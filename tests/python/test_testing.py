"""appforge.testing: pattern cases from Python, through the C++ core."""

import os
import shutil
from pathlib import Path

import pytest

from appforge import Engine
from appforge.backstage import form_schema, template
from appforge.testing import assert_case, cases, find_cases, run_case, unified_diff

SRC = Path(os.environ.get("APPFORGE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
CASES = SRC / "tests" / "patterns" / "cases"
ENGINE = Engine()


@pytest.mark.parametrize("case", cases(CASES))
def test_builtin_catalog_cases_pass(case):
    result = assert_case(case, ENGINE)
    assert result.passed
    assert result.actual  # it rendered something (files or diagnostics.json)


def test_cases_lists_every_folder_with_readable_ids():
    params = cases(CASES)
    ids = [p.id for p in params]
    assert ids == sorted(ids)
    assert "storage-longhorn" in ids and "fail-backup-ephemeral" in ids
    assert [p.values[0] for p in params] == find_cases(CASES)


def test_cases_refuses_an_empty_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        cases(tmp_path)


def test_changed_template_fails_with_a_unified_diff(tmp_path):
    src = (SRC / "libappforge/patterns/storage/longhorn-persistent.yaml").read_text()
    (tmp_path / "storage").mkdir()
    (tmp_path / "storage" / "longhorn-persistent.yaml").write_text(src.replace("- ReadWriteOnce", "- ReadWriteMany"))
    changed = Engine(patterns=tmp_path)
    result = run_case(CASES / "storage-longhorn", changed)
    assert not result.passed
    assert [(d.kind, d.path) for d in result.diffs] == [("changed", "persistentvolumeclaim.yaml")]
    assert "\n-    - ReadWriteOnce\n+    - ReadWriteMany\n" in result.diffs[0].diff
    with pytest.raises(AssertionError, match="persistentvolumeclaim.yaml"):
        assert_case(CASES / "storage-longhorn", changed, update=False)
    assert run_case(CASES / "storage-ephemeral", changed).passed


def test_update_rewrites_expected_files(tmp_path):
    case = tmp_path / "case"
    shutil.copytree(CASES / "storage-nas-mount", case)
    (case / "expected" / "service.yaml").unlink()
    (case / "expected" / "stale.yaml").write_text("x: 1\n")
    before = run_case(case, ENGINE)
    assert sorted((d.kind, d.path) for d in before.diffs) == [("missing", "stale.yaml"), ("unexpected", "service.yaml")]
    after = run_case(case, ENGINE, update=True)
    assert after.passed
    assert not (case / "expected" / "stale.yaml").exists()
    assert (case / "expected" / "service.yaml").read_text() == after.actual["service.yaml"]


def test_update_variable_in_the_environment_rewrites_nothing(tmp_path, monkeypatch):
    # A test run that inherits APPFORGE_UPDATE=1 must still compare and fail, and leave the
    # expected files as they were: only update=True rewrites them.
    case = tmp_path / "case"
    shutil.copytree(CASES / "storage-nas-mount", case)
    (case / "expected" / "service.yaml").write_text("kind: Service\n")
    before = {p.name: p.read_bytes() for p in (case / "expected").iterdir()}
    monkeypatch.setenv("APPFORGE_UPDATE", "1")
    with pytest.raises(AssertionError, match="service.yaml"):
        assert_case(case, ENGINE)
    assert {p.name: p.read_bytes() for p in (case / "expected").iterdir()} == before
    with pytest.raises(TypeError):
        assert_case(case, ENGINE, update=None)  # type: ignore[arg-type]
    assert assert_case(case, ENGINE, update=True).passed


def test_problems_are_reported_not_raised(tmp_path):
    result = run_case(tmp_path, ENGINE)
    assert not result.passed
    assert [p.code for p in result.problems] == ["kit.request.missing"]


def test_unified_diff_is_the_cores():
    assert unified_diff("a\n", "a\n") == ""
    assert unified_diff("a\nb\n", "a\nc\n", "x", "y") == "--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"


def test_backstage_template_from_python():
    t = template("gitops", ENGINE)
    assert t["kind"] == "Template"
    storage = t["spec"]["parameters"][1]["properties"]["storagePattern"]
    assert storage["enum"] == ENGINE.patterns["storage"]
    assert template("nas", ENGINE)["spec"]["steps"][-1]["action"] == "appforge:komodo-deploy"
    assert form_schema("gitops", ENGINE)["$schema"] == "http://json-schema.org/draft-07/schema#"
    with pytest.raises(ValueError):
        template("helm", ENGINE)
