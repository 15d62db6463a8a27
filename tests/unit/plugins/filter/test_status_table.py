# -*- coding: utf-8 -*-
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.status_table import status_table


def status(**over):
    base = {
        "healthy": True, "cluster_id": "42", "leader_name": "etcd2", "alarms": [], "problems": [],
        "members": [{"name": "etcd1"}, {"name": "etcd2"}],
        "endpoints": [
            {"reachable": True, "name": "etcd1", "endpoint": "https://10.0.0.1:2379", "version": "3.5.1",
             "is_leader": False, "db_size": 20480, "db_size_in_use": 16384, "raft_term": 2, "raft_index": 10},
            {"reachable": False, "name": "", "endpoint": "https://10.0.0.2:2379", "error": "connection refused"},
        ],
    }
    base.update(over)
    return base


def test_rows_align_and_carry_every_column():
    lines = status_table(status())
    assert lines[0].split() == ["NAME", "ENDPOINT", "VERSION", "LEADER", "DB", "SIZE", "IN", "USE",
                                "RAFT", "TERM", "RAFT", "INDEX", "ERROR"]
    assert lines[1].split()[:8] == ["etcd1", "https://10.0.0.1:2379", "3.5.1", "no", "20.0", "KiB", "16.0", "KiB"]
    assert lines[2].startswith("?") and lines[2].endswith("connection refused")
    # every column starts at the same offset on every row
    assert lines[0].index("ENDPOINT") == lines[1].index("https://") == lines[2].index("https://")
    assert lines[3] == "cluster 42: 2 members, leader etcd2, healthy"


def test_unhealthy_summary_lists_alarms_and_problems():
    lines = status_table(status(healthy=False, alarms=[{"alarm": "NOSPACE", "member_id": "7"}],
                                problems=["no leader"]))
    assert lines[-2] == "cluster 42: 2 members, leader etcd2, NOT healthy, alarms: NOSPACE on 7"
    assert lines[-1] == "problem: no leader"


def test_rejects_other_input():
    with pytest.raises(AnsibleFilterError, match="etcd_status_info"):
        status_table({"stdout": ""})


def test_certificates_follow_as_a_table_with_the_expiring_ones_named():
    certs = [{"kind": "ca", "member": "", "subject": "etcd CA", "not_after": "2036-12-04T06:00:00Z", "days_left": 3649,
              "error": ""},
             {"kind": "peer", "member": "etcd1", "subject": "etcd1", "not_after": "2026-12-20T06:00:00Z",
              "days_left": 12, "error": ""},
             {"kind": "client", "member": "etcd2", "subject": "", "not_after": "", "days_left": None,
              "error": "cannot reach it (Connection refused)"}]
    lines = status_table(status(certificates=certs, expiring=["the peer certificate of member etcd1 expires soon"]))
    start = lines.index(next(line for line in lines if line.startswith("CERTIFICATE")))
    assert lines[start].split() == ["CERTIFICATE", "MEMBER/CA", "EXPIRES", "DAYS", "ERROR"]
    assert lines[start + 1].split() == ["ca", "etcd", "CA", "2036-12-04T06:00:00Z", "3649"]
    assert lines[start + 2].split() == ["peer", "etcd1", "2026-12-20T06:00:00Z", "12"]
    assert lines[start + 3].split()[:4] == ["client", "etcd2", "-", "-"]
    assert lines[start + 3].endswith("cannot reach it (Connection refused)")
    assert lines[start].index("EXPIRES") == lines[start + 2].index("2026")
    assert lines[-1] == "expiring: the peer certificate of member etcd1 expires soon"
    # Without certificates, the table ends with the summary as before.
    assert not any(line.startswith("CERTIFICATE") for line in status_table(status()))
