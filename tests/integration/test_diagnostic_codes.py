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
