"""The request corpus (tests/data/requests) through Python: exactly the diagnostics the C++
corpus test asserts, from text, from dicts and through the CLI installed with the package."""

import json
import subprocess
from pathlib import Path

import pytest

import appforge

SRC = Path(__file__).resolve().parents[2]
DATA = SRC / "tests" / "data"


def corpus(which):
    files = sorted(p for p in (DATA / "requests" / which).iterdir()
                   if p.suffix in (".yaml", ".json") and not p.name.endswith(".expected.json"))
    return [pytest.param(p, id=p.name) for p in files]


_ENGINES = {}


def engine_for(request: Path) -> appforge.Engine:
    side = request.with_suffix(".profile")
    profile = DATA / side.read_text().strip() if side.exists() else None
    key = str(profile)
    if key not in _ENGINES:
        _ENGINES[key] = appforge.Engine(profile=profile)
    return _ENGINES[key]


def expected(request: Path):
    path = request.with_name(request.stem + ".expected.json")
    assert path.exists(), f"{path} is missing: every corpus request records its diagnostics"
    return [appforge.Diagnostic(**d) for d in json.loads(path.read_text())]


def test_corpus_is_there():
    assert len(corpus("valid")) >= 20 and len(corpus("invalid")) >= 60


@pytest.mark.parametrize("request_file", corpus("valid"))
def test_valid_request_has_exactly_its_recorded_diagnostics(request_file):
    ds = engine_for(request_file).validate(request_file.read_text())
    assert ds == expected(request_file)
    assert not any(d.is_error for d in ds)
    assert engine_for(request_file).is_valid(appforge.load_request(request_file))


@pytest.mark.parametrize("request_file", corpus("invalid"))
def test_invalid_request_has_exactly_its_recorded_diagnostics(request_file):
    ds = engine_for(request_file).validate(request_file.read_bytes())
    assert ds == expected(request_file)
    assert any(d.is_error for d in ds)


@pytest.mark.parametrize("request_file", corpus("valid") + corpus("invalid"))
def test_a_dict_gets_the_same_diagnostics_as_its_text(request_file):
    """Python callers pass dicts; the core must see exactly the document the text holds."""
    try:
        request = appforge.load_request(request_file)
    except appforge.ValidationError as e:
        if e.diagnostics:  # unreadable text: the parse diagnostics are the recorded ones
            assert e.diagnostics == expected(request_file)
            assert all(d.code.startswith("parse.") for d in e.errors)
        else:  # readable but not a mapping: the engine reports the shape
            assert "mapping" in str(e)
            assert [d.code for d in expected(request_file)] == ["schema.type"]
        return
    assert engine_for(request_file).validate(request.to_dict()) == expected(request_file)


@pytest.mark.parametrize("request_file", corpus("invalid"))
def test_render_raises_with_the_same_diagnostics(request_file):
    with pytest.raises(appforge.ValidationError) as info:
        engine_for(request_file).render(request_file.read_text())
    assert isinstance(info.value, ValueError)
    assert info.value.diagnostics == expected(request_file)


def test_python_and_the_cli_report_the_same_diagnostics(cli, tmp_path):
    files = [p.values[0] for p in corpus("invalid") if not p.values[0].with_suffix(".profile").exists()]
    out = subprocess.run([cli, "validate", "--output", "json", *map(str, files)],
                         capture_output=True, text=True, check=False)
    assert out.returncode in (1, 2), out.stderr
    by_file = {}
    for d in json.loads(out.stdout):
        by_file.setdefault(d.pop("file"), []).append(appforge.Diagnostic(**d))
    engine = appforge.Engine()
    for f in files:
        assert by_file.get(str(f), []) == engine.validate(f.read_text()), f.name
