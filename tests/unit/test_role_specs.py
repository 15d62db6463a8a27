# -*- coding: utf-8 -*-
"""Every public role variable is declared in the role's defaults AND in its
argument spec, with the same default (STYLE: "CI checks the two agree"), and
the preflight entry point shares the main options; other entry points
declare their own inputs."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = sorted(p for p in (Path(__file__).resolve().parents[2] / "roles").iterdir() if p.is_dir())


def load(path):
    with open(path) as fh:
        return yaml.safe_load(fh) or {}


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_defaults_and_argument_specs_agree(role):
    defaults = load(role / "defaults" / "main.yml")
    specs = load(role / "meta" / "argument_specs.yml")["argument_specs"]
    options = specs["main"]["options"]
    assert sorted(defaults) == sorted(options), "defaults and argument_specs list different variables"
    for name, spec in options.items():
        assert name.startswith(role.name + "_"), f"{name} lacks the role prefix"
        assert spec.get("description"), f"{name} has no description"
        assert spec.get("type"), f"{name} has no type"
        value = defaults[name]
        if isinstance(value, str) and "{{" in value:
            # Templated defaults cannot be checked by the spec; it must not claim another value.
            assert "default" not in spec or spec["default"] == value, name
            continue
        assert spec.get("default") == value, f"{name}: defaults has {value!r}, spec has {spec.get('default')!r}"
        if "choices" in spec and spec["type"] == "list":
            assert set(value) <= set(spec["choices"]), f"{name}: default {value!r} is not within its choices"
        elif "choices" in spec:
            assert value in spec["choices"], f"{name}: default {value!r} is not one of its choices"
    # preflight takes the main options (and may add inputs of its own).
    pre = specs["preflight"].get("options") or {}
    assert all(pre.get(name) == spec for name, spec in options.items()), "preflight does not share the main options"
    # Other entry points (tasks_from of the playbooks) take the main options
    # (an anchor: a part of what main does), inputs of their own passed with
    # the include, or both; each own input is prefixed, typed and described,
    # and none redefines a main option.
    for entry, body in specs.items():
        if entry == "main" or body.get("options") == options:
            continue
        assert body.get("short_description") and body.get("description"), f"entry point {entry} is not described"
        own = dict(body.get("options") or {})
        if all(own.get(name) == spec for name, spec in options.items()):
            own = {name: spec for name, spec in own.items() if name not in options}
        for name, spec in own.items():
            assert name.startswith(role.name + "_"), f"{entry}: {name} lacks the role prefix"
            assert spec.get("description") and spec.get("type"), f"{entry}: {name} has no description or type"
            assert name not in options, f"{entry}: {name} is also a main option"
            assert name not in defaults, f"{entry}: {name} is an input of the include, not a role default"
