# -*- coding: utf-8 -*-
"""SAFETY-23: a restart an earlier run did not finish is found from the
record the unit writes at each start."""
from __future__ import annotations

import hashlib

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_restart_pending import etcd_restart_pending

CONF = "/etc/etcd/etcd.conf.yml"
UNIT = "/etc/systemd/system/etcd.service"
CA = "/etc/etcd/pki/ca.crt"
KEY = "/etc/etcd/pki/member.key"
BIN = "/usr/local/bin/etcd"
INITIAL = ["initial-cluster", "initial-cluster-state", "initial-cluster-token"]
RUNNING = "name: etcd1\nlog-level: info\ninitial-cluster-state: new\n"


def sha(text):
    return hashlib.sha1(text.encode()).hexdigest()


def node(conf=RUNNING, loaded=RUNNING, ca="ca-1", loaded_ca="ca-1", exe="/opt/etcd/v3.6.6/etcd",
         link="/opt/etcd/v3.6.6/etcd", active="active", record=True):
    paths = {
        CONF: {"exists": True, "type": "file", "content": conf},
        UNIT: {"exists": True, "type": "file", "checksum": sha("unit")},
        CA: {"exists": True, "type": "file", "checksum": sha(ca)},
        KEY: {"exists": True, "type": "file", "checksum": sha("key")},
        BIN: {"exists": True, "type": "link", "target": link, "resolved": link},
    }
    if record:
        paths["/run/etcd/loaded.conf.yml"] = {"exists": True, "type": "file", "content": loaded}
        paths["/run/etcd/loaded.sha1"] = {"exists": True, "type": "file", "content": "".join(
            "%s  %s\n" % (s, p) for s, p in ((sha("unit"), UNIT), (sha(loaded_ca), CA), (sha("key"), KEY)))}
    else:
        paths["/run/etcd/loaded.conf.yml"] = {"exists": False}
        paths["/run/etcd/loaded.sha1"] = {"exists": False}
    return {"paths": paths, "units": {"etcd.service": {"active": active, "exe": exe if active == "active" else ""}}}


def pending(n):
    return etcd_restart_pending(n, unit="etcd.service", config=CONF, record="/run/etcd/", binary=BIN,
                                files=[UNIT, CA, KEY], initial_keys=INITIAL)


def test_nothing_pending_when_the_running_member_loaded_what_is_on_disk():
    assert pending(node()) == []


def test_bootstrap_only_keys_never_count():
    # After the first bootstrap the file says "existing"; etcd ignores it then.
    assert pending(node(conf=RUNNING.replace("new", "existing"))) == []


def test_a_changed_runtime_key_is_pending_and_named():
    assert pending(node(conf=RUNNING.replace("info", "warn"))) == [CONF + " changed since etcd started: log-level"]


def test_a_new_ca_is_pending():
    assert pending(node(ca="ca-2")) == [CA + " changed since etcd started"]


def test_a_new_binary_is_pending_and_a_deleted_one_too():
    assert pending(node(link="/opt/etcd/v3.7.3/etcd")) == [
        "etcd runs /opt/etcd/v3.6.6/etcd while /usr/local/bin/etcd is now /opt/etcd/v3.7.3/etcd"]
    assert pending(node(exe="/opt/etcd/v3.5.9/etcd (deleted)", link="/opt/etcd/v3.7.3/etcd")) == [
        "etcd runs /opt/etcd/v3.5.9/etcd, which is no longer on disk"]


def test_a_running_member_without_a_record_is_restarted_once():
    reasons = pending(node(record=False))
    assert len(reasons) == 1 and "without a record" in reasons[0]


def test_a_stopped_member_has_nothing_pending():
    assert pending(node(active="inactive", conf=RUNNING.replace("info", "warn"), record=False)) == []
    assert pending(node(active="failed", ca="ca-2")) == []


def test_bad_input_is_one_clear_error():
    with pytest.raises(AnsibleFilterError, match="expects the result of etcd_node_info"):
        pending(None)
    with pytest.raises(AnsibleFilterError, match="cannot read a configuration file"):
        pending(node(loaded="a: [b"))


def test_the_binary_recorded_at_the_start_counts_when_the_process_cannot_be_read():
    """Root in a container without CAP_SYS_PTRACE cannot read /proc/<pid>/exe
    of another user's process: the unit's own record says what started."""
    n = node(exe="", link="/opt/etcd/v3.7.3/etcd")
    assert pending(n) == []  # nothing known about the binary
    n["paths"]["/run/etcd/loaded.exe"] = {"exists": True, "type": "file", "content": "/opt/etcd/v3.6.6/etcd\n"}
    assert pending(n) == ["etcd runs /opt/etcd/v3.6.6/etcd while /usr/local/bin/etcd is now /opt/etcd/v3.7.3/etcd"]
