# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Snapshot names, retention and the choice of the member that takes a
scheduled snapshot. Standard library only, and importable on its own: the
etcd_backup_prune filter uses it on the controller, and the scheduled
backup (roles/etcd_backup/files/etcd_backup_run.py) next to it on the
members (SAFETY-13, SAFETY-25)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re

TIME_FORMAT = "%Y%m%dT%H%M%SZ"
_TIME = r"(\d{8}T\d{6}Z)"


def snapshot_name(cluster, when):
    """``<cluster>-<UTC time>.db``, the only form retention ever deletes."""
    return "%s-%s.db" % (cluster, when.strftime(TIME_FORMAT))


def own_snapshot(cluster):
    """The pattern of this cluster's snapshot names, and no other cluster's
    (not ``etcd-events-...`` next to ``etcd-...``)."""
    return re.compile("^" + re.escape(cluster) + "-" + _TIME + r"\.db$")


def snapshot_time(cluster, name):
    """The UTC time in a snapshot name of ``cluster``, or None."""
    found = own_snapshot(cluster).match(os.path.basename(str(name)))
    if not found:
        return None
    try:
        return datetime.datetime.strptime(found.group(1), TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:  # 20261399T...: the shape but no date
        return None


def prune(paths, cluster, keep, current, max_age_days=0, now=None):
    """The paths to delete, oldest first, as given: this cluster's snapshots
    beyond the newest ``keep`` (``current`` counted and never returned) and,
    when ``max_age_days`` is above 0, those older than that many days.
    Names of any other form are never returned. Raises ValueError for a
    ``current`` that is not a snapshot name of ``cluster``."""
    own = own_snapshot(cluster)
    current_name = os.path.basename(str(current))
    if not own.match(current_name):
        raise ValueError("current=%r is not a snapshot name of cluster %r" % (current, cluster))
    others = []
    for path in paths:
        name = os.path.basename(str(path))
        found = own.match(name)
        if found and name != current_name:
            others.append((found.group(1), str(path)))
    others.sort(reverse=True)  # newest first: the fixed-width UTC time orders them
    doomed = set(path for _time, path in others[keep - 1:])
    if max_age_days > 0:
        now = now or datetime.datetime.now(datetime.timezone.utc)
        limit = now - datetime.timedelta(days=max_age_days)
        for _time, path in others:
            when = snapshot_time(cluster, path)
            if when is not None and when < limit:
                doomed.add(path)
    return [path for _time, path in reversed(others) if path in doomed]


def choose_member(members, statuses):
    """The member that takes a scheduled snapshot, from ``etcdctl member
    list -w json`` (``members``) and ``etcdctl endpoint status -w json``
    (``statuses``, the reachable endpoints only): among the voters that
    answered and see a leader, a follower when there is one (the leader is
    spared the load), the lowest member ID first, so that every member
    asked at the same time names the same one. Returns (member ID, reason);
    the ID is None when no voter can take it."""
    voters = set(m.get("ID") for m in members.get("members", []) if not m.get("isLearner"))
    answering = {}
    for entry in statuses:
        status = entry.get("Status") or {}
        member_id = (status.get("header") or {}).get("member_id")
        if member_id in voters and status.get("leader"):
            answering[member_id] = status
    if not answering:
        return None, "no voting member answered with a leader"
    followers = sorted(i for i, s in answering.items() if s.get("leader") != i)
    if followers:
        return followers[0], "the follower with the lowest member ID"
    return sorted(answering)[0], "the only voter that answered"


def free_space_problem(path, need, floor, statvfs=os.statvfs):
    """Why ``need`` more bytes in ``path``'s file system would leave less
    than ``floor`` bytes free, or '' when they fit."""
    st = statvfs(path)
    free = st.f_bavail * st.f_frsize
    if free - need < floor:
        return ("%s has %d MiB free; the snapshot needs about %d MiB and %d MiB must stay free"
                % (path, free // 2 ** 20, -(-need // 2 ** 20), floor // 2 ** 20))
    return ""
