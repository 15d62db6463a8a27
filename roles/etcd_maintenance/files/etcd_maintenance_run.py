# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""One scheduled defragmentation by need, run by the etcd maintenance
timer's service on every member (installed by the etcd_maintenance role's
schedule entry point, from etcd_maintenance_schedule).

Every member asks the cluster (member list, every voter's status, the
alarms) and computes the same plan (etcd_defrag_plan.scheduled_plan); only
the voter with the lowest member ID acts, for the whole cluster, the others
say which one does and end. Nothing is done unless every voter answers with
one leader and no CORRUPT alarm is active. The acting member defragments the
members whose free part of the database file is at least the share and the
MiB of the settings (every voter while NOSPACE is active), one at a time,
followers first and the leader last, each through its own client URL; after
each one the whole cluster must be healthy with one leader again before the
next (SAFETY-11, SAFETY-12). A NOSPACE alarm is disarmed only when every
voter's database is back below 90 % of the quota. It prints each member's
size before and after, and every member writes what its run did to the
state file (JSON). A failure ends with status 1 and one line naming it, so
the unit is failed for monitoring.

Usage: etcd_maintenance_run.py CONFIG.json   (written by the role, 0600)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import etcd_defrag_plan  # noqa: E402 pylint: disable=wrong-import-position
from etcd_scheduled import Refused, run as _run, run_json as _json, write_json as _write_json  # noqa: E402 pylint: disable=wrong-import-position

# A NOSPACE alarm is disarmed only below this share of the quota: etcd
# would raise it again at once on a member still at its quota.
SPACE_BACK = 0.9


class Cluster(object):
    """etcdctl with the admin certificate; ``urls``: every voter's client URL."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.tls = [cfg["etcdctl"], "--cacert", cfg["cacert"], "--cert", cfg["cert"], "--key", cfg["key"],
                    "--dial-timeout", "3s"]
        self.urls = []

    def local(self, *args):
        return self.tls + ["--endpoints", self.cfg["endpoint"], "--command-timeout", "30s"] + list(args)

    def read(self):
        members = _json(self.local("member", "list", "-w", "json"), "etcdctl member list")
        self.urls = [u for m in members.get("members", []) if not m.get("isLearner") for u in m.get("clientURLs", [])[:1]]
        # Exit 1 names the endpoints that did not answer; the others are printed.
        statuses = _json(self.tls + ["--endpoints", ",".join(self.urls), "--command-timeout", "30s", "endpoint",
                                     "status", "-w", "json"], "etcdctl endpoint status", allow_rc=(0, 1))
        alarms = _json(self.local("alarm", "list", "-w", "json"), "etcdctl alarm list")
        return members, statuses, alarms

    def healthy(self):
        """'' when every voter answers healthy and all name one leader, else why not."""
        rc, out, err = _run(self.tls + ["--endpoints", ",".join(self.urls), "--command-timeout", "10s", "endpoint",
                                        "health", "-w", "json"])
        try:
            unhealthy = [e.get("endpoint") for e in json.loads(out) if not e.get("health")]
        except ValueError:
            return "endpoint health printed no JSON (exit %d): %s" % (rc, err)
        if unhealthy or rc != 0:
            return "not healthy: %s" % (", ".join(unhealthy) or err)
        rc, out, err = _run(self.tls + ["--endpoints", ",".join(self.urls), "--command-timeout", "10s", "endpoint",
                                        "status", "-w", "json"])
        try:
            leaders = set(e["Status"].get("leader") for e in json.loads(out))
        except (ValueError, KeyError, TypeError):
            return "endpoint status printed no JSON (exit %d): %s" % (rc, err)
        if rc != 0 or len(leaders) != 1 or 0 in leaders:
            return "the voters do not agree on one leader (%s)" % ", ".join(map(str, sorted(leaders)))
        return ""

    def status_of(self, endpoint):
        entries = _json(self.tls + ["--endpoints", endpoint, "--command-timeout", "10s", "endpoint", "status", "-w",
                                    "json"], "etcdctl endpoint status of %s" % endpoint)
        return entries[0]["Status"]


def gate(cluster, tries, delay, sleep=time.sleep):
    """Wait (bounded) until the cluster is healthy with one leader."""
    why = ""
    for attempt in range(tries):
        why = cluster.healthy()
        if not why:
            return
        if attempt + 1 < tries:
            sleep(delay)
    raise Refused("the cluster is %s after %d checks %g s apart; stopped before the next member" % (why, tries, delay))


def maintain(cfg, cluster=None, sleep=time.sleep):
    """One run; returns (lines to print, state to record). Raises Refused."""
    cluster = cluster or Cluster(cfg)
    members, statuses, alarms = cluster.read()
    me = (members.get("header") or {}).get("member_id")
    plan = etcd_defrag_plan.scheduled_plan(members, statuses, alarms, cfg["min_free_percent"], cfg["min_free_mb"])
    names = dict((m.get("ID"), m.get("name")) for m in members.get("members", []))
    if plan["problem"]:
        raise Refused("nothing defragmented: " + plan["problem"])
    state = {"acted": plan["coordinator"] == me, "by": names.get(plan["coordinator"]), "defragmented": [],
             "disarmed": []}
    if plan["coordinator"] != me:
        return ["member %s does this run's maintenance for the cluster; nothing to do here" % state["by"]], state
    lines = []
    for entry in plan["order"]:
        rc, _out, err = _run(cluster.tls + ["--endpoints", entry["endpoint"], "--command-timeout",
                                            "%ds" % cfg["timeout"], "defrag"])
        if rc != 0:
            raise Refused("defragmentation of member %s failed (exit %d): %s" % (entry["name"], rc, err))
        gate(cluster, cfg["gate_tries"], cfg["gate_delay"], sleep)
        after = cluster.status_of(entry["endpoint"])
        done = {"member": entry["name"], "size_before": entry["size"], "in_use_before": entry["in_use"],
                "free_percent_before": entry["free_percent"], "size_after": after.get("dbSize"),
                "in_use_after": after.get("dbSizeInUse"), "leader": entry["id"] == plan["leader"]}
        state["defragmented"].append(done)
        lines.append("defragmented member %s%s: %s -> %s bytes (%s in use; %s %% was free)"
                     % (entry["name"], " (the leader, last)" if done["leader"] else "", done["size_before"],
                        done["size_after"], done["in_use_after"], entry["free_percent"]))
    if not plan["order"]:
        lines.append("no member needs defragmentation (at least %s %% and %s MiB free)"
                     % (cfg["min_free_percent"], cfg["min_free_mb"]))
    if plan["nospace"]:
        quota = cfg["quota_bytes"]
        full = []
        for url in cluster.urls:
            status = cluster.status_of(url)
            if status.get("dbSize", 0) > SPACE_BACK * quota:
                full.append("%s (%s bytes)" % (url, status.get("dbSize")))
        if full:
            raise Refused("the NOSPACE alarm stays: %s still above %d %% of the quota (%d bytes); compact the history "
                          "(playbooks/maintenance.yml) to free space" % (", ".join(full), SPACE_BACK * 100, quota))
        rc, _out, err = _run(cluster.local("alarm", "disarm"))
        if rc != 0:
            raise Refused("etcdctl alarm disarm failed (exit %d): %s" % (rc, err))
        state["disarmed"].append("NOSPACE")
        lines.append("NOSPACE alarm disarmed: every member is below %d %% of the quota" % (SPACE_BACK * 100))
    return lines, state


def main(argv):
    if len(argv) != 2:
        print("usage: etcd_maintenance_run.py CONFIG.json", file=sys.stderr)
        return 2
    with open(argv[1]) as fh:
        cfg = json.load(fh)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        lines, state = maintain(cfg)
    except (Refused, OSError) as exc:
        print("scheduled maintenance of cluster %s FAILED: %s" % (cfg.get("cluster"), exc), file=sys.stderr)
        _write_json(cfg["state"], {"cluster": cfg.get("cluster"), "time": when, "ok": False, "error": str(exc)})
        return 1
    state.update({"cluster": cfg.get("cluster"), "time": when, "ok": True, "report": lines})
    _write_json(cfg["state"], state)
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
