# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: which stored snapshots backup retention deletes (SAFETY-25)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_backup_prune
short_description: Choose the stored snapshots that backup retention deletes
version_added: "0.3.0"
description:
  - The etcd_backup role stores each snapshot as C(<cluster name>-<UTC time>.db), the time as
    C(YYYYMMDDTHHMMSSZ). Given the files found in the backup directory, this filter returns those to delete
    so that the snapshot just verified and the newest O(keep) minus one other snapshots of this cluster
    remain (SAFETY-25).
  - Only names of exactly that form count. Another cluster's snapshots in the same directory are never
    touched, also when its name starts with this one's (C(etcd-events-...) next to C(etcd-...)), and
    neither are files of any other shape.
  - The snapshot just verified (O(current)) is never returned, whatever its time says (a controller clock
    set back), and the others are ranked by the time in their names, newest first.
options:
  _input:
    description: Paths (or names) of the files found in the backup directory.
    type: list
    elements: str
    required: true
  cluster:
    description: The cluster's name (C(etcd_cluster_name)).
    type: str
    required: true
  keep:
    description: How many snapshots of this cluster remain, the current one included (C(etcd_backup_keep)).
    type: int
    required: true
  current:
    description: The name (or path) of the snapshot this run stored and verified.
    type: str
    required: true
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Delete snapshots beyond the newest etcd_backup_keep
  ansible.builtin.file:
    path: "{{ item }}"
    state: absent
  loop: "{{ _found.files | map(attribute='path') | quorum.etcd.etcd_backup_prune(etcd_cluster_name, etcd_backup_keep, _new) }}"
'''

RETURN = r'''
_value:
  description: The paths to delete, oldest first, as given in the input.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_snapshots import prune


def etcd_backup_prune(paths, cluster, keep, current):
    if not isinstance(cluster, str) or not cluster.strip():
        raise AnsibleFilterError("etcd_backup_prune: cluster %r is not a cluster name" % (cluster,))
    # An int, or its decimal digits as -e passes them; never a bool or a float.
    if isinstance(keep, str) and keep.strip().isdigit():
        keep_n = int(keep)
    elif isinstance(keep, int) and not isinstance(keep, bool):
        keep_n = keep
    else:
        keep_n = 0
    if keep_n < 1:
        raise AnsibleFilterError("etcd_backup_prune: keep=%r must be a whole number of at least 1" % (keep,))
    if isinstance(paths, str) or not isinstance(paths, (list, tuple)):
        raise AnsibleFilterError("etcd_backup_prune expects a list of paths, got %s" % type(paths).__name__)
    try:
        return prune(paths, cluster, keep_n, current)
    except ValueError as exc:
        raise AnsibleFilterError("etcd_backup_prune: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"etcd_backup_prune": etcd_backup_prune}
