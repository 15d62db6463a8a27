# -*- coding: utf-8 -*-
"""restore.yml from the scheduled backups: the newest verified snapshot any
member records, or one sentence naming why there is none."""
from __future__ import annotations

import base64
import json

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_scheduled_newest import etcd_scheduled_newest


def read(**state):
    body = dict({"cluster": "etcd", "sha256": "ab" * 32, "revision": 7}, **state)
    return {"content": base64.b64encode(json.dumps(body).encode()).decode(), "failed": False}


def test_the_newest_by_time_and_its_path():
    reads = {"m1": read(file="etcd-20261207T010000Z.db", time="2026-12-07T01:00:00Z"),
             "m2": read(file="etcd-20261207T020000Z.db", time="2026-12-07T02:00:00Z"),
             "m3": {"failed": True, "msg": "file not found: /d/etcd-last-good.json"}}
    got = etcd_scheduled_newest(reads, "etcd", "/d/")
    assert got["host"] == "m2" and got["path"] == "/d/etcd-20261207T020000Z.db" and got["problem"] == ""
    assert got["state"]["revision"] == 7


def test_a_tie_goes_to_the_first_member_by_name():
    same = {"file": "etcd-20261207T010000Z.db", "time": "2026-12-07T01:00:00Z"}
    assert etcd_scheduled_newest({"m2": read(**same), "m1": read(**same)}, "etcd", "/d")["host"] == "m1"


def test_none_names_every_members_reason():
    reads = {"m1": {"failed": True, "msg": "file not found: /d/etcd-last-good.json"},
             "m2": read(cluster="etcd-events", file="etcd-events-20261207T010000Z.db", time="2026-12-07T01:00:00Z"),
             "m3": read(file="../../etc/shadow", time="2026-12-07T01:00:00Z"),
             "m4": {"content": base64.b64encode(b"not json").decode()}}
    got = etcd_scheduled_newest(reads, "etcd", "/d")
    assert got["host"] == "" and got["path"] == ""
    assert got["problem"] == (
        "no member records a verified scheduled snapshot of cluster etcd in /d/etcd-last-good.json ("
        "m1: file not found: /d/etcd-last-good.json; m2: the state file is not cluster etcd's; "
        "m3: the state file names no snapshot of cluster etcd; m4: not a JSON state file)")


def test_bad_input():
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        etcd_scheduled_newest([], "etcd", "/d")
