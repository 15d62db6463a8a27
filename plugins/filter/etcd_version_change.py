# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: why moving a cluster's members to an etcd release is refused (empty when it is allowed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_version_change
short_description: Decide whether the members may move to an etcd release, by etcd's upgrade rules
version_added: "0.3.0"
description:
  - Returns an empty string when every member may move to the target release, otherwise one message
    that names the versions and says what to do first (SAFETY-14).
  - Upgrades go one minor version at a time. Before any member runs 3.6, every member must run 3.5.32
    or later (the 3.5 patches that make a 3.5 cluster safe to join for 3.6 members).
  - Before any member runs 3.7, every member must run 3.6.11 or later (etcd's 3.7 upgrade guide). What a
    member replays from its WAL is checked separately (M(quorum.etcd.etcd_node_info), filter
    P(quorum.etcd.etcd_wal_plan#filter)).
  - A rollback (a lower release) is refused unless O(allow_downgrade), and even then only within the
    minor version every member already runs (a binary swap). A cluster whose members all run the new
    minor needs etcd's downgrade procedure (C(playbooks/downgrade.yml)), and only once the live cluster has
    that downgrade under way (O(downgrade_to)) may its members move to the previous minor.
options:
  _input:
    description: The release each member runs now, by host name (members without etcd are left out).
    type: dict
    required: true
  target:
    description: The release to move to (C(etcd_install_version)).
    type: str
    required: true
  allow_downgrade:
    description: Allow a rollback within the minor version (C(etcd_install_allow_downgrade)).
    type: bool
    default: false
  downgrade_to:
    description:
      - The minor version (C(X.Y)) of a downgrade the live cluster has under way, read from the members'
        status by C(playbooks/downgrade.yml) (M(quorum.etcd.etcd_downgrade)); empty when none is.
      - The members may then move to a release of that minor version.
    type: str
    default: ""
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Refuse a version change etcd does not support
  ansible.builtin.assert:
    that: _problem == ''
    fail_msg: "{{ _problem }}"
  vars:
    _problem: "{{ {'etcd1': '3.5.35', 'etcd2': '3.5.35'} | quorum.etcd.etcd_version_change('3.6.16') }}"
'''

RETURN = r'''
_value:
  description: Why the change is refused; an empty string when it is allowed.
  type: str
'''

from ansible.errors import AnsibleFilterError

# Target minor line -> the oldest release every member must run before the
# first member moves to that line (etcd's upgrade guides).
MINIMUM_BEFORE = {
    (3, 6): (3, 5, 32),
    (3, 7): (3, 6, 11),
}


def _parse(version, what, caller="etcd_version_change"):
    """``"3.6.16"`` -> (3, 6, 16); anything else is an error naming ``caller``
    (etcd_downgrade_plan shares this)."""
    try:
        parts = tuple(int(p) for p in str(version).split("."))
    except ValueError:
        parts = ()
    if len(parts) != 3:
        raise AnsibleFilterError("%s: %s %r is not an X.Y.Z etcd version" % (caller, what, version))
    return parts


def _text(parts):
    return ".".join(str(p) for p in parts)


def _minor(text, what):
    """``3.6`` or ``3.6.0`` -> (3, 6); () for an empty value."""
    if not text:
        return ()
    parts = str(text).split(".")
    if len(parts) == 2:
        parts.append("0")
    return _parse(".".join(parts), what)[:2]


def etcd_version_change(have, target, allow_downgrade=False, downgrade_to=""):
    """Return why the members in ``have`` (host -> version) may not move to ``target``, or ''."""
    if not isinstance(have, dict):
        raise AnsibleFilterError("etcd_version_change expects a dict of host -> version, got %s" % type(have).__name__)
    want = _parse(target, "target")
    versions = dict((host, _parse(v, "the version of %s" % host)) for host, v in have.items() if v)
    if not versions:
        return ""  # a new cluster: nothing runs yet
    lowest, highest = min(versions.values()), max(versions.values())
    listing = ", ".join("%s %s" % (host, _text(v)) for host, v in sorted(versions.items()))
    head = "etcd_install_version=\"%s\" is refused (SAFETY-14): the members have %s." % (target, listing)
    tail = " No host was changed."
    under_way = _minor(downgrade_to, "downgrade_to")
    if under_way and want[:2] == under_way and under_way <= lowest[:2]:
        # etcd's downgrade is under way: the cluster version is down to the
        # target minor already, and so is each member's storage schema
        # (downgrade.yml waited for both), so the members may go there.
        floor = MINIMUM_BEFORE.get((under_way[0], under_way[1] + 1))
        if floor and want < floor:
            return (head + " A %d.%d member must run %s or later to run beside %d.%d members during the downgrade."
                    % (want[0], want[1], _text(floor), under_way[0], under_way[1] + 1) + tail)
        return ""
    if want[0] != lowest[0] or want[1] > lowest[1] + 1:
        return (head + " Upgrades go one minor version at a time: first the latest %d.%d.x release."
                % (lowest[0], lowest[1] + 1) + tail)
    if want < highest:
        if not allow_downgrade:
            return head + " That is a downgrade; to roll back a patch release, add -e etcd_install_allow_downgrade=true." + tail
        if want[:2] != lowest[:2]:
            return (head + " A rollback can only go back within the cluster version %d.%d; to go back a minor "
                    "version, use playbooks/downgrade.yml (etcd's downgrade procedure)." % lowest[:2] + tail)
    floor = MINIMUM_BEFORE.get(want[:2])
    if floor and want[:2] > lowest[:2]:
        behind = sorted(host for host, v in versions.items() if v[:2] < want[:2] and v < floor)
        if behind:
            args = (want[0], want[1], _text(floor), ", ".join(behind), floor[0], floor[1])
            return (head + " Before any member runs %d.%d, every member must run %s or later (%s do not): upgrade "
                    "them to the latest %d.%d.x release first." % args + tail)
    return ""


class FilterModule(object):
    def filters(self):
        return {"etcd_version_change": etcd_version_change}
