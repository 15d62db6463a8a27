# -*- coding: utf-8 -*-
"""etcd_compaction, etcd_defrag, etcd_alarm and etcd_status_info's
tolerate_alarms against a real TLS cluster with a small backend quota (no
mocks). The cluster is filled until etcd raises NOSPACE and refuses writes;
compaction, defragmentation and disarming bring it back. Every module call is
check mode (reports the change, the cluster is read back unchanged), real
(changed), again (not changed)."""

from __future__ import annotations

import os

import pytest

import etcd_lab

QUOTA = 8 * 1024 * 1024
VALUE = os.urandom(192 * 1024).hex()[: 256 * 1024]  # 256 KiB of text, incompressible enough


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    etcd_lab.require_etcd()
    cluster = etcd_lab.Lab(tmp_path_factory.mktemp("etcd-quota"),
                           extra_args=["--quota-backend-bytes", str(QUOTA)])
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def statuses(lab):
    return [lab.client([m.client_url]).status() for m in lab.members]


def readable(lab, revision):
    return not lab.client().is_compacted(revision)


def test_compaction_check_real_again(small):
    client = small.client()
    first = None
    for i in range(5):
        client.put("/compact/k", "v%d" % i)
        first = first or client.revision()
    args = small.conn_args()
    check = small.run_module("etcd_compaction", args, check=True)
    assert check["_rc"] == 0 and check["changed"] is True, check
    current = check["current_revision"]
    assert check["revision"] == current >= first + 4
    assert readable(small, first), "check mode must not compact"
    real = small.run_module("etcd_compaction", args)
    assert real["_rc"] == 0 and real["changed"] is True and real["revision"] == current, real
    assert not readable(small, current - 1) and readable(small, current)
    assert client.get("/compact/k") == "v4"  # the latest version is kept
    again = small.run_module("etcd_compaction", args)
    assert again["_rc"] == 0 and again["changed"] is False, again


def test_compaction_keeps_the_newest_revisions(small):
    """Issue 15, item 11: maintenance.yml compacted to the current revision,
    dropping all history; it now keeps a window (keep)."""
    client = small.client()
    for i in range(6):
        client.put("/window/k", "v%d" % i)
    current = client.revision()
    args = dict(small.conn_args(), keep=3)
    real = small.run_module("etcd_compaction", args)
    assert real["_rc"] == 0 and real["changed"] is True and real["revision"] == current - 3, real
    assert readable(small, current - 3) and not readable(small, current - 4)
    again = small.run_module("etcd_compaction", args)
    assert again["_rc"] == 0 and again["changed"] is False, again
    short = small.run_module("etcd_compaction", dict(small.conn_args(), keep=current + 10))
    assert short["_rc"] == 0 and short["changed"] is False and short["revision"] == 0, short
    both = small.run_module("etcd_compaction", dict(small.conn_args(), keep=3, revision=current))
    assert both["_rc"] != 0 and "mutually exclusive" in both["msg"], both


def test_compaction_refuses_a_future_revision(small):
    current = small.client().revision()
    res = small.run_module("etcd_compaction", dict(small.conn_args(), revision=current + 1000))
    assert res["_rc"] != 0 and res["failed"], res
    assert "revision=%d" % (current + 1000) in res["msg"], res["msg"]


def test_nospace_is_cleared_by_compaction_defrag_and_disarm(small):
    client = small.client()
    refused = None
    for i in range(200):  # bounded: 200 x 256 KiB is six times the quota
        try:
            client.put("/fill", VALUE)
        except etcd_lab.etcd_client.EtcdNoSpace as exc:
            refused = (i, exc)
            break
    assert refused, "the quota was never reached"
    assert refused[0] >= 8, refused  # some writes went in first

    # The alarm is raised on the cluster and fails the normal health check ...
    status = small.run_module("etcd_status_info", dict(small.conn_args(), cluster=True))
    assert status["healthy"] is False and any(a["alarm"] == "NOSPACE" for a in status["alarms"]), status
    assert any("NOSPACE" in p for p in status["problems"]), status["problems"]
    # ... but not the maintenance playbook's gate, which must be able to run.
    tolerant = small.run_module("etcd_status_info", dict(small.conn_args(), cluster=True,
                                                         tolerate_alarms=["NOSPACE"]))
    assert tolerant["healthy"] is True, tolerant["problems"]
    assert tolerant["alarms"] == status["alarms"]

    # Disarming first would not help; compaction is allowed under NOSPACE.
    compacted = small.run_module("etcd_compaction", small.conn_args())
    assert compacted["_rc"] == 0 and compacted["changed"] is True, compacted

    # bbolt reports pages freed by the compaction as free only after later
    # writes, which NOSPACE refuses: the playbook forces the defragmentation
    # while the alarm is active, so does this test.
    before = statuses(small)
    assert all(s["db_size"] >= QUOTA / 2 for s in before), before
    args = dict(small.conn_args(), timeout=60, force=True)
    check = small.run_module("etcd_defrag", args, check=True)
    assert check["_rc"] == 0 and check["changed"] is True, check
    assert [m["endpoint"] for m in check["members"]] == args["endpoints"]
    assert all(m["defragmented"] for m in check["members"]), check["members"]
    assert [s["db_size"] for s in statuses(small)] == [s["db_size"] for s in before]

    real = small.run_module("etcd_defrag", args)
    assert real["_rc"] == 0 and real["changed"] is True, real
    for member in real["members"]:
        assert member["db_size_after"] < member["db_size"] / 4, member
    assert all(s["db_size"] < QUOTA / 4 for s in statuses(small))
    again = small.run_module("etcd_defrag", dict(args, force=False))
    assert again["_rc"] == 0 and again["changed"] is False, again
    assert not any(m["defragmented"] for m in again["members"])

    # Writes are still refused until the alarm is disarmed.
    with pytest.raises(etcd_lab.etcd_client.EtcdNoSpace):
        client.put("/after", "x")
    check = small.run_module("etcd_alarm", small.conn_args(), check=True)
    assert check["_rc"] == 0 and check["changed"] is True, check
    assert check["disarmed"] and all(a["alarm"] == "NOSPACE" and a["name"] for a in check["disarmed"]), check
    assert check["diff"]["before"]["alarms"] == check["alarms"] and check["diff"]["after"]["alarms"] == []
    assert small.client().alarms(), "check mode must not disarm"
    real = small.run_module("etcd_alarm", small.conn_args())
    assert real["_rc"] == 0 and real["changed"] is True and real["remaining"] == [], real
    again = small.run_module("etcd_alarm", small.conn_args())
    assert again["_rc"] == 0 and again["changed"] is False and again["alarms"] == [], again

    client.put("/after", "x")
    assert small.client([small.members[-1].client_url]).get("/after") == "x"
    healthy = small.run_module("etcd_status_info", dict(small.conn_args(), cluster=True))
    assert healthy["healthy"] is True, healthy["problems"]


def test_alarm_types_are_validated(small):
    """An unknown alarm type is refused by name; both known ones on a clean
    cluster change nothing."""
    res = small.run_module("etcd_alarm", dict(small.conn_args(), alarms=["BOGUS"]))
    assert res["_rc"] != 0 and "BOGUS" in res["msg"], res
    res = small.run_module("etcd_alarm", dict(small.conn_args(), alarms=["NOSPACE", "CORRUPT"]))
    assert res["_rc"] == 0 and res["changed"] is False and res["alarms"] == [], res
