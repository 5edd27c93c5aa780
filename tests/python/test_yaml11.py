"""appforge's YAML, read back by a real YAML 1.1 reader (PyYAML), not by appforge's own parser.

kubectl, many GitOps tools and PyYAML resolve plain `yes`/`on`/`no`/`~`/`0123`/`12:30`/dates as
booleans, nulls, octal or sexagesimal numbers and timestamps (YAML 1.1). A string that would
change that way must come out quoted; appforge's own reader is YAML 1.2 and cannot tell.
"""

from __future__ import annotations

import yaml  # PyYAML: a YAML 1.1 resolver (no pytest skip: a missing reader is a failure)

from appforge import _core

# Every plain scalar a YAML 1.1 reader would not keep as the same string, and a few that only
# need quoting for the YAML syntax.
YAML11_CHANGES = [
    "y", "Y", "n", "N", "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
    "true", "True", "false", "FALSE", "~", "null", "Null", "NULL", "", "0123", "017", "0x1F", "0b101",
    "1_000", "+1", "-1", "1e3", "1.5", ".5", "12:30", "12:30:00", "190:20:30", ".inf", "-.inf", "+.INF",
    ".nan", ".NaN", "2026-01-25", "2026-01-25T10:00:00Z", "2026-1-5", "<<", "=",
]
SYNTAX = ["- x", "a: b", "#x", "x #y", "*a", "&a", "!t", "{a}", "[a]", "'q'", '"q"', "line\nbreak", " lead",
          "trail ", "---", "...", "@x", "%x", "|", ">", "?", "? x", "a\tb"]


def test_pyyaml_is_a_yaml_1_1_reader():
    # The oracle itself: unquoted, these words are not strings to PyYAML.
    for word in ("yes", "on", "NO", "~", "0123", "12:30", "2026-01-25", "0b101", "1_000", "y"):
        loaded = yaml.safe_load(f"k: {word}\n")["k"]
        if word == "y":
            assert loaded == "y"  # PyYAML keeps y/n as strings (the 1.1 spec lists them as booleans)
        else:
            assert not isinstance(loaded, str), word


def test_to_yaml_keeps_every_string_a_string_for_a_yaml_1_1_reader():
    for value in YAML11_CHANGES + SYNTAX:
        doc = {"operatorId": value, "nested": {"list": [value], "k": value}}
        text = _core.to_yaml(doc)
        back = yaml.safe_load(text)
        assert back == doc, f"{value!r} came back as {back!r} from:\n{text}"
        assert type(back["operatorId"]) is str, text


def test_request_to_yaml_through_the_package():
    from appforge import load_request

    for value in ("yes", "on", "NO", "0123", "2026-01-25", "12:30"):
        req = load_request({"operatorId": value, "appName": "whoami", "containerImage": "traefik/whoami:v1.10.1",
                            "storagePattern": "ephemeral", "ingressPattern": "internal-only",
                            "backupStrategy": "none"})
        back = yaml.safe_load(req.to_yaml())
        assert back["operatorId"] == value and type(back["operatorId"]) is str, req.to_yaml()
