# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""One scheduled snapshot of the cluster, run by the etcd backup timer's
service on every member (installed by the etcd_backup role's schedule
entry point, from etcd_backup_schedule).

Every member asks the cluster at the same time; only the member that
etcd_snapshots.choose_member names takes the snapshot, the others say
which one did and end. The chosen member refuses to fill its disk (a
free-space floor), saves the snapshot from its own store, verifies it
(``etcdutl snapshot status``: hash, revision, keys; and a trial restore),
keeps it 0600 as ``<cluster>-<UTC time>.db``, copies it to the destination
when one is set, checks the copy's SHA-256, deletes this cluster's
snapshots beyond the newest N or older than D days in both places, and
writes ``<cluster>-last-good.json`` (time, revision, hash, file). Any
failure ends with status 1 and one line naming it, so the unit is failed
for monitoring, and the last good state file is left as it was
(SAFETY-13, SAFETY-25).

Usage: etcd_backup_run.py CONFIG.json   (written by the role, 0600)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import etcd_snapshots  # noqa: E402 pylint: disable=wrong-import-position
from etcd_scheduled import Refused, run as _run, run_json as _json, write_json as _write_json  # noqa: E402 pylint: disable=wrong-import-position

MIB = 2 ** 20


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(MIB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _prune(directory, cfg, current):
    paths = [os.path.join(directory, name) for name in os.listdir(directory)]
    doomed = etcd_snapshots.prune(paths, cfg["cluster"], cfg["keep"], current, cfg["max_age_days"])
    for path in doomed:
        os.unlink(path)
    return [os.path.basename(p) for p in doomed]


def _copy(src, directory, name, sha256, floor):
    if not os.path.isdir(directory):
        raise Refused("the destination %s is not a directory (is its file system mounted?); "
                      "the snapshot stays in the snapshot directory" % directory)
    problem = etcd_snapshots.free_space_problem(directory, os.path.getsize(src), floor)
    if problem:
        raise Refused("not copied: " + problem)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % name, dir=directory)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, MIB)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        if _sha256(tmp) != sha256:
            raise Refused("the copy in %s does not match the snapshot's SHA-256" % directory)
        os.rename(tmp, os.path.join(directory, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def take(cfg, now=None):
    """One run; returns the lines to print. Raises Refused."""
    tls = ["--cacert", cfg["cacert"], "--cert", cfg["cert"], "--key", cfg["key"],
           "--dial-timeout", "3s", "--command-timeout", "%ds" % cfg.get("command_timeout", 30)]
    local = [cfg["etcdctl"]] + tls + ["--endpoints", cfg["endpoint"]]
    members = _json(local + ["member", "list", "-w", "json"], "etcdctl member list")
    me = (members.get("header") or {}).get("member_id")
    urls = [u for m in members.get("members", []) if not m.get("isLearner") for u in m.get("clientURLs", [])[:1]]
    # Exit 1 names the endpoints that did not answer; the others are printed.
    statuses = _json([cfg["etcdctl"]] + tls + ["--endpoints", ",".join(urls), "endpoint", "status", "-w", "json"],
                     "etcdctl endpoint status", allow_rc=(0, 1))
    chosen, why = etcd_snapshots.choose_member(members, statuses)
    names = dict((m.get("ID"), m.get("name")) for m in members.get("members", []))
    if chosen is None:
        raise Refused("no snapshot taken: %s (%d of %d voters answered)" % (why, len(statuses), len(urls)))
    if chosen != me:
        return ["member %s takes this run's snapshot (%s); nothing to do here" % (names.get(chosen, chosen), why)]

    directory, cluster = cfg["dir"], cfg["cluster"]
    mine = [e["Status"] for e in statuses if (e.get("Status") or {}).get("header", {}).get("member_id") == me]
    db_size = mine[0].get("dbSize", 0) if mine else 0
    floor = cfg["min_free_mb"] * MIB
    problem = etcd_snapshots.free_space_problem(directory, db_size, floor)
    if problem:
        raise Refused("no snapshot taken: " + problem)

    now = now or datetime.datetime.now(datetime.timezone.utc)
    name = etcd_snapshots.snapshot_name(cluster, now)
    final = os.path.join(directory, name)
    work = tempfile.mkdtemp(prefix=".run-", dir=directory)
    try:
        partial = os.path.join(work, name)
        rc, _out, err = _run(local + ["snapshot", "save", partial])
        if rc != 0:
            raise Refused("etcdctl snapshot save failed (exit %d): %s" % (rc, err))
        status = _json([cfg["etcdutl"], "snapshot", "status", partial, "-w", "json"], "etcdutl snapshot status")
        # A trial restore reads every page: the SHA-256 trailer and the database.
        rc, _out, err = _run([cfg["etcdutl"], "snapshot", "restore", partial, "--data-dir", os.path.join(work, "trial"),
                              "--name", "verify", "--initial-cluster", "verify=http://127.0.0.1:1",
                              "--initial-advertise-peer-urls", "http://127.0.0.1:1"])
        if rc != 0:
            raise Refused("the snapshot failed its trial restore (exit %d): %s" % (rc, err))
        os.chmod(partial, 0o600)
        sha256 = _sha256(partial)
        os.rename(partial, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    state = {"cluster": cluster, "file": name, "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
             "revision": status.get("revision"), "hash": status.get("hash"), "total_keys": status.get("totalKey"),
             "size": os.path.getsize(final), "sha256": sha256, "member": names.get(me, me), "copied_to": ""}
    lines = ["snapshot %s from member %s: revision %s, %s keys, %d bytes, hash %s, sha256 %s"
             % (final, state["member"], state["revision"], state["total_keys"], state["size"], state["hash"], sha256)]
    places = [directory]
    if cfg.get("dest"):
        _copy(final, cfg["dest"], name, sha256, floor)
        state["copied_to"] = cfg["dest"]
        places.append(cfg["dest"])
        lines.append("copied to %s" % cfg["dest"])
    for place in places:
        deleted = _prune(place, cfg, name)
        if deleted:
            lines.append("deleted in %s: %s" % (place, ", ".join(deleted)))
        _write_json(os.path.join(place, "%s-last-good.json" % cluster), state)
    return lines


def main(argv):
    if len(argv) != 2:
        print("usage: etcd_backup_run.py CONFIG.json", file=sys.stderr)
        return 2
    with open(argv[1]) as fh:
        cfg = json.load(fh)
    try:
        lines = take(cfg)
    except (Refused, OSError) as exc:
        print("scheduled snapshot of cluster %s FAILED: %s" % (cfg.get("cluster"), exc), file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
