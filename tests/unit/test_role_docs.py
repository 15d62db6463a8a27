# -*- coding: utf-8 -*-
"""Every role has a README whose variable section is the one
tools/roledocs.py writes from the role's meta/argument_specs.yml (issue 16):
a new option, a changed default or a removed one fails here until the
README is regenerated."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
import roledocs  # tools/roledocs.py (tests/unit/conftest.py puts tools/ on the path)

ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())


def test_every_role_is_found():
    assert len(ROLES) == len([p for p in (ROOT / "roles").iterdir() if p.is_dir()])


@pytest.mark.parametrize("role", ROLES)
def test_readme_matches_its_argument_spec(role):
    readme = ROOT / "roles" / role / "README.md"
    assert readme.is_file(), f"{readme} is missing"
    text = readme.read_text()
    assert text.startswith(f"# quorum.etcd.{role}\n"), "the README's title names the role"
    assert roledocs.render(text, roledocs.section(str(ROOT / "roles" / role))) == text, (
        f"{readme}: run `python3 tools/roledocs.py` (its variables differ from meta/argument_specs.yml)")


def test_every_option_and_default_is_in_the_section(tmp_path):
    """The generator itself: a spec change shows in the README it writes."""
    role = tmp_path / "roles" / "demo"
    (role / "meta").mkdir(parents=True)
    spec = role / "meta" / "argument_specs.yml"
    spec.write_text(
        "argument_specs:\n"
        "  main:\n"
        "    short_description: Demo.\n"
        "    options:\n"
        "      demo_port:\n"
        "        type: int\n"
        "        default: 2379\n"
        "        description: The port, see O(demo_host) and C(etcd --listen (x)).\n"
        "      demo_host:\n"
        "        type: str\n"
        "        required: true\n"
        "        description: [A host., Never V(localhost).]\n"
        "      demo_secret:\n"
        "        type: str\n"
        "        default: ''\n"
        "        no_log: true\n"
        "        choices: ['', a]\n"
        "        description: A secret.\n")
    (role / "README.md").write_text("# quorum.etcd.demo\n\nIntro.\n")
    assert roledocs.stale(str(tmp_path)) == [(str(role / "README.md"), "its variable section differs from meta/argument_specs.yml")]
    generated = roledocs.render((role / "README.md").read_text(), roledocs.section(str(role)))
    (role / "README.md").write_text(generated)
    assert roledocs.stale(str(tmp_path)) == []
    assert generated.startswith("# quorum.etcd.demo\n\nIntro.\n\n" + roledocs.BEGIN)
    assert "- `demo_port` (int; default `2379`)\n  The port, see `demo_host` and `etcd --listen (x)`." in generated
    assert "- `demo_host` (str; required)\n  A host.\n  Never `localhost`." in generated
    assert "- `demo_secret` (str; default `\"\"`; one of `\"\"`, `a`; secret)" in generated

    spec.write_text(spec.read_text().replace("default: 2379", "default: 2381"))
    assert [why for _path, why in roledocs.stale(str(tmp_path))] == ["its variable section differs from meta/argument_specs.yml"]
    (role / "README.md").unlink()
    assert roledocs.stale(str(tmp_path)) == [(str(role / "README.md"), "missing")]
