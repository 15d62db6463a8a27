# -*- coding: utf-8 -*-
"""plugins/lookup/etcd_argument_specs.py: the roles' entry points merged into
the one argument spec site.yml checks the settings with (SAFETY-20)."""
from __future__ import annotations

import pytest
import yaml
from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.quorum.etcd.plugins.lookup import etcd_argument_specs as lk

SITE = ["etcd_auth:preflight", "etcd_firewall:preflight", "etcd_tls:preflight", "etcd_backup:preflight",
        "etcd_install:preflight", "etcd_service:preflight"]


def test_the_entry_points_site_yml_checks_merge_without_a_difference():
    merged = lk.merged_options(SITE)
    for term in SITE:
        role, entry = term.split(":")
        for name, spec in lk.entry_options(role, entry).items():
            assert lk._semantics(merged[name]) == lk._semantics(spec), name  # pylint: disable=protected-access
    assert {"etcd_install_version", "etcd_tls_key_type", "etcd_firewall_backend", "etcd_auth_users"} <= set(merged)


def test_the_merged_spec_refuses_a_bad_value_naming_it():
    spec = lk.merged_options(SITE)
    bad = ArgumentSpecValidator(spec).validate({"etcd_tls_key_type": "dsa"}, validate_role_argument_spec=True)
    assert any("etcd_tls_key_type" in m and "dsa" in m for m in bad.error_messages), bad.error_messages
    good = ArgumentSpecValidator(spec).validate({"etcd_tls_key_type": "rsa"}, validate_role_argument_spec=True)
    assert not good.error_messages


def _role(tmp_path, role, entries):
    (tmp_path / role / "meta").mkdir(parents=True)
    (tmp_path / role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": entries}))


def test_a_differently_declared_option_is_named_with_both_entry_points(tmp_path):
    _role(tmp_path, "a", {"x": {"options": {"opt": {"type": "int", "description": "one"}}}})
    _role(tmp_path, "b", {"y": {"options": {"opt": {"type": "int", "description": "other words"},
                                            "more": {"type": "str"}}}})
    _role(tmp_path, "c", {"z": {"options": {"opt": {"type": "str"}}}})
    assert set(lk.merged_options(["a:x", "b:y"], str(tmp_path))) == {"opt", "more"}
    with pytest.raises(AnsibleLookupError, match="option opt is declared differently by a:x and c:z"):
        lk.merged_options(["a:x", "c:z"], str(tmp_path))


@pytest.mark.parametrize("term, words", [
    ("etcd_tls", "is not <role>:<entry point>"),
    ("../etc:x", "is not <role>:<entry point>"),
    ("etcd_tls:nothing", "role etcd_tls has no entry point 'nothing'"),
    ("no_such_role:main", "cannot read"),
])
def test_bad_terms_are_named(term, words):
    with pytest.raises(AnsibleLookupError, match=words):
        lk.merged_options([term])
