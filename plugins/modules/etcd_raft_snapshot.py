#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_raft_snapshot
short_description: Make every etcd member save a raft snapshot, by writing enough entries to one scratch key
version_added: "0.3.0"
description:
  - An etcd member saves a raft snapshot (and starts its next replay after it) once it has applied more
    than its C(snapshot-count) entries since its last one. etcd has no request that asks for a snapshot.
    This module writes O(entries) small values to O(scratch_key) through a member, which every member
    applies, then deletes the key.
  - The collection uses it before a cluster that ran etcd 3.5 moves from 3.6 to 3.7. Until a member has a
    snapshot newer than the last entry etcd 3.5 wrote, it would replay that entry at start, and etcd 3.7
    cannot decode it (see M(quorum.etcd.etcd_node_info)'s O(quorum.etcd.etcd_node_info#module:wal) option).
  - Always changes the cluster (its revision moves by O(entries) plus one); nothing else is touched.
  - Talks to etcd's v3 HTTP/JSON gateway using only the Python standard library, over a few kept-alive
    connections at once so that etcd batches the entries.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment:
  - quorum.etcd.etcd
attributes:
  check_mode:
    description: Reports the change without writing anything.
    support: full
  diff_mode:
    description: Not supported; RV(entries) and RV(revision) say what was written.
    support: none
options:
  entries:
    description:
      - How many entries to write. Each member saves a snapshot when more than its C(snapshot-count) have
        been applied since its last one, so C(snapshot-count) plus one is always enough.
    type: int
    required: true
  scratch_key:
    description:
      - The key written to and deleted at the end. Its history stays until the next compaction.
    type: str
    default: /quorum.etcd/raft-snapshot
  connections:
    description:
      - How many requests are in flight at once.
    type: int
    default: 8
notes:
  - With authentication enabled, the user must be allowed to write O(scratch_key) (root is).
seealso:
  - module: quorum.etcd.etcd_node_info
'''

EXAMPLES = r'''
- name: Make every member snapshot past what it holds now (snapshot-count 10000)
  quorum.etcd.etcd_raft_snapshot:
    entries: 10001
    endpoints: [https://127.0.0.1:2379]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
  run_once: true
'''

RETURN = r'''
entries:
  description: The entries written (in check mode, that would be written).
  returned: always
  type: int
  sample: 10001
revision:
  description: The store's revision after the scratch key was deleted (in check mode, before).
  returned: always
  type: int
  sample: 52117
seconds:
  description: How long the writes took.
  returned: always
  type: float
  sample: 9.4
'''

import threading
import time

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import (
    Refusal,
    EtcdError,
    EtcdRequestError,
    run_module,
)


def write_entries(client, key, count, connections):
    """Put ``count`` values to ``key`` over ``connections`` kept-alive
    connections to the client's current endpoint; raise the first error."""
    client.status()  # choose an endpoint that answers (with failover)
    endpoint = client.current_endpoint
    lock = threading.Lock()
    state = {"next": 0, "error": None}

    def worker():
        session = client.session(endpoint)
        try:
            while True:
                with lock:
                    if state["error"] is not None or state["next"] >= count:
                        return
                    n = state["next"]
                    state["next"] += 1
                session.put(key, str(n))
        except EtcdError as exc:
            with lock:
                if state["error"] is None:
                    state["error"] = exc
        finally:
            session.close()

    threads = [threading.Thread(target=worker, name="put-%d" % i) for i in range(max(1, min(connections, count)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if state["error"] is not None:
        raise EtcdRequestError("%s (after about %d of %d entries)" % (state["error"], state["next"], count),
                               endpoint)


def run(module, client):
    count = module.params["entries"]
    connections = module.params["connections"]
    if count < 1:
        raise Refusal(msg="entries=%d must be 1 or more" % count)
    if connections < 1:
        raise Refusal(msg="connections=%d must be 1 or more" % connections)
    key = module.params["scratch_key"]
    result = dict(changed=True, entries=count, seconds=0.0)
    if module.check_mode:
        result["revision"] = client.revision()
        return result
    started = time.monotonic()
    write_entries(client, key, count, connections)
    client.delete(key)
    result["seconds"] = round(time.monotonic() - started, 1)
    result["revision"] = client.revision()
    return result


def main():
    run_module(dict(entries=dict(type="int", required=True),
                    scratch_key=dict(type="str", default="/quorum.etcd/raft-snapshot", no_log=False),
                    connections=dict(type="int", default=8)), run, root_only="writing the scratch key")


if __name__ == "__main__":
    main()
