"""Every diagnostic code the sources can emit is named by a test (issue 19).

tools/diagnostic_codes.py reads the codes from libappforge/ and cli/ (plain literals, bounded()
prefixes, the known compositions) and fails loudly when it cannot place a literal or finds
suspiciously few codes. tests/diagnostic_codes_pending.txt lists codes whose tests land on another
branch (only komodo.* ones); the lead empties it when those tests are merged.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("diagnostic_codes", ROOT / "tools" / "diagnostic_codes.py")
dc = importlib.util.module_from_spec(_spec)
sys.modules["diagnostic_codes"] = dc
_spec.loader.exec_module(dc)


def test_the_scanner_sees_every_way_codes_are_written():
    codes = dc.scan()
    assert len(codes) >= dc.MIN_CODES
    # One of each way a code is written: a literal in the core, the edge library and the CLI, a
    # bounded() prefix, a composition, a storage pattern's required field, a schema re-prefix.
    for code in ("verify.selector", "parse.tag", "git.not-a-repo", "kit.symlink", "io.read", "app.id.length",
                 "namespace.control", "resources.cpu.format", "pattern.ingress.unknown",
                 "storage.nasSubpath.required", "verify.schema.type", "profile.schema.enum", "pattern.schema.required"):
        assert code in codes, code
    for not_code in ("user.name", "policy.allowRbac", "risk.policy", "deployment.yaml", "ghcr.io", "app.id"):
        assert not_code not in codes, not_code


def test_pending_codes_are_komodo_ones_still_untested():
    pending = dc.pending()
    assert all(c.startswith("komodo.") for c in pending), sorted(c for c in pending if not c.startswith("komodo."))
    codes = dc.scan()
    named = dc.named_by_tests(codes)
    unknown = sorted(c for c in pending if c not in codes)
    assert not unknown, f"tests/diagnostic_codes_pending.txt lists codes the sources no longer emit: {unknown}"
    stale = sorted(c for c in pending if named[c])
    assert not stale, f"tests now name these; remove them from tests/diagnostic_codes_pending.txt: {stale}"


def test_every_diagnostic_code_is_named_by_a_test():
    codes = dc.scan()
    named = dc.named_by_tests(codes)
    pending = dc.pending()
    missing = sorted(c for c in codes if not named[c] and c not in pending)
    assert not missing, (
        f"{len(missing)} of {len(codes)} diagnostic codes are named by no test under tests/ "
        "(trigger each and assert its code, pointer and message):\n  "
        + "\n  ".join(f"{c}  ({codes[c][0]})" for c in missing))


def _copy_sources(tmp_path: Path) -> Path:
    import shutil

    for d in ("libappforge", "cli", "schemas"):
        shutil.copytree(ROOT / d, tmp_path / d)
    return tmp_path


def test_the_scanner_fails_loudly_on_a_composition_it_does_not_know(tmp_path: Path, monkeypatch):
    root = _copy_sources(tmp_path)
    (root / "libappforge/src/new_rule.cpp").write_text(
        'void f(Sink& s, const std::string& k) { s.error("", std::string("quota.") + k, "over"); }\n')
    monkeypatch.setattr(dc, "ROOT", root)
    try:
        dc.scan()
    except SystemExit as e:
        assert "new_rule.cpp:1: 'quota.' composes a code at a site COMPOSED does not list" in str(e), str(e)
    else:
        raise AssertionError("scan() accepted a composed code it cannot expand")


def test_the_scanner_fails_loudly_when_it_finds_few_codes(tmp_path: Path, monkeypatch):
    root = _copy_sources(tmp_path)
    # As if codes were now written some way the scanner does not read: most of them vanish.
    for f in list((root / "libappforge").rglob("*.cpp")) + list((root / "cli").rglob("*.cpp")):
        if f.name != "diagnostic.cpp":
            f.write_text("")
    monkeypatch.setattr(dc, "ROOT", root)
    try:
        dc.scan()
    except SystemExit as e:
        assert "codes found (expected at least 150): the scanner no longer sees how codes are written" in str(e), str(e)
    else:
        raise AssertionError("scan() accepted a source tree with far fewer codes")


def test_a_moved_composition_site_is_noticed(tmp_path: Path, monkeypatch):
    root = _copy_sources(tmp_path)
    f = root / "libappforge/src/engine.cpp"
    f.write_text(f.read_text().replace('d.code = "profile." + d.code;', 'd.code = std::string("profile.") + d.code;'))
    monkeypatch.setattr(dc, "ROOT", root)
    try:
        dc.scan()
    except SystemExit as e:
        assert 'composition snippet found 0 times (want 1): d.code = "profile." + d.code;' in str(e), str(e)
    else:
        raise AssertionError("scan() did not notice a composition site it no longer finds")
