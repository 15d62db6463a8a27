#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_compaction
short_description: Compact etcd's key history up to a revision
version_added: "0.3.0"
description:
  - Discards every key version older than O(revision) (by default the store's current revision),
    so the space they used can be reused and, after a defragmentation, returned to the file system.
  - Idempotent. The module first reads whether O(revision) minus one is still readable; when it
    is not, the history is already compacted that far and nothing is sent.
  - Compaction is cluster-wide. One call through any member compacts every member.
  - Allowed while a C(NOSPACE) alarm is active; it is the first step to clear one.
  - Talks to etcd's v3 HTTP/JSON gateway using only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment:
  - quorum.etcd.etcd
attributes:
  check_mode:
    description: Reads whether a compaction is needed and reports it without sending it.
    support: full
  diff_mode:
    description: Not supported; RV(revision) and RV(current_revision) say what was compacted.
    support: none
options:
  revision:
    description:
      - Keep only the versions at or after this revision. V(0) means the current revision, so only the
        latest version of each key is kept.
      - A revision newer than the current one is refused.
      - Mutually exclusive with O(keep).
    type: int
    default: 0
  keep:
    description:
      - Keep the newest this many revisions of history too; compact to the current revision minus O(keep).
        A store with no more revisions than that is left as it is.
      - Clients that watch or read recent revisions (a controller resuming a watch) keep working.
    type: int
    default: 0
  physical:
    description:
      - Wait until every member has applied the compaction to its backend before returning, so
        a defragmentation right after it reclaims the space.
    type: bool
    default: true
notes:
  - Clients watching or reading older revisions get C(required revision has been compacted) afterwards.
    Kubernetes' API server compacts on its own every five minutes; compacting its etcd here is harmless.
seealso:
  - module: quorum.etcd.etcd_defrag
  - module: quorum.etcd.etcd_alarm
'''

EXAMPLES = r'''
- name: Compact the history to the current revision
  quorum.etcd.etcd_compaction:
    endpoints: [https://127.0.0.1:2379]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
  run_once: true
'''

RETURN = r'''
revision:
  description: The revision the history is compacted to (or, in check mode, would be).
  returned: always
  type: int
  sample: 4711
current_revision:
  description: The store's revision when the module read it.
  returned: always
  type: int
  sample: 4711
'''

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import (
    Refusal,
    EtcdCompacted,
    run_module,
)


def needs_compaction(client, target):
    """Versions below ``target`` are still there when ``target - 1`` reads."""
    return target > 1 and not client.is_compacted(target - 1)


def target_revision(current, revision=0, keep=0):
    """The revision to compact to: ``revision``, else the current one minus
    ``keep`` (0 when that leaves nothing to compact)."""
    if revision:
        return revision
    return max(current - keep, 0)


def run(module, client):
    current = client.revision()
    if module.params["keep"] < 0:
        raise Refusal(msg="keep=%d must be 0 or more" % module.params["keep"], current_revision=current)
    target = target_revision(current, module.params["revision"], module.params["keep"])
    if target < 0 or target > current:
        raise Refusal(msg="revision=%d is not between 1 and the current revision %d" % (target, current),
                      current_revision=current)
    result = dict(changed=False, revision=target, current_revision=current)
    if not needs_compaction(client, target):
        return result
    result["changed"] = True
    if module.check_mode:
        return result
    try:
        client.compact(target, physical=module.params["physical"])
    except EtcdCompacted:
        # Another client compacted at or past it in the meantime.
        result["changed"] = False
    return result


def main():
    run_module(dict(revision=dict(type="int", default=0),
                    keep=dict(type="int", default=0),
                    physical=dict(type="bool", default=True)), run, root_only="compaction",
               mutually_exclusive=[("revision", "keep")])


if __name__ == "__main__":
    main()
