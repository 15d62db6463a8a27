# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: the newest verified scheduled snapshot the members record, for a restore."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_scheduled_newest
short_description: Choose the newest verified scheduled snapshot that the members record
version_added: "0.4.0"
description:
  - The scheduled backups of the etcd_backup role write C(<cluster>-last-good.json) next to their snapshots
    (time, revision, hash, SHA-256 and file of the last snapshot that was verified). Given what
    M(ansible.builtin.slurp) read of that file on each member, this filter returns the newest one by its
    time, the member that holds it and the snapshot's path there, or the reason there is none.
  - A member whose file is missing, unreadable, not JSON, of another cluster, or names a file that is not a
    snapshot name of this cluster, is skipped and named in O(_input)'s reasons.
options:
  _input:
    description: Member name to the registered result of M(ansible.builtin.slurp) of the state file on it.
    type: dict
    required: true
  cluster:
    description: The cluster's name (C(etcd_cluster_name)).
    type: str
    required: true
  directory:
    description: The directory on the members that holds the snapshots and the state file.
    type: str
    required: true
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Choose the newest verified scheduled snapshot
  ansible.builtin.set_fact:
    newest: >-
      {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, '_state')))
         | quorum.etcd.etcd_scheduled_newest(etcd_cluster_name, '/mnt/backup/etcd') }}
'''

RETURN = r'''
_value:
  description: The choice.
  type: dict
  contains:
    host:
      description: The member that holds the newest snapshot; empty when none was found.
      type: str
    path:
      description: The snapshot's path on that member.
      type: str
    state:
      description: The state file's content (C(time), C(revision), C(hash), C(sha256), C(file), C(member)).
      type: dict
    problem:
      description: Why no snapshot could be chosen, naming each member's reason; empty when one was.
      type: str
'''

import base64
import json

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_snapshots import own_snapshot


def _state(read, cluster):
    if not isinstance(read, dict) or read.get("failed") or "content" not in read:
        return None, (read or {}).get("msg", "not read") if isinstance(read, dict) else "not read"
    try:
        state = json.loads(base64.b64decode(read["content"]).decode("utf-8"))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None, "not a JSON state file"
    if not isinstance(state, dict) or state.get("cluster") != cluster:
        return None, "the state file is not cluster %s's" % cluster
    if not own_snapshot(cluster).match(str(state.get("file", ""))) or not state.get("sha256") \
            or not isinstance(state.get("time"), str):
        return None, "the state file names no snapshot of cluster %s" % cluster
    return state, ""


def etcd_scheduled_newest(reads, cluster, directory):
    if not isinstance(reads, dict):
        raise AnsibleFilterError("etcd_scheduled_newest expects a dict of member to slurp result, got %s"
                                 % type(reads).__name__)
    found, reasons = [], []
    for host in sorted(reads):
        state, why = _state(reads[host], cluster)
        if state is None:
            reasons.append("%s: %s" % (host, why))
        else:
            found.append((state["time"], host, state))
    if not found:
        return {"host": "", "path": "", "state": {},
                "problem": "no member records a verified scheduled snapshot of cluster %s in %s/%s-last-good.json "
                           "(%s)" % (cluster, directory.rstrip("/"), cluster, "; ".join(reasons))}
    # The ISO time sorts; on a tie the first member by name (found is in name order).
    best = found[0]
    for entry in found[1:]:
        if entry[0] > best[0]:
            best = entry
    _time, host, state = best
    return {"host": host, "path": "%s/%s" % (directory.rstrip("/"), state["file"]), "state": state, "problem": ""}


class FilterModule(object):
    def filters(self):
        return {"etcd_scheduled_newest": etcd_scheduled_newest}
