# -*- coding: utf-8 -*-
"""etcd_downgrade_plan: when etcd's downgrade procedure may start (SAFETY-14)."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_downgrade_plan import etcd_downgrade_plan


def three(version, **over):
    have = {"etcd1": version, "etcd2": version, "etcd3": version}
    have.update(over)
    return have


@pytest.mark.parametrize("have, target, minor", [
    (three("3.7.3"), "3.6.16", "3.6"),
    (three("3.7.3"), "3.6.11", "3.6"),                     # the oldest 3.6 that may run beside 3.7
    (three("3.7.3", etcd1="3.6.16"), "3.6.16", "3.6"),     # an interrupted downgrade is finished
    (three("3.6.16"), "3.5.35", "3.5"),
    (three("3.6.16"), "3.6.15", ""),                       # nothing to downgrade: the upgrade rules decide
    (dict(three("3.7.3"), etcd4=""), "3.6.16", "3.6"),     # a host without etcd does not count
])
def test_allowed(have, target, minor):
    assert etcd_downgrade_plan(have, target) == {"minor": minor, "refusal": ""}


def refusal(have, target):
    plan = etcd_downgrade_plan(have, target)
    assert plan["minor"] == "" and plan["refusal"].endswith("No host was changed."), plan
    assert plan["refusal"].startswith('etcd_install_version="%s" is refused for a downgrade (SAFETY-14): ' % target)
    return plan["refusal"]


def test_one_minor_at_a_time():
    assert "from 3.7 only to a 3.6.x release" in refusal(three("3.7.3"), "3.5.35")
    assert "from 3.7 only to a 3.6.x release" in refusal(three("3.7.3"), "3.8.0")  # not an upgrade either


def test_etcd_3_5_has_no_downgrade_procedure():
    msg = refusal(three("3.5.35"), "3.4.23")
    assert "etcd 3.5 has no downgrade procedure (it came with 3.6)" in msg and "restore.yml" in msg


def test_target_must_run_beside_the_newer_members():
    assert "A 3.6 member must run 3.6.11 or later beside 3.7 members" in refusal(three("3.7.3"), "3.6.10")
    assert "A 3.5 member must run 3.5.32 or later beside 3.6 members" in refusal(three("3.6.16"), "3.5.16")


def test_members_on_a_third_minor_are_named():
    msg = refusal(three("3.7.3", etcd2="3.5.35"), "3.6.16")
    assert "etcd2 run neither 3.7 nor 3.6" in msg and "etcd2 3.5.35" in msg


def test_no_member_runs_etcd():
    assert "no member runs etcd yet" in refusal({"etcd1": ""}, "3.6.16")


@pytest.mark.parametrize("have, target", [(three("3.7.3"), "3.6"), (three("3.7"), "3.6.16"), (["3.7.3"], "3.6.16")])
def test_malformed_input_is_an_error(have, target):
    with pytest.raises(AnsibleFilterError):
        etcd_downgrade_plan(have, target)
