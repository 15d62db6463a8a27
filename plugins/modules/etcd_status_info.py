#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_status_info
short_description: Report etcd endpoint and cluster status
version_added: "0.3.0"
description:
  - For each endpoint, reports the member ID and name, version, database size and size in use,
    leader flag, raft term, index and applied index, learner flag and errors.
  - For the cluster, reports the cluster ID, leader ID, member list, active alarms and an overall
    RV(healthy) flag (every endpoint answers, exactly one leader, no alarm, no endpoint error, every member
    that has a readiness check ready, every voting member of the member list started).
  - Unreachable endpoints are reported, not fatal; the module fails only when no endpoint answers.
  - Talks to etcd's v3 HTTP/JSON gateway using only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment:
  - quorum.etcd.etcd
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
    support: full
  diff_mode:
    description: Read-only; there is nothing to diff.
    support: none
options:
  cluster:
    description:
      - Query the client URLs of every member in the member list instead of only
        O(endpoints), like C(etcdctl --cluster). O(endpoints) is then used only to read the member list.
    type: bool
    default: false
  tolerate_down:
    description:
      - With O(cluster=true), names of members expected to be down (a failed member about to be removed,
        SAFETY-8). Their unreachable client URLs are reported in RV(endpoints) but do not make
        RV(healthy) false. Every other check still applies, to every other member.
      - A voting member that never started (no client URL) counts as down (SAFETY-24) unless its name or
        one of its peer URLs is listed here.
    type: list
    elements: str
    default: []
  tolerate_alarms:
    description:
      - Alarm types (V(NOSPACE), V(CORRUPT)) that do not make RV(healthy) false. They are still listed in
        RV(alarms). The maintenance playbook tolerates V(NOSPACE) while it frees space; nothing tolerates
        V(CORRUPT) by default.
    type: list
    elements: str
    choices: [NOSPACE, CORRUPT]
    default: []
  certificates:
    description:
      - Also read the certificate each member presents on its first client URL and its first peer URL (a TLS
        handshake, no request), and the CA certificates of O(ca_cert), and report when each expires in
        RV(certificates). Those that expire within O(expiry_days) are named in RV(expiring); they do not make
        RV(healthy) false.
    type: bool
    default: false
    version_added: "0.4.0"
  expiry_days:
    description: With O(certificates=true), how many days ahead a certificate is named in RV(expiring).
    type: int
    default: 30
    version_added: "0.4.0"
  wait_timeout:
    description:
      - Keep reading, every O(wait_interval) seconds for up to this many seconds, until the cluster is healthy
        (RV(healthy)) and no member is a learner other than O(wait_learner), or until an alarm is active
        (RV(alarmed); etcd keeps an alarm until it is disarmed, so the wait ends at once).
      - One call instead of a task retried from the controller; the read right after a member's restart
        is answered as soon as the member serves again.
      - Meanwhile a read that no endpoint answers is not fatal. The last read is returned, and fails as a
        single read does when no endpoint answered it. Bad connection settings fail at once.
      - V(0) reads once.
    type: float
    default: 0
    version_added: "0.4.0"
  wait_interval:
    description: With O(wait_timeout), seconds between two reads.
    type: float
    default: 0.5
    version_added: "0.4.0"
  wait_learner:
    description:
      - With O(wait_timeout), the peer URL of one learner that does not keep the wait going (a member being
        joined, whose learner entry an earlier interrupted run added, SAFETY-10). Every other learner does.
    type: str
    default: ''
    version_added: "0.4.0"
seealso:
  - module: quorum.etcd.etcd_member
'''

EXAMPLES = r'''
- name: Status of every member of the cluster
  quorum.etcd.etcd_status_info:
    endpoints: [https://10.0.0.11:2379]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/admin.crt
    client_key: /etc/etcd/pki/admin.key
    cluster: true
  register: etcd_status

- name: Stop unless the cluster is healthy (SAFETY-11)
  ansible.builtin.assert:
    that: etcd_status.healthy
    fail_msg: "etcd is not healthy: {{ etcd_status.problems | join('; ') }}"
'''

RETURN = r'''
attempts:
  description: How many times the cluster was read (1 without O(wait_timeout)).
  returned: always
  type: int
  sample: 3
  version_added: "0.4.0"
waited:
  description: Seconds spent reading, to a tenth of a second.
  returned: always
  type: float
  sample: 1.2
  version_added: "0.4.0"
healthy:
  description: Every queried endpoint answered without error, all agree on one leader, and no alarm is active.
  returned: always
  type: bool
  sample: true
problems:
  description: Why RV(healthy) is false, one sentence per problem naming the endpoint or member.
  returned: always
  type: list
  elements: str
  sample: ["https://10.0.0.12:2379: cannot reach endpoint (Connection refused)"]
certificates:
  description:
    - With O(certificates=true), one entry per certificate read, the CA certificates first.
  returned: when O(certificates=true)
  type: list
  elements: dict
  contains:
    kind:
      description: V(ca), V(client) (served on a client URL) or V(peer) (served on a peer URL).
      type: str
    member:
      description: The member's name; empty for a CA.
      type: str
    url:
      description: The URL it was read from; empty for a CA.
      type: str
    subject:
      description: The certificate's common name.
      type: str
    not_after:
      description: When it expires, C(YYYY-MM-DDTHH:MM:SSZ); empty when it could not be read.
      type: str
    days_left:
      description: Whole days until then (negative once expired); null when it could not be read.
      type: int
    error:
      description: Why it could not be read; empty when it was.
      type: str
  sample: [{"kind": "peer", "member": "etcd1", "url": "https://10.0.0.11:2380", "subject": "etcd1",
            "not_after": "2027-12-01T10:00:00Z", "days_left": 359, "error": ""}]
expiring:
  description:
    - With O(certificates=true), one sentence per certificate that expires within O(expiry_days) or could not be
      read.
  returned: when O(certificates=true)
  type: list
  elements: str
  sample: ["the peer certificate of member etcd1 (https://10.0.0.11:2380) expires in 12 days (2026-12-19T10:00:00Z)"]
cluster_id:
  description: Cluster ID, a uint64 as a decimal string.
  returned: always
  type: str
  sample: "14841639068965178418"
leader_id:
  description: ID of the leader as the endpoints report it; V("0") when there is none or they disagree.
  returned: always
  type: str
  sample: "10501334649042878790"
leader_name:
  description: Name of the leader member, empty when unknown.
  returned: always
  type: str
  sample: etcd1
members:
  description: The member list.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Member ID (decimal string).
      type: str
    id_hex:
      description: Member ID in hexadecimal, as etcdctl prints it.
      type: str
    name:
      description: Member name, empty for a member added but not started.
      type: str
    peer_urls:
      description: Peer URLs.
      type: list
      elements: str
    client_urls:
      description: Client URLs.
      type: list
      elements: str
    is_learner:
      description: Whether the member is a learner.
      type: bool
alarmed:
  description:
    - An alarm that O(tolerate_alarms) does not name is active.
    - etcd keeps an alarm until it is disarmed, so waiting for RV(healthy) cannot help; the health gates
      stop waiting when this is true.
  returned: always
  type: bool
  sample: false
alarms:
  description: Active alarms.
  returned: always
  type: list
  elements: dict
  sample: [{"member_id": "10501334649042878790", "alarm": "NOSPACE"}]
endpoints:
  description: One entry per queried endpoint, in order.
  returned: always
  type: list
  elements: dict
  contains:
    endpoint:
      description: The client URL queried.
      type: str
    reachable:
      description: Whether the endpoint answered.
      type: bool
    error:
      description: Why it did not answer (empty when it did).
      type: str
    member_id:
      description: ID of the member behind the endpoint.
      type: str
    name:
      description: Name of that member from the member list.
      type: str
    version:
      description: etcd server version.
      type: str
    db_size:
      description: Database size in bytes.
      type: int
    db_size_in_use:
      description: Bytes in use in the database; null when the server does not report it.
      type: int
    is_leader:
      description: Whether this member is the leader.
      type: bool
    leader_id:
      description: The leader this member knows of (V("0") for none).
      type: str
    raft_term:
      description: Raft term.
      type: int
    raft_index:
      description: Raft index.
      type: int
    raft_applied_index:
      description: Raft applied index; null when the server does not report it.
      type: int
    is_learner:
      description: Whether this member is a learner.
      type: bool
    storage_version:
      description:
        - The member's storage schema version (etcd 3.6 and later; empty before).
        - etcd raises it once every member runs a new minor release; the next minor release refuses to start on
          storage that is more than one minor version older.
      type: str
    downgrade:
      description:
        - The downgrade the cluster is asked for, as this member knows it (etcd 3.6 and later; never enabled
          before). See M(quorum.etcd.etcd_downgrade).
      type: dict
      contains:
        enabled:
          description: Whether a downgrade is under way.
          type: bool
        target_version:
          description: Its target minor version (C(X.Y.0)); empty when none.
          type: str
    ready:
      description:
        - The member's own readiness check (C(/readyz), etcd 3.5.11 and later) - it serves local and
          linearizable reads and has no corruption alarm; null when the member has no such check.
        - A member that is not ready makes RV(healthy) false.
      type: bool
    ready_reason:
      description: Why the member is not ready, as etcd says it; empty when it is.
      type: str
    errors:
      description: Errors the member reports about itself (for example an alarm).
      type: list
      elements: str
'''

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import (
    Refusal,
    EtcdConfigError,
    EtcdError,
    certificate_expiry,
    certificate_name,
    run_module,
)

_EMPTY = {
    "member_id": "0", "name": "", "version": "", "db_size": 0, "db_size_in_use": None,
    "is_leader": False, "leader_id": "0", "raft_term": 0, "raft_index": 0,
    "raft_applied_index": None, "is_learner": False, "storage_version": "",
    "downgrade": {"enabled": False, "target_version": ""}, "errors": [], "ready": None, "ready_reason": "",
}


def query(client, endpoint, exclude=("non_learner",)):
    entry = dict(_EMPTY, endpoint=endpoint, reachable=False, error="")
    try:
        status = client.status(endpoint=endpoint)
    except EtcdError as exc:
        entry["error"] = str(exc)
        return entry
    entry.update(status)
    entry.pop("cluster_id", None)
    entry["reachable"] = True
    try:
        ready = client.readyz(endpoint, exclude)
    except EtcdError as exc:
        ready = (False, str(exc))
    if ready is not None:
        entry["ready"], entry["ready_reason"] = ready
    return entry


def read_alarms(client, endpoints):
    """Alarms go through raft: right after a leader change one member may time
    out, so ask the answering endpoints in turn. Returns (alarms, errors)."""
    errors = []
    for endpoint in endpoints:
        try:
            return client.alarms(endpoint=endpoint), []
        except EtcdError as exc:
            errors.append(str(exc))
    return [], errors


def summarize(entries, members, alarms, tolerated=(), tolerated_alarms=(), down_names=()):
    """Pure: fill names, find the leader, decide healthy and list problems.

    ``tolerated``: endpoints whose being unreachable is not a problem;
    ``tolerated_alarms``: alarm types that are not a problem, and neither is
    the error a member reports about such an alarm; ``down_names``: names or
    peer URLs of members that may be down, started or not."""
    names = dict((m["id"], m["name"]) for m in members)
    # An unreachable endpoint has no member ID: name it from the member list.
    by_url = dict((url, m["name"]) for m in members for url in m.get("client_urls") or [] if m["name"])
    problems = []
    # SAFETY-24: a voter that never started has no client URL, so no endpoint
    # stands for it; it still counts toward quorum and counts as down.
    for m in members:
        if m.get("is_learner") or m.get("client_urls"):
            continue
        if m.get("name") in down_names or any(url in down_names for url in m.get("peer_urls") or []):
            continue
        problems.append("voting member %s (%s, %s) has never started: it has no client URL and counts as down"
                        % (m.get("name") or "<not started>", m.get("id_hex") or m["id"], ",".join(m.get("peer_urls") or [])))
    for e in entries:
        e["name"] = names.get(e["member_id"], "")
        if not e["reachable"] and e["endpoint"] in tolerated:
            continue
        if not e["reachable"]:
            owner = by_url.get(e["endpoint"])
            problems.append("member %s: %s" % (owner, e["error"]) if owner else e["error"])
        if e["reachable"] and e.get("ready") is False:
            # SAFETY-11: answering its status is not enough after a restart;
            # the member must serve reads the cluster agrees on.
            problems.append("%s not ready: %s" % (e["name"] or e["endpoint"], e.get("ready_reason") or "?"))
        for err in e["errors"]:
            if any(("alarm:%s" % kind) in err.replace(" ", "") for kind in tolerated_alarms):
                continue
            problems.append("%s: %s" % (e["endpoint"], err))
    reachable = [e for e in entries if e["reachable"]]
    leaders = sorted(set(e["leader_id"] for e in reachable if e["leader_id"] != "0"))
    if any(e["leader_id"] == "0" for e in reachable):
        problems.append("no leader seen by: %s" % ", ".join(e["endpoint"] for e in reachable if e["leader_id"] == "0"))
    if len(leaders) > 1:
        problems.append("endpoints disagree on the leader: %s" % ", ".join(leaders))
    elif not leaders:
        problems.append("the cluster has no leader")
    alarmed = False
    for a in alarms:
        if a["alarm"] in tolerated_alarms:
            continue
        alarmed = True
        problems.append("alarm %s on member %s (%s)" % (a["alarm"], names.get(a["member_id"], "?"), a["member_id"]))
    leader_id = leaders[0] if len(leaders) == 1 else "0"
    return {
        "healthy": not problems,
        # etcd keeps an alarm until someone disarms it: a caller that waits
        # for health stops waiting at once (SAFETY-11).
        "alarmed": alarmed,
        "problems": problems,
        "leader_id": leader_id,
        "leader_name": names.get(leader_id, ""),
    }


def _certificate(kind, member, url, cert=None, error="", now=None):
    entry = {"kind": kind, "member": member, "url": url, "subject": "", "not_after": "", "days_left": None,
             "error": error}
    if cert:
        entry["subject"] = certificate_name(cert)
        entry["not_after"], entry["days_left"] = certificate_expiry(cert, now)
    return entry


def read_certificates(client, members, pool):
    """The CA certificates, then each member's served client and peer
    certificates (first URL of each), read side by side."""
    entries = [_certificate("ca", "", "", cert) for cert in client.ca_certificates()]
    targets = [(kind, m["name"] or m["id_hex"], urls[0]) for m in members
               for kind, urls in (("client", m["client_urls"]), ("peer", m["peer_urls"])) if urls]

    def read(target):
        kind, member, url = target
        try:
            return _certificate(kind, member, url, client.served_certificate(url))
        except EtcdError as exc:
            return _certificate(kind, member, url, error=exc.message)

    return entries + list(pool.map(read, targets))


def expiring(certificates, days):
    """One sentence per certificate within ``days`` of its end, or unread."""
    out = []
    for c in certificates:
        what = "the CA certificate %s" % c["subject"] if c["kind"] == "ca" else (
            "the %s certificate of member %s (%s)" % (c["kind"], c["member"], c["url"]))
        if c["error"]:
            out.append("%s could not be read: %s" % (what, c["error"]))
        elif c["days_left"] < 0:
            out.append("%s expired %d days ago (%s)" % (what, -c["days_left"], c["not_after"]))
        elif c["days_left"] < days:
            out.append("%s expires in %d days (%s)" % (what, c["days_left"], c["not_after"]))
    return out


def settled(result, learner=""):
    """Whether a wait ends with this read: an active alarm (it stays until
    disarmed), or a healthy cluster where no member is a learner but
    ``learner`` (a peer URL; empty: none is)."""
    if result.get("alarmed"):
        return True
    waiting = [m for m in result.get("members") or [] if m.get("is_learner") and learner not in (m.get("peer_urls") or [])]
    return bool(result.get("healthy")) and not waiting


def run(module, client, clock=time.monotonic, sleep=time.sleep):
    """One read, or with wait_timeout reads until settled() (SAFETY-11):
    the gate after each restart as one call on the member. Bounded: no
    read starts once the next pause would end past the deadline."""
    params = module.params
    waiting = params["wait_timeout"] > 0
    interval = max(params["wait_interval"], 0.05)
    started = clock()
    deadline = started + params["wait_timeout"]
    attempts = 0
    while True:
        attempts += 1
        last = not waiting
        try:
            result = read(module, client)
        except EtcdConfigError:
            raise  # bad settings: no later read can succeed
        except (EtcdError, Refusal) as exc:
            # Nothing answered (yet): fatal for a single read or the last one.
            if last or clock() + interval > deadline:
                if isinstance(exc, Refusal):
                    exc.result.update(attempts=attempts, waited=round(clock() - started, 1))
                raise
        else:
            if last or settled(result, params["wait_learner"] or "") or clock() + interval > deadline:
                result.update(attempts=attempts, waited=round(clock() - started, 1))
                return result
        sleep(interval)


def read(module, client):
    header, members = client.member_list(linearizable=False)
    if module.params["cluster"]:
        targets = []
        for m in members:
            for url in m["client_urls"]:
                if url not in targets:
                    targets.append(url)
    else:
        targets = list(client.endpoints)
    down = set(module.params["tolerate_down"] or [])
    tolerated = [url for m in members if m["name"] in down for url in m["client_urls"]]
    workers = max(1, min(len(targets), 8))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # A tolerated CORRUPT alarm is not held against a member's readiness either.
        exclude = ("non_learner", "data_corruption") if "CORRUPT" in module.params["tolerate_alarms"] else ("non_learner",)
        entries = list(pool.map(lambda ep: query(client, ep, exclude), targets))
        certificates = read_certificates(client, members, pool) if module.params["certificates"] else None
    answering = [e["endpoint"] for e in entries if e["reachable"]]
    alarms, alarm_errors = read_alarms(client, answering)
    result = summarize(entries, members, alarms, tolerated, module.params["tolerate_alarms"], down)
    if answering and alarm_errors:
        result["healthy"] = False
        result["problems"].append("alarms could not be read: %s" % "; ".join(alarm_errors))
    result.update(changed=False, cluster_id=header["cluster_id"], members=members,
                  alarms=alarms, endpoints=entries)
    if certificates is not None:
        result.update(certificates=certificates, expiring=expiring(certificates, module.params["expiry_days"]))
    if not answering:
        raise Refusal(msg="no endpoint answered: %s" % "; ".join(result["problems"]), **result)
    return result


def _validate(params):
    for opt in ("wait_timeout", "wait_interval"):
        if params[opt] < 0:
            raise EtcdConfigError("%s must be 0 or more, got %s" % (opt, params[opt]))


def main():
    run_module(dict(cluster=dict(type="bool", default=False),
                    tolerate_down=dict(type="list", elements="str", default=[]),
                    tolerate_alarms=dict(type="list", elements="str", choices=["NOSPACE", "CORRUPT"], default=[]),
                    certificates=dict(type="bool", default=False),
                    expiry_days=dict(type="int", default=30),
                    wait_timeout=dict(type="float", default=0.0),
                    wait_interval=dict(type="float", default=0.5),
                    wait_learner=dict(type="str", default="")), run, validate=_validate)


if __name__ == "__main__":
    main()
