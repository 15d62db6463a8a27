# -*- coding: utf-8 -*-
"""What the stages `galaxy-importer` and `ee` (tools/publish_check.py) count
as a failure: junk in the tarball, a role without README, galaxy-importer's
errors, and collection requirements that ansible-builder does not find."""

from __future__ import annotations

import publish_check  # tools/publish_check.py (tests/unit/conftest.py puts tools/ on the path)

GOOD = ["README.md", "galaxy.yml", "meta/runtime.yml", "plugins/modules/etcd_member.py",
        "roles/etcd_auth/README.md", "roles/etcd_auth/tasks/main.yml", "tests/unit/conftest.py",
        "tests/sanity/ignore-2.21.txt", "changelogs/changelog.yaml", "docs/SAFETY.md"]


def test_junk_finds_caches_venvs_and_lab_files_at_any_depth():
    bad = ["plugins/modules/__pycache__/etcd_member.cpython-313.pyc", "roles/etcd_auth/.pytest_cache/v/x",
           ".mypy_cache/x", "plugins/.ruff_cache/x", ".venv-2.19/bin/python", ".lab/sanity-2.21/x", ".idea/x",
           ".vscode/settings.json", ".env", "tools/lab.py", "molecule/default/molecule.yml",
           "tests/integration/test_backup.py", "tests/output/junit/x.xml", "changelogs/.plugin-cache.yaml",
           "roles/etcd_auth/tasks/.main.yml.swp", "tests/unit/test_lab_docker.py", "context/Containerfile"]
    assert publish_check.junk(GOOD) == []
    assert publish_check.junk(GOOD + bad) == sorted(bad)


def test_roles_without_readme():
    names = GOOD + ["roles/etcd_tls", "roles/etcd_tls/tasks/main.yml", "roles/etcd_user/meta/main.yml"]
    assert publish_check.roles_without_readme(names) == ["etcd_tls", "etcd_user"]


def test_importer_errors_and_an_import_cut_short_fail():
    done = "Importing with galaxy-importer 0.4.44\nWARNING: x.py:1:1: W291 trailing whitespace\n" \
           "Importer processing completed successfully\n"
    assert publish_check.importer_problems(done) == []
    failed = "Importing with galaxy-importer 0.4.44\nERROR: The import failed for the following reason: No role readme found.\n"
    assert publish_check.importer_problems(failed) == [
        "ERROR: The import failed for the following reason: No role readme found.",
        "galaxy-importer did not complete the import"]
    lint = done + "ERROR: Timeout on call to ansible-lint\n"
    assert publish_check.importer_problems(lint) == ["ERROR: Timeout on call to ansible-lint"]


def test_ee_requirements_must_be_found_for_the_collection():
    declared = publish_check.ee_requirements()
    python, system = declared["python"], declared["system"]
    assert "cryptography" in python[0] and system

    def listed(entries):
        return "".join(f"- '{entry}  # from collection quorum.etcd'\n" for entry in entries)

    out = f"# Dependency data for /tmp/c\n---\npython:\n{listed(python)}system:\n{listed(system)}\n"
    assert publish_check.ee_problems(publish_check.introspected(out)) == []
    missing = publish_check.ee_problems(publish_check.introspected("# Dependency data for /tmp/c\n---\n{}\n"))
    assert len(missing) == len(python) + len(system)
    other = out.replace("quorum.etcd", "community.crypto")
    assert len(publish_check.ee_problems(publish_check.introspected(other))) == len(python) + len(system)
