# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: why a running etcd member still runs with files older than those on disk (SAFETY-23)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_restart_pending
short_description: Tell why a running etcd member needs a restart that an earlier run did not finish
version_added: "0.3.0"
description:
  - Every start of the etcd unit, by anyone, first records what etcd is about to load, namely a copy of the
    configuration file, the SHA-1 of the unit file and of each file in O(files), and the binary and version
    it starts (C(ExecStartPre) in the unit the etcd_service role writes). The record lives in the unit's runtime directory
    (C(/run/<service>)), which systemd removes when the service stops.
  - Takes what M(quorum.etcd.etcd_node_info) read from one member and compares that record, and the
    binary the running process was started from, with the files now on disk. A run that wrote new
    files and stopped before the restart (a gate that timed out, Ctrl-C, a refusal, C(--tags)) leaves a
    difference; the next run finds it here and restarts the member, one at a time and gated (SAFETY-23).
  - Keys etcd reads only when a member bootstraps (O(initial_keys)) do not count.
  - Returns one sentence per reason; an empty list when the member is not running or nothing is pending.
options:
  _input:
    description: The result of M(quorum.etcd.etcd_node_info) for the member.
    type: dict
    required: true
  unit:
    description: The unit name, as in the C(units) option of M(quorum.etcd.etcd_node_info).
    type: str
    required: true
  config:
    description: Path of the etcd configuration file (read with C(contents)).
    type: path
    required: true
  record:
    description:
      - The runtime directory the unit records in; C(loaded.conf.yml), C(loaded.sha1) and C(loaded.exe) (the
        binary the link pointed at when etcd started) in it are read.
    type: path
    required: true
  binary:
    description: The path the unit starts etcd from, usually a link to the installed version.
    type: path
    required: true
  files:
    description: Files whose change needs a restart (the unit file, C(ca.crt), the member key, JWT keys).
    type: list
    elements: path
    default: []
  initial_keys:
    description: Configuration keys etcd reads only at bootstrap.
    type: list
    elements: str
    default: []
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Find out whether an earlier run left this member to restart
  ansible.builtin.set_fact:
    pending: >-
      {{ node | quorum.etcd.etcd_restart_pending(unit='etcd.service', config='/etc/etcd/etcd.conf.yml',
                                                 record='/run/etcd', binary='/usr/local/bin/etcd',
                                                 files=['/etc/etcd/pki/ca.crt']) }}
'''

RETURN = r'''
_value:
  description: Why the member needs a restart, one sentence each; empty when it does not.
  type: list
  elements: str
'''

import yaml

from ansible.errors import AnsibleFilterError


def _runtime(text, initial_keys):
    try:
        conf = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise AnsibleFilterError("etcd_restart_pending: cannot read a configuration file as YAML: %s" % exc)
    if not isinstance(conf, dict):
        return {}
    return dict((k, v) for k, v in conf.items() if k not in initial_keys)


def _sums(text):
    """sha1sum's output: "<sum>  <path>" per line."""
    out = {}
    for line in (text or "").splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            out[parts[1].lstrip("*")] = parts[0]
    return out


def etcd_restart_pending(node, unit, config, record, binary, files=(), initial_keys=()):
    if not isinstance(node, dict):
        raise AnsibleFilterError("etcd_restart_pending expects the result of etcd_node_info, got %r" % (node,))
    state = (node.get("units") or {}).get(unit) or {}
    if state.get("active") != "active":
        return []  # started from the files on disk by this run, if at all
    paths = node.get("paths") or {}
    record = record.rstrip("/")
    loaded_conf = paths.get(record + "/loaded.conf.yml") or {}
    loaded_sums = paths.get(record + "/loaded.sha1") or {}
    reasons = []
    if "content" not in loaded_conf or "content" not in loaded_sums:
        reasons.append("%s runs without a record of what it loaded (%s/loaded.conf.yml): it was started "
                       "another way, or by an earlier version of this collection" % (unit, record))
    else:
        now = paths.get(config) or {}
        before = _runtime(loaded_conf["content"], initial_keys)
        after = _runtime(now.get("content", ""), initial_keys)
        keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        if keys:
            reasons.append("%s changed since etcd started: %s" % (config, ", ".join(keys)))
        sums = _sums(loaded_sums["content"])
        for path in files:
            on_disk = (paths.get(path) or {}).get("checksum", "")
            if sums.get(path, "") != on_disk:
                reasons.append("%s changed since etcd started" % path)
    # The binary etcd was started from: recorded by the unit (root in a
    # container may not read /proc/<pid>/exe), else read from the process.
    exe = ((paths.get(record + "/loaded.exe") or {}).get("content") or "").strip() or state.get("exe") or ""
    link = paths.get(binary) or {}
    target = link.get("resolved") or (binary if link.get("type") == "file" else "")
    if exe.endswith(" (deleted)"):
        reasons.append("etcd runs %s, which is no longer on disk" % exe[:-len(" (deleted)")])
    elif exe and target and exe != target:
        reasons.append("etcd runs %s while %s is now %s" % (exe, binary, target))
    return reasons


class FilterModule(object):
    def filters(self):
        return {"etcd_restart_pending": etcd_restart_pending}
