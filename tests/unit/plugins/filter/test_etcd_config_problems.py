# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_config_problems import (
    FEATURE_GATES, RENAMED, etcd_config_problems)


def test_settings_every_release_reads_pass():
    extra = {"max-request-bytes": 3145728, "grpc-keepalive-interval": "2h"}
    for version in ("3.4.23", "3.5.35", "3.6.16", "3.7.3"):
        assert etcd_config_problems(extra, version) == []


def test_experimental_setting_on_3_7_names_the_new_key():
    problems = etcd_config_problems({"experimental-compact-hash-check-time": "1m"}, "3.7.3")
    assert problems == ["etcd_service_extra_config key 'experimental-compact-hash-check-time' is not read by "
                        "etcd 3.7.3: use 'compact-hash-check-time' instead (renamed in etcd 3.6)."]


def test_experimental_switch_on_3_7_names_the_feature_gate():
    [problem] = etcd_config_problems({"experimental-initial-corrupt-check": True}, "3.7.0")
    assert "feature-gates: 'InitialCorruptCheck=true'" in problem


def test_unknown_experimental_setting_on_3_7_is_refused():
    [problem] = etcd_config_problems({"experimental-peer-skip-client-san-verification": True}, "3.7.3")
    assert "reads no experimental-* setting" in problem


def test_3_6_still_reads_the_experimental_spelling():
    # Deprecated in 3.6, read with a warning: refused only from 3.7.
    assert etcd_config_problems({"experimental-compact-hash-check-time": "1m"}, "3.6.16") == []


@pytest.mark.parametrize("key", ["enable-v2", "experimental-enable-v2v3", "proxy"])
def test_removed_settings_refused_from_3_6(key):
    assert etcd_config_problems({key: False}, "3.5.35") == []
    [problem] = etcd_config_problems({key: False}, "3.6.16")
    assert repr(key) in problem and "removed" in problem


def test_new_spelling_on_3_5_names_the_old_one():
    [problem] = etcd_config_problems({"compact-hash-check-time": "1m"}, "3.5.35")
    assert "spelled 'experimental-compact-hash-check-time'" in problem
    [problem] = etcd_config_problems({"feature-gates": "CompactHashCheck=true"}, "3.5.35")
    assert "from etcd 3.6" in problem


def test_every_problem_is_reported_in_key_order():
    problems = etcd_config_problems({"proxy": "off", "enable-v2": True}, "3.7.3")
    assert [p.split("'")[1] for p in problems] == ["enable-v2", "proxy"]


def test_tables_do_not_overlap():
    assert not set(RENAMED) & set(FEATURE_GATES)


@pytest.mark.parametrize("version", ["latest", "3", None])
def test_bad_version_is_an_error(version):
    with pytest.raises(AnsibleFilterError, match="not an etcd version"):
        etcd_config_problems({}, version)


def test_extra_config_must_be_a_dict():
    with pytest.raises(AnsibleFilterError, match="as a dict, got list"):
        etcd_config_problems(["enable-v2"], "3.6.16")
