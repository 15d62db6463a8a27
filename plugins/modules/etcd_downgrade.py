#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_downgrade
short_description: Start or cancel etcd's downgrade of a cluster to the previous minor version
version_added: "0.3.0"
description:
  - Once every member of a cluster runs a new minor version, the cluster version has moved to it and the
    older binaries refuse to start on the data. etcd 3.6 and later can go back one minor version. The
    cluster is told the target (C(etcdctl downgrade enable)), lowers its cluster version, every member
    migrates its storage schema to the target, and then the members can be restarted one at a time on
    the older binary. Once every member runs the target, etcd ends the downgrade by itself.
  - O(state=enabled) asks etcd to validate the target and then starts the downgrade. Idempotent; nothing
    is sent when the downgrade to O(version) is already under way or the cluster version already is
    O(version).
  - O(state=cancelled) cancels a downgrade under way (members already restarted on the older binary must
    then be upgraded again).
  - Talks to etcd's v3 HTTP/JSON gateway using only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment:
  - quorum.etcd.etcd
attributes:
  check_mode:
    description: O(state=enabled) asks etcd to validate the target (which changes nothing) and reports the
      change without making it.
    support: full
  diff_mode:
    description: Not supported; RV(cluster_version) and RV(downgrade) say where the cluster is.
    support: none
options:
  version:
    description:
      - The minor version to go back to, C(X.Y) (a patch number, C(X.Y.Z), is accepted and ignored).
        etcd accepts only the minor version right below the cluster version.
    type: str
    required: true
  state:
    description:
      - V(enabled) starts the downgrade, V(cancelled) cancels it.
    type: str
    choices: [enabled, cancelled]
    default: enabled
notes:
  - With authentication enabled, etcd allows downgrade requests only to a user with the role root.
  - Restarting the members on the older binary is not part of this module; the C(downgrade.yml) playbook
    does it, one member at a time.
seealso:
  - module: quorum.etcd.etcd_status_info
'''

EXAMPLES = r'''
- name: Start the downgrade of a 3.7 cluster to 3.6
  quorum.etcd.etcd_downgrade:
    version: "3.6"
    endpoints: [https://127.0.0.1:2379]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
'''

RETURN = r'''
cluster_version:
  description: The cluster version after the request (C(X.Y.0)); it drops to the target once etcd has
    started the downgrade.
  returned: always
  type: str
  sample: "3.6.0"
downgrade:
  description: The downgrade under way after the request, as the member's status reports it.
  returned: always
  type: dict
  contains:
    enabled:
      description: Whether a downgrade is under way.
      type: bool
    target_version:
      description: Its target (C(X.Y.0)); empty when none.
      type: str
  sample: {enabled: true, target_version: "3.6.0"}
'''

import re

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import (
    Refusal,
    run_module,
)

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)?$")


def minor(version):
    """``3.6.16`` or ``3.6`` -> ``(3, 6)``; None for anything else (an empty cluster version)."""
    match = _VERSION.match(str(version or "").strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def decide(state, target, cluster_version, downgrade):
    """What to send: ``(action or None, refusal or None)``. The one decision,
    used in check mode and for real."""
    under_way = downgrade["enabled"]
    if state == "cancelled":
        return ("CANCEL" if under_way else None), None
    if under_way:
        if minor(downgrade["target_version"]) == target:
            return None, None
        return None, ("a downgrade to %s is already under way; cancel it first (state=cancelled)"
                      % downgrade["target_version"])
    if minor(cluster_version) == target:
        return None, None  # done: the cluster runs the target already
    return "ENABLE", None


def run(module, client):
    p = module.params
    target = minor(p["version"])
    if target is None:
        raise Refusal(msg="version=%r is not a minor version X.Y (or a release X.Y.Z)" % p["version"])
    text = "%d.%d" % target
    status = client.status()
    cluster_version = client.cluster_version()
    action, refusal = decide(p["state"], target, cluster_version, status["downgrade"])
    if refusal:
        raise Refusal(msg=refusal, cluster_version=cluster_version, downgrade=status["downgrade"])
    if action == "ENABLE":
        # etcd's own check (target right below the cluster version, no other
        # downgrade under way) changes nothing: made in check mode too.
        client.downgrade("VALIDATE", text)
    if action and not module.check_mode:
        client.downgrade(action, text)
        status = client.status()
        cluster_version = client.cluster_version()
    return dict(changed=action is not None, cluster_version=cluster_version, downgrade=status["downgrade"])


def main():
    run_module(dict(version=dict(type="str", required=True),
                    state=dict(type="str", choices=["enabled", "cancelled"], default="enabled")),
               run, root_only="a downgrade")


if __name__ == "__main__":
    main()
