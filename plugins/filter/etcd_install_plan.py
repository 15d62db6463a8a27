# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: what the etcd_install role changes on one node, from what is installed there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_install_plan
short_description: Decide what the etcd_install role installs, links and removes on one node
version_added: "0.3.0"
description:
  - Takes what M(quorum.etcd.etcd_node_info) read of the installed releases (its C(releases) result) and
    decides whether the wanted version must be installed, whether the links change (and so etcd must
    restart), which older versions and staging directories of interrupted installs are removed.
  - Keeps O(keep) versions besides the wanted one, newest first, and always the version the links pointed at
    before this run, which may still be the running binary until etcd_service restarts it. Ranking that one
    with the others, rather than leaving it out, means the run after an upgrade or rollback removes nothing.
options:
  _input:
    description: The C(releases) result of M(quorum.etcd.etcd_node_info).
    type: dict
    required: true
  version:
    description: The wanted etcd version, without C(v).
    type: str
    required: true
  prefix:
    description: The directory of the installed versions, as given to M(quorum.etcd.etcd_node_info).
    type: str
    required: true
  keep:
    description: How many other versions to keep.
    type: int
    default: 1
  binaries:
    description: The binaries a release may hold, each linked when the release has it.
    type: list
    elements: str
    default: [etcd, etcdctl, etcdutl]
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Work out what to change
  ansible.builtin.set_fact:
    install_plan: "{{ node.releases | quorum.etcd.etcd_install_plan(version='3.6.16', prefix='/opt/etcd', keep=1) }}"
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    present:
      description: Whether the wanted version is installed (it holds C(etcd) and C(etcdctl)).
      type: bool
    present_bins:
      description: The binaries the installed wanted version holds.
      type: list
      elements: str
    links_before:
      description: What each link pointed at before this run (an empty string for a file that is not a link).
      type: dict
    changed:
      description: Whether the C(etcd) link moves to the wanted version in this run.
      type: bool
    bin_dir_missing:
      description: Whether the link directory is to be created.
      type: bool
    remove:
      description: Older version directories to remove, newest first.
      type: list
      elements: str
    staging:
      description: Staging directories of interrupted installs, to remove.
      type: list
      elements: str
    link_work:
      description: Whether a link, a directory or a removal is to change (the version is to be installed, or is installed and something differs).
      type: bool
'''

import re

from ansible.errors import AnsibleFilterError

VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


def etcd_install_plan(releases, version, prefix, keep=1, binaries=("etcd", "etcdctl", "etcdutl")):
    if not isinstance(releases, dict) or "versions" not in releases:
        raise AnsibleFilterError("etcd_install_plan takes the releases result of quorum.etcd.etcd_node_info, got %r"
                                 % (releases,))
    if not re.match(r"^\d+\.\d+\.\d+$", str(version)):
        raise AnsibleFilterError("etcd_install_plan: version %r is not MAJOR.MINOR.PATCH" % (version,))
    keep = int(keep)
    if keep < 0:
        raise AnsibleFilterError("etcd_install_plan: keep must be 0 or more, got %d" % keep)
    wanted = "v%s" % version
    target = "%s/%s" % (prefix.rstrip("/") or "/", wanted)
    present_bins = list(releases["versions"].get(wanted, []))
    present = "etcd" in present_bins and "etcdctl" in present_bins
    links = dict(releases.get("links", {}))
    linked_before = links.get("etcd", "").rstrip("/").rsplit("/", 2)
    linked_version = linked_before[-2] if len(linked_before) >= 2 else ""
    others = sorted((name for name in releases["versions"] if VERSION_DIR.match(name) and name != wanted),
                    key=lambda name: tuple(int(p) for p in VERSION_DIR.match(name).groups()), reverse=True)
    remove = [name for name in others[keep:] if name != linked_version]
    links_todo = any(links.get(b, "") != "%s/%s" % (target, b) for b in present_bins) or any(
        b not in present_bins and links.get(b, "") for b in binaries)
    bin_dir_missing = not releases.get("bin_dir", False)
    staging = list(releases.get("staging", []))
    return {
        "present": present,
        "present_bins": present_bins,
        "links_before": links,
        "changed": links.get("etcd", "") != "%s/etcd" % target,
        "bin_dir_missing": bin_dir_missing,
        "remove": remove,
        "staging": staging,
        "link_work": not present or bin_dir_missing or links_todo or bool(remove) or bool(staging),
    }


class FilterModule(object):
    def filters(self):
        return {"etcd_install_plan": etcd_install_plan}
