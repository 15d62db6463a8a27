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
