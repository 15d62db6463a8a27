# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: whether etcd's downgrade procedure may take the members to a release of the previous minor version."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_downgrade_plan
short_description: Decide whether etcd's downgrade procedure may take the members to an older minor release
version_added: "0.3.0"
description:
  - Once every member runs a new minor version, going back is etcd's downgrade procedure (etcd 3.6 and
    later). The cluster is asked to lower its cluster version by one minor version, every member migrates
    its storage schema, then the members move to the older binary one at a time (SAFETY-14).
  - Returns the minor version to ask etcd for and an empty refusal when O(target) is a release of the minor
    version right below the newest one the members run, the members run only those two minor versions
    (a downgrade that was interrupted is finished), the newest is 3.6 or later, and O(target) is recent
    enough to run beside members of the newer minor (the same floor an upgrade needs). Otherwise the
    refusal names the versions and says what to do.
  - Members that already run O(target)'s minor version, all of them, need no downgrade, and the plan is then
    empty (C(minor) empty) and the release change follows the upgrade rules (filter
    P(quorum.etcd.etcd_version_change#filter)).
options:
  _input:
    description: The release each member runs now, by host name (members without etcd are left out).
    type: dict
    required: true
  target:
    description: The release to move to (C(etcd_install_version)).
    type: str
    required: true
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Refuse a downgrade etcd cannot make
  ansible.builtin.assert:
    that: _plan.refusal == ''
    fail_msg: "{{ _plan.refusal }}"
  vars:
    _plan: "{{ {'etcd1': '3.7.3', 'etcd2': '3.7.3', 'etcd3': '3.7.3'} | quorum.etcd.etcd_downgrade_plan('3.6.16') }}"
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    minor:
      description: The minor version (C(X.Y)) to ask etcd to downgrade to; empty when no downgrade is needed.
      type: str
    refusal:
      description: Why the downgrade is refused; empty when it is not.
      type: str
'''

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_version_change import (
    MINIMUM_BEFORE,
    _parse as _parse_version,
    _text,
)

# etcd added its downgrade procedure in 3.6: an older cluster cannot lower
# its cluster version.
FIRST_WITH_DOWNGRADE = (3, 6)


def _parse(version, what):
    return _parse_version(version, what, caller="etcd_downgrade_plan")


def etcd_downgrade_plan(have, target):
    if not isinstance(have, dict):
        raise AnsibleFilterError("etcd_downgrade_plan expects a dict of host -> version, got %s" % type(have).__name__)
    want = _parse(target, "target")
    versions = dict((host, _parse(v, "the version of %s" % host)) for host, v in have.items() if v)
    listing = ", ".join("%s %s" % (host, _text(v)) for host, v in sorted(versions.items()))
    head = "etcd_install_version=\"%s\" is refused for a downgrade (SAFETY-14): " % target
    tail = " No host was changed."
    if not versions:
        return {"minor": "", "refusal": head + "no member runs etcd yet; deploy with site.yml." + tail}
    head += "the members have %s." % listing
    newest = max(v[:2] for v in versions.values())
    minors = set(v[:2] for v in versions.values())
    if minors == {want[:2]}:
        return {"minor": "", "refusal": ""}  # nothing to downgrade; the upgrade rules decide the rest
    if want[0] != newest[0] or want[1] != newest[1] - 1:
        return {"minor": "", "refusal": head + " etcd goes back one minor version at a time: from %d.%d only to a "
                "%d.%d.x release." % (newest[0], newest[1], newest[0], newest[1] - 1) + tail}
    if newest < FIRST_WITH_DOWNGRADE:
        return {"minor": "", "refusal": head + " etcd %d.%d has no downgrade procedure (it came with %d.%d); restore "
                "a snapshot taken before the upgrade instead (restore.yml)." % (newest + FIRST_WITH_DOWNGRADE) + tail}
    stray = sorted(host for host, v in versions.items() if v[:2] not in (newest, want[:2]))
    if stray:
        return {"minor": "", "refusal": head + " %s run neither %d.%d nor %d.%d: finish the upgrade or rollback "
                "first." % ((", ".join(stray),) + newest + want[:2]) + tail}
    floor = MINIMUM_BEFORE.get(newest)
    if floor and want < floor:
        return {"minor": "", "refusal": head + " A %d.%d member must run %s or later beside %d.%d members: pick a "
                "newer %d.%d.x release." % (want[:2] + (_text(floor),) + newest + want[:2]) + tail}
    return {"minor": "%d.%d" % want[:2], "refusal": ""}


class FilterModule(object):
    def filters(self):
        return {"etcd_downgrade_plan": etcd_downgrade_plan}
