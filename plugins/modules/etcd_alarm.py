#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_alarm
short_description: Disarm etcd alarms
version_added: "0.3.0"
description:
  - Reads the cluster's active alarms and disarms those of the types in O(alarms), on every member
    that raised one. Alarms of other types are reported and left alone.
  - Idempotent. With no matching alarm active nothing is sent and nothing is reported changed.
  - A C(NOSPACE) alarm makes etcd refuse writes. Disarm it only after space was freed (compaction, then
    defragmentation of every member), or etcd raises it again at the next write.
  - Talks to etcd's v3 HTTP/JSON gateway using only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment:
  - quorum.etcd.etcd
attributes:
  check_mode:
    description: Reads the alarms and reports which would be disarmed.
    support: full
  diff_mode:
    description: Returns the active alarms before and after.
    support: full
options:
  alarms:
    description:
      - The alarm types to disarm. C(CORRUPT) means a member's data differs from the others';
        disarm it only once that member has been replaced, never to make the error go away.
    type: list
    elements: str
    choices: [NOSPACE, CORRUPT]
    default: [NOSPACE]
seealso:
  - module: quorum.etcd.etcd_compaction
  - module: quorum.etcd.etcd_defrag
  - module: quorum.etcd.etcd_status_info
'''

EXAMPLES = r'''
- name: Disarm NOSPACE once compaction and defragmentation freed space
  quorum.etcd.etcd_alarm:
    endpoints: [https://127.0.0.1:2379]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
  run_once: true
'''

RETURN = r'''
alarms:
  description: The alarms active before the module ran, with the member's name when known.
  returned: always
  type: list
  elements: dict
  sample: [{"member_id": "10501334649042878790", "name": "etcd1", "alarm": "NOSPACE"}]
disarmed:
  description: The alarms the module disarmed (in check mode, would disarm).
  returned: always
  type: list
  elements: dict
  sample: [{"member_id": "10501334649042878790", "name": "etcd1", "alarm": "NOSPACE"}]
remaining:
  description: The alarms still active afterwards (in check mode, those that would be).
  returned: always
  type: list
  elements: dict
  sample: []
'''

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import (
    run_module,
)


def label(alarms, names):
    return [dict(a, name=names.get(a["member_id"], "")) for a in alarms]


def run(module, client):
    names = dict((m["id"], m["name"]) for m in client.member_list(linearizable=False)[1])
    before = label(client.alarms(), names)
    wanted = set(module.params["alarms"])
    to_disarm = [a for a in before if a["alarm"] in wanted]
    result = dict(changed=bool(to_disarm), alarms=before, disarmed=to_disarm,
                  remaining=[a for a in before if a["alarm"] not in wanted])
    if to_disarm and not module.check_mode:
        for alarm in to_disarm:
            client.alarm_disarm(alarm["member_id"], alarm["alarm"])
        result["remaining"] = label(client.alarms(), names)
    if module._diff:
        result["diff"] = dict(before=dict(alarms=before), after=dict(alarms=result["remaining"]))
    return result


def main():
    run_module(dict(alarms=dict(type="list", elements="str", choices=["NOSPACE", "CORRUPT"], default=["NOSPACE"])), run)


if __name__ == "__main__":
    main()
