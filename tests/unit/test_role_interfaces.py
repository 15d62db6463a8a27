# -*- coding: utf-8 -*-
"""Roles talk to each other through declared interfaces (issue 16): a
role's private names (``_etcd_<role>_*``) appear only inside that role, and
every ``tasks_from`` a playbook or role uses is an entry point declared in
that role's meta/argument_specs.yml."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())
PRIVATE = re.compile(r"(?<![A-Za-z0-9_])_(etcd_[a-z]+)_[a-z0-9_]+")


def yaml_files(*dirs):
    for base in dirs:
        yield from sorted((ROOT / base).rglob("*.yml"))


def test_private_names_stay_in_their_role():
    leaks = []
    for role in ROLES:
        for path in yaml_files(f"roles/{role}"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for match in PRIVATE.finditer(line):
                    if match.group(1) in ROLES and match.group(1) != role:
                        leaks.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    for path in yaml_files("playbooks", "molecule"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in PRIVATE.finditer(line):
                if match.group(1) in ROLES:
                    leaks.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    assert not leaks, "another role's private name:\n" + "\n".join(leaks)


def _entry_points():
    found = {}
    for role in ROLES:
        with open(ROOT / "roles" / role / "meta" / "argument_specs.yml") as fh:
            found[role] = set(yaml.safe_load(fh)["argument_specs"])
    return found


def _include_calls(node):
    """Every (role name, tasks_from) of include_role/import_role in a YAML tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key.split(".")[-1] in ("include_role", "import_role") and isinstance(value, dict):
                if "{{" in str(value.get("name", "")) and isinstance(node.get("loop"), list):
                    # A loop over roles (one entry point), or of steps that each name
                    # their role and entry point (playbooks/site.yml's checks).
                    for step in node["loop"]:
                        role, tasks_from = ((step["role"], step["tasks_from"]) if isinstance(step, dict)
                                            else (step, value.get("tasks_from", "main")))
                        yield str(role).rsplit(".", maxsplit=1)[-1], str(tasks_from)
                elif "tasks_from" in value:
                    yield str(value["name"]).rsplit(".", maxsplit=1)[-1], str(value["tasks_from"])
            yield from _include_calls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _include_calls(item)


def test_every_tasks_from_is_a_declared_entry_point():
    entries, calls = _entry_points(), []
    for path in yaml_files("roles", "playbooks", "molecule"):
        for role, tasks_from in _include_calls(yaml.safe_load(path.read_text())):
            calls.append((path, role, tasks_from))
    assert len(calls) >= 15, calls  # the scan finds the includes it is meant to check
    missing = [f"{p.relative_to(ROOT)}: {role} tasks_from {tf}" for p, role, tf in calls
               if role in entries and tf.removesuffix(".yml") not in entries[role]]
    assert not missing, "tasks_from without an argument spec entry:\n" + "\n".join(missing)


def test_the_scan_sees_a_leak(tmp_path):
    line = "    when: _etcd_service_gate_host is defined"
    assert [m.group(1) for m in PRIVATE.finditer(line)] == ["etcd_service"]
    assert not list(PRIVATE.finditer("etcd_service_gate_host and x_etcd_service_y"))
