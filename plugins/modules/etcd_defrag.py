#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_defrag
short_description: Defragment etcd members' backends when enough of them is free
version_added: "0.3.0"
description:
  - Defragments the backend of each member in O(endpoints), one after the other, in the order given,
    returning the free pages of its database file to the file system.
  - Idempotent. A member is defragmented only when the free part of its database file
    (size minus size in use, from its status) is at least O(min_free_percent) of the file and at least
    O(min_free_mb) MiB, or when O(force=true). Right after a defragmentation almost nothing is free, so a
    re-run changes nothing.
  - A member does not serve requests while it defragments. Defragment one member at a time and check
    the cluster's health in between (the C(maintenance.yml) playbook does, with the leader last).
  - Talks to etcd's v3 HTTP/JSON gateway using only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment:
  - quorum.etcd.etcd
attributes:
  check_mode:
    description: Reads every member's sizes and reports which would be defragmented.
    support: full
  diff_mode:
    description: Not supported; RV(members) gives the sizes before and after.
    support: none
options:
  min_free_percent:
    description:
      - Defragment a member only when at least this percentage of its database file is free.
    type: int
    default: 10
  min_free_mb:
    description:
      - Defragment a member only when its free part is also at least this many MiB, so that a small
        database with a high free share is left alone (the ratio and the absolute waste both count).
      - V(0) checks the share alone.
    type: int
    default: 0
    version_added: "0.4.0"
  force:
    description:
      - Defragment every member in O(endpoints) whatever its free space, also on etcd 3.4, whose
        status does not report the size in use (without O(force) such members are skipped with a warning).
    type: bool
    default: false
notes:
  - Raise O(timeout) for large databases; a defragmentation of several GiB can take minutes.
  - O(endpoints) are used one by one without failover, each must be a member's client URL.
seealso:
  - module: quorum.etcd.etcd_compaction
  - module: quorum.etcd.etcd_alarm
'''

EXAMPLES = r'''
- name: Defragment this member if a tenth of its database file is free
  quorum.etcd.etcd_defrag:
    endpoints: [https://127.0.0.1:2379]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
    timeout: 300
'''

RETURN = r'''
members:
  description: One entry per endpoint, in order.
  returned: always
  type: list
  elements: dict
  contains:
    endpoint:
      description: The client URL.
      type: str
    member_id:
      description: The member's ID (decimal string).
      type: str
    db_size:
      description: Database file size in bytes before.
      type: int
    db_size_in_use:
      description: Bytes in use before; null on etcd 3.4.
      type: int
    free_percent:
      description: Free part of the file before, in percent; null when unknown.
      type: float
    defragmented:
      description: Whether the member was (in check mode, would be) defragmented.
      type: bool
    db_size_after:
      description: Database file size in bytes after the defragmentation (same as before when skipped
        or in check mode).
      type: int
  sample:
    - {endpoint: "https://127.0.0.1:2379", member_id: "10501334649042878790", db_size: 25178112,
       db_size_in_use: 61440, free_percent: 99.8, defragmented: true, db_size_after: 69632}
'''

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import (
    Refusal,
    run_module,
)
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_defrag_plan import free_share, wants_defrag


def free_percent(status):
    """Free share of the database file, or None when etcd does not say (3.4)."""
    return free_share(status["db_size"], status["db_size_in_use"])


def _free_bytes(status):
    if status["db_size_in_use"] is None:
        return None
    return max(status["db_size"] - status["db_size_in_use"], 0)


def run(module, client):
    p = module.params
    if not 0 <= p["min_free_percent"] <= 100:
        raise Refusal(msg="min_free_percent=%d is not between 0 and 100" % p["min_free_percent"])
    if p["min_free_mb"] < 0:
        raise Refusal(msg="min_free_mb=%d is below 0" % p["min_free_mb"])
    members = []
    for endpoint in client.endpoints:
        status = client.status(endpoint=endpoint)
        free = free_percent(status)
        entry = dict(endpoint=endpoint, member_id=status["member_id"], db_size=status["db_size"],
                     db_size_in_use=status["db_size_in_use"], free_percent=free,
                     defragmented=wants_defrag(free, p["min_free_percent"], p["force"],
                                               free_bytes=_free_bytes(status), min_free_mb=p["min_free_mb"]),
                     db_size_after=status["db_size"])
        if free is None and not p["force"]:
            module.warn("%s does not report its size in use (etcd 3.4?); not defragmented, use force=true" % endpoint)
        if entry["defragmented"] and not module.check_mode:
            client.defragment(endpoint)
            entry["db_size_after"] = client.status(endpoint=endpoint)["db_size"]
        members.append(entry)
    return dict(changed=any(m["defragmented"] for m in members), members=members)


def main():
    run_module(dict(min_free_percent=dict(type="int", default=10),
                    min_free_mb=dict(type="int", default=0),
                    force=dict(type="bool", default=False)), run, root_only="defragmentation")


if __name__ == "__main__":
    main()
