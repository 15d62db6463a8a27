# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_version_change import etcd_version_change


def three(version, **over):
    have = {"etcd1": version, "etcd2": version, "etcd3": version}
    have.update(over)
    return have


@pytest.mark.parametrize("have, target", [
    ({}, "3.6.16"),                                  # a new cluster
    ({"etcd1": "", "etcd2": ""}, "3.7.3"),          # hosts without etcd yet
    (three("3.6.16"), "3.6.16"),                     # nothing changes
    (three("3.5.16"), "3.5.35"),                     # patch upgrade
    (three("3.5.32"), "3.6.16"),                     # the oldest 3.5 allowed to go to 3.6
    (three("3.5.35", etcd1="3.6.16"), "3.6.16"),     # finishing a 3.5 -> 3.6 upgrade
    (three("3.4.23"), "3.5.0"),
])
def test_allowed(have, target):
    assert etcd_version_change(have, target) == ""


def test_3_6_needs_3_5_32_on_every_member_and_names_the_laggards():
    msg = etcd_version_change(three("3.5.35", etcd2="3.5.16", etcd3="3.5.31"), "3.6.16")
    assert msg.startswith('etcd_install_version="3.6.16" is refused (SAFETY-14): the members have '
                          "etcd1 3.5.35, etcd2 3.5.16, etcd3 3.5.31.")
    assert "every member must run 3.5.32 or later (etcd2, etcd3 do not)" in msg
    assert "latest 3.5.x release first" in msg and msg.endswith("No host was changed.")


def test_3_7_needs_3_6_11_on_every_member():
    assert etcd_version_change(three("3.6.11"), "3.7.3") == ""
    assert etcd_version_change(three("3.6.16", etcd1="3.7.3"), "3.7.3") == ""  # finishing a 3.6 -> 3.7 upgrade
    msg = etcd_version_change(three("3.6.16", etcd2="3.6.10"), "3.7.3")
    assert "every member must run 3.6.11 or later (etcd2 do not)" in msg and "latest 3.6.x release first" in msg
    assert etcd_version_change(three("3.7.2"), "3.7.3") == ""  # patches within 3.7 are fine


def test_skipped_minor_is_refused():
    msg = etcd_version_change(three("3.5.35"), "3.7.3")
    assert "one minor version at a time: first the latest 3.6.x release" in msg


def test_major_change_is_refused():
    assert "one minor version at a time" in etcd_version_change(three("3.6.16"), "4.0.0")


def test_downgrade_needs_the_switch_and_stays_within_the_minor():
    have = three("3.6.16")
    assert "add -e etcd_install_allow_downgrade=true" in etcd_version_change(have, "3.6.15")
    assert etcd_version_change(have, "3.6.15", allow_downgrade=True) == ""
    msg = etcd_version_change(have, "3.5.35", allow_downgrade=True)
    assert "only go back within the cluster version 3.6" in msg
    assert "use playbooks/downgrade.yml" in msg


def test_a_minor_downgrade_needs_the_live_downgrade_under_way():
    have = three("3.7.3")
    assert "downgrade.yml" in etcd_version_change(have, "3.6.16", allow_downgrade=True)
    # downgrade.yml read from the live cluster that its downgrade to 3.6 is under way
    assert etcd_version_change(have, "3.6.16", downgrade_to="3.6") == ""
    assert etcd_version_change(three("3.7.3", etcd1="3.6.16"), "3.6.16", downgrade_to="3.6.0") == ""
    # not to another minor, and not to a release too old to run beside 3.7 members
    assert "is refused" in etcd_version_change(have, "3.5.35", downgrade_to="3.6")
    msg = etcd_version_change(have, "3.6.10", downgrade_to="3.6")
    assert "A 3.6 member must run 3.6.11 or later to run beside 3.7 members" in msg
    # an upgrade is unaffected by a downgrade under way
    assert etcd_version_change(have, "3.7.3", downgrade_to="3.6") == ""
    with pytest.raises(AnsibleFilterError):
        etcd_version_change(have, "3.6.16", downgrade_to="three.six")


def test_rollback_while_versions_are_mixed_is_a_binary_swap():
    # One member already on 3.6, the others on 3.5: back to 3.5 is allowed with the switch.
    have = three("3.5.35", etcd1="3.6.16")
    assert "downgrade" in etcd_version_change(have, "3.5.35")
    assert etcd_version_change(have, "3.5.35", allow_downgrade=True) == ""


@pytest.mark.parametrize("have, target", [(three("3.6.16"), "3.6"), (three("3.6"), "3.6.16"), (["3.6.16"], "3.6.16")])
def test_malformed_input_is_an_error(have, target):
    with pytest.raises(AnsibleFilterError):
        etcd_version_change(have, target)
