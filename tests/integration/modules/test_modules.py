# -*- coding: utf-8 -*-
"""quorum.etcd modules against a real TLS etcd cluster (no mocks).

Tests run in file order and share one cluster: 3 members -> add etcd4 as a
learner -> start it -> promote -> remove a follower -> refuse a
quorum-breaking removal while a member is stopped -> remove the leader.
Every module call is: check mode (reports the change, the cluster is read
back unchanged), real (changed), again (not changed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

import etcd_lab

STATE = {}


def ids(members):
    return sorted((m["id"], m["is_learner"]) for m in members)


def member_args(lab, **kw):
    args = lab.conn_args()
    args.update(kw)
    return args


# ---------------------------------------------------------------- status_info

def test_status_info_all_healthy(lab):
    before = lab.member_list()
    check = lab.run_module("etcd_status_info", lab.conn_args(), check=True)
    real = lab.run_module("etcd_status_info", lab.conn_args())
    for res in (check, real):
        assert res["_rc"] == 0, res
        assert res["changed"] is False
        assert res["healthy"] is True, res["problems"]
        assert len(res["endpoints"]) == 3
        assert sum(e["is_leader"] for e in res["endpoints"]) == 1
        assert {e["name"] for e in res["endpoints"]} == {"etcd1", "etcd2", "etcd3"}
        for e in res["endpoints"]:
            assert e["reachable"] and e["version"] == os.environ.get("ETCD_VERSION", e["version"]), e
            assert e["db_size"] > 0 and e["raft_term"] > 0 and e["raft_index"] > 0
            assert isinstance(e["member_id"], str) and e["member_id"].isdigit()
            # Every build the lab serves has /readyz (3.5.11 and later).
            assert e["ready"] is True and e["ready_reason"] == "", e
        assert res["alarms"] == []
        assert res["leader_name"] in ("etcd1", "etcd2", "etcd3")
    assert ids(lab.member_list()) == ids(before)


def test_status_info_cluster_option(lab):
    res = lab.run_module("etcd_status_info", dict(lab.conn_args([lab.members[0].client_url]), cluster=True))
    assert res["_rc"] == 0, res
    assert sorted(e["endpoint"] for e in res["endpoints"]) == sorted(m.client_url for m in lab.members)
    assert res["healthy"] is True


def test_status_info_unreachable_endpoint_reported_not_fatal(lab):
    eps = [lab.unused_endpoint] + [m.client_url for m in lab.members]
    res = lab.run_module("etcd_status_info", lab.conn_args(eps))
    assert res["_rc"] == 0, res
    assert res["healthy"] is False
    bad = res["endpoints"][0]
    assert bad["reachable"] is False and lab.unused_endpoint in bad["error"]
    assert all(e["reachable"] for e in res["endpoints"][1:])
    assert any(lab.unused_endpoint in p for p in res["problems"])


def test_status_info_all_down_fails(lab):
    res = lab.run_module("etcd_status_info", lab.conn_args([lab.unused_endpoint]))
    assert res["_rc"] != 0 and res.get("failed")
    assert lab.unused_endpoint in res["msg"]


def test_status_info_waits_for_a_restarted_member(lab):
    """SAFETY-11: the health gate as one call. With a member stopped, the wait
    reads until the member serves again (restarted meanwhile, 5 s after it
    began: far more than a module takes to start), and says how many
    reads it took; with the member still down when the budget ends, it
    returns the last, unhealthy read naming it."""
    member = lab.members[2]
    args = dict(lab.conn_args([lab.members[0].client_url]), cluster=True, wait_interval=0.25)
    member.stop()
    try:
        short = lab.run_module("etcd_status_info", dict(args, wait_timeout=3.0))
        assert short["_rc"] == 0, short
        assert short["healthy"] is False and short["attempts"] >= 2, short
        assert any(member.name in p for p in short["problems"]), short["problems"]
        timer = threading.Timer(5.0, member.resume)
        timer.start()
        try:
            res = lab.run_module("etcd_status_info", dict(args, wait_timeout=60.0))
        finally:
            timer.join()
    finally:
        if not member.running:
            member.resume()
    assert res["_rc"] == 0, res
    assert res["healthy"] is True, res["problems"]
    assert res["attempts"] >= 2 and res["waited"] >= 1.0, (res["attempts"], res["waited"])
    assert {e["name"] for e in res["endpoints"] if e["reachable"]} == {m.name for m in lab.members}


@pytest.mark.parametrize("module", ["etcd_status_info", "etcd_member"])
def test_wrong_ca_names_endpoint(lab, module):
    args = lab.conn_args([lab.members[0].client_url])
    args["ca_cert"] = str(lab.wrong_ca_file)
    if module == "etcd_member":
        args.update(name="etcd9", peer_urls=["https://127.0.0.1:2380"])
    res = lab.run_module(module, args)
    assert res["_rc"] != 0 and res.get("failed"), res
    assert lab.members[0].client_url in res["msg"]
    assert "certificate verif" in res["msg"].lower()


def test_first_endpoint_unreachable_fails_over(lab):
    before = lab.member_list()
    eps = [lab.unused_endpoint] + [m.client_url for m in lab.members]
    res = lab.run_module("etcd_member", member_args(lab, endpoints=eps, name="etcd1", state="present"))
    assert res["_rc"] == 0, res
    assert res["changed"] is False and res["member"]["name"] == "etcd1"
    assert ids(lab.member_list()) == ids(before)


BAD_ARGS = [
    ({"endpoints": ["10.0.0.1:2379"]}, "10.0.0.1:2379"),
    ({"endpoints": ["https://10.0.0.1"]}, "https://10.0.0.1"),
    ({"peer_urls": ["htp://10.0.0.4:2380"]}, "htp://10.0.0.4:2380"),
    ({"state": "gone"}, "gone"),
    ({"learner": "perhaps"}, "perhaps"),
    ({"connect_timeout": -1}, "-1"),
    ({"ca_cert": "/nonexistent/ca.crt"}, "/nonexistent/ca.crt"),
    ({"client_key": None}, "client_key"),
    ({"name": "  "}, "name"),
]


@pytest.mark.parametrize("bad,named", BAD_ARGS, ids=[b[1] for b in BAD_ARGS])
def test_bad_argument_values(lab, bad, named):
    before = lab.member_list()
    args = member_args(lab, name="etcd9", peer_urls=["https://127.0.0.1:2390"])
    args.update(bad)
    args = {k: v for k, v in args.items() if v is not None}
    res = lab.run_module("etcd_member", args)
    assert res["_rc"] != 0 and res.get("failed"), res
    assert named in res["msg"], res["msg"]
    assert "\n" not in res["msg"].strip()
    assert ids(lab.member_list()) == ids(before)


# ---------------------------------------------------------------- membership

def test_add_learner_check_real_again(lab):
    spare = lab.spare
    args = member_args(lab, name=spare.name, peer_urls=[spare.peer_url], learner=True)
    before = lab.member_list()

    check = lab.run_module("etcd_member", args, check=True)
    assert check["_rc"] == 0, check
    assert check["changed"] is True and check["action"] == "add_learner"
    assert len(check["members"]) == 4 and check["diff"]["before"]["members"]
    assert ids(lab.member_list()) == ids(before)  # nothing changed

    real = lab.run_module("etcd_member", args)
    assert real["_rc"] == 0, real
    assert real["changed"] is True and real["member"]["is_learner"] is True
    assert real["member"]["id"].isdigit() and real["member"]["peer_urls"] == [spare.peer_url]
    live = lab.member_list()
    assert len(live) == 4
    assert [m for m in live if m["is_learner"]][0]["id"] == real["member"]["id"]
    STATE["learner_id"] = real["member"]["id"]

    again = lab.run_module("etcd_member", args)
    assert again["_rc"] == 0, again
    assert again["changed"] is False and again["member"]["id"] == STATE["learner_id"]


def test_second_learner_refused(lab):
    before = lab.member_list()
    res = lab.run_module("etcd_member", member_args(lab, peer_urls=["https://%s.77:2380" % lab.prefix],
                                                    learner=True))
    assert res["_rc"] != 0 and res.get("failed"), res
    assert "SAFETY-6" in res["msg"] and "learner" in res["msg"]
    assert ids(lab.member_list()) == ids(before)


def test_add_voting_directly_refused(lab):
    res = lab.run_module("etcd_member", member_args(lab, peer_urls=["https://%s.77:2380" % lab.prefix],
                                                    learner=False))
    assert res["_rc"] != 0 and "SAFETY-6" in res["msg"], res


def test_start_learner_and_promote(lab):
    spare = lab.spare
    # SAFETY-5: initial-cluster from the live member list plus itself.
    live = lab.member_list()
    initial = ",".join("%s=%s" % (m["name"], m["peer_urls"][0]) for m in live if m["name"])
    spare.start(initial + ",%s=%s" % (spare.name, spare.peer_url), "existing")

    args = member_args(lab, name=spare.name, peer_urls=[spare.peer_url], learner=False,
                       wait_timeout=30, wait_delay=0.5)
    check = lab.run_module("etcd_member", args, check=True)
    assert check["_rc"] == 0, check
    assert check["changed"] is True and check["action"] == "promote"
    assert check["member"]["is_learner"] is False
    assert any(m["is_learner"] for m in lab.member_list())  # still a learner

    real = lab.run_module("etcd_member", args)
    assert real["_rc"] == 0, real
    assert real["changed"] is True and real["member"]["is_learner"] is False
    assert real["member"]["id"] == STATE["learner_id"]
    live = lab.member_list()
    assert len(live) == 4 and not any(m["is_learner"] for m in live)

    again = lab.run_module("etcd_member", args)
    assert again["_rc"] == 0 and again["changed"] is False, again
    lab.members.append(spare)
    lab.spare = etcd_lab.Member(lab, 9)
    lab.wait_healthy(lab.members)
    # the new member serves reads written through another member
    lab.client([lab.members[0].client_url]).put("quorum/test", "v1")
    assert lab.client([spare.client_url]).get("quorum/test") == "v1"


def test_remove_follower(lab):
    leader = lab.leader(lab.members)
    follower = next(m for m in lab.members if m is not leader)
    args = member_args(lab, name=follower.name, state="absent")

    check = lab.run_module("etcd_member", args, check=True)
    assert check["_rc"] == 0, check
    assert check["changed"] is True and check["action"] == "remove" and check["member"] == {}
    assert follower.name in [m["name"] for m in lab.member_list()]

    real = lab.run_module("etcd_member", args)
    assert real["_rc"] == 0, real
    assert real["changed"] is True
    assert follower.name not in [m["name"] for m in real["members"]]
    follower.stop()
    lab.members.remove(follower)
    assert follower.name not in [m["name"] for m in lab.member_list()]

    again = lab.run_module("etcd_member", args)  # SAFETY-7: absent member is ok
    assert again["_rc"] == 0 and again["changed"] is False, again


def test_quorum_breaking_removal_refused(lab):
    assert len(lab.members) == 3
    leader = lab.leader(lab.members)
    stopped, target = [m for m in lab.members if m is not leader][:2]
    stopped.stop()
    try:
        before = lab.member_list()
        args = member_args(lab, name=target.name, state="absent")
        for check in (True, False):
            res = lab.run_module("etcd_member", args, check=check)
            assert res["_rc"] != 0 and res.get("failed"), res
            assert "SAFETY-7" in res["msg"] and stopped.name in res["msg"], res["msg"]
        assert ids(lab.member_list()) == ids(before)
        # SAFETY-8: no replacement is added while a voting member is down
        add = lab.run_module("etcd_member", member_args(lab, peer_urls=["https://%s.77:2380" % lab.prefix],
                                                        learner=True), check=True)
        assert add["_rc"] != 0 and "SAFETY-8" in add["msg"] and stopped.name in add["msg"], add
        assert ids(lab.member_list()) == ids(before)
    finally:
        stopped.resume()
    lab.wait_healthy(lab.members)


def test_follower_moves_leadership_away(lab):
    """state=follower, used before a rolling restart of the leader."""
    leader = lab.leader(lab.members)
    args = member_args(lab, name=leader.name, state="follower")
    check = lab.run_module("etcd_member", args, check=True)
    assert check["_rc"] == 0 and check["changed"] is True and check["action"] == "move_leader", check
    assert check["leader_moved_to"] in [m.name for m in lab.members if m is not leader], check
    assert lab.leader(lab.members) is leader
    real = lab.run_module("etcd_member", args)
    assert real["_rc"] == 0 and real["changed"] is True, real
    new = lab.leader(lab.members)
    assert new is not leader and new.name == real["leader_moved_to"], (real, new)
    again = lab.run_module("etcd_member", args)
    assert again["_rc"] == 0 and again["changed"] is False and again["leader_moved_to"] == "", again
    assert {m["name"] for m in lab.member_list()} >= {m.name for m in lab.members}
    missing = lab.run_module("etcd_member", member_args(lab, name="nobody", state="follower"))
    assert missing["_rc"] != 0 and "nobody is not a member" in missing["msg"], missing


def test_remove_leader(lab):
    leader = lab.leader(lab.members)
    args = member_args(lab, name=leader.name, peer_urls=[leader.peer_url], state="absent")
    check = lab.run_module("etcd_member", args, check=True)
    assert check["_rc"] == 0 and check["changed"] is True, check
    assert leader.name in [m["name"] for m in lab.member_list()]

    real = lab.run_module("etcd_member", args)
    assert real["_rc"] == 0 and real["changed"] is True, real
    # Leadership was handed over before the removal (move_leader defaults to true).
    assert real["leader_moved_to"] in [m.name for m in lab.members if m is not leader], real
    leader.stop()
    lab.members.remove(leader)
    lab.wait_healthy(lab.members)
    live = lab.member_list()
    assert leader.name not in [m["name"] for m in live] and len(live) == 2

    again = lab.run_module("etcd_member", args)
    assert again["_rc"] == 0 and again["changed"] is False, again
    # right after a leader change a raft read (alarms) may time out: poll, bounded
    for _attempt in range(10):
        status = lab.run_module("etcd_status_info", lab.conn_args())
        assert status["_rc"] == 0, status
        if status["healthy"]:
            break
    assert status["healthy"] is True and status["leader_name"] != leader.name, status


# ---------------------------------------------------------------- through ansible

def test_through_ansible_playbook_with_module_defaults(lab, tmp_path):
    """The real path: ansible-playbook, AnsiballZ, group/quorum.etcd.etcd."""
    conn = lab.conn_args()
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "connection": "local",
        "module_defaults": {"group/quorum.etcd.etcd": conn},
        "tasks": [
            {"name": "status", "quorum.etcd.etcd_status_info": {}, "register": "st"},
            {"name": "noop member", "quorum.etcd.etcd_member": {"name": lab.members[0].name},
             "register": "mb", "check_mode": True},
            {"ansible.builtin.assert": {"that": ["st.healthy", "not st.changed", "not mb.changed",
                                                 "mb.member.name == '%s'" % lab.members[0].name]}},
        ],
    }]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(lab.collections), ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, str(playbook)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=str(tmp_path), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------- user/password auth (last: enables auth)

def test_user_password_auth(lab):
    client = lab.client()
    client.call("/v3/auth/user/add", {"name": "root", "password": "s3cret"})
    client.call("/v3/auth/user/grant", {"user": "root", "role": "root"})
    client.call("/v3/auth/enable", {})
    nocn = dict(lab.conn_args(), client_cert=str(lab.nocn_cert), client_key=str(lab.nocn_key))
    try:
        ok = lab.run_module("etcd_status_info", dict(nocn, username="root", password="s3cret"))
        assert ok["_rc"] == 0 and ok["healthy"] is True, ok
        assert "s3cret" not in json.dumps(ok)  # no_log

        noop = lab.run_module("etcd_member", dict(nocn, username="root", password="s3cret",
                                                  name=lab.members[0].name))
        assert noop["_rc"] == 0 and noop["changed"] is False, noop

        one = dict(nocn, endpoints=[lab.members[0].client_url])
        bad = lab.run_module("etcd_status_info", dict(one, username="root", password="wrong"))
        assert bad["_rc"] != 0 and bad.get("failed"), bad
        assert "authentication failed" in bad["msg"] and lab.members[0].client_url in bad["msg"]

        # etcd's gateway refuses a certificate with a CN once auth is on: say so clearly
        cn = lab.run_module("etcd_status_info", dict(lab.conn_args([lab.members[0].client_url]),
                                                     username="root", password="s3cret"))
        assert cn["_rc"] != 0 and "CommonName" in cn["msg"] and lab.members[0].client_url in cn["msg"], cn
    finally:
        lab.client(nocn=True, username="root", password="s3cret").call("/v3/auth/disable", {})


def test_missing_client_cert_is_a_clear_tls_error(lab):
    args = lab.conn_args([lab.members[0].client_url])
    del args["client_cert"], args["client_key"]
    res = lab.run_module("etcd_status_info", args)
    assert res["_rc"] != 0 and lab.members[0].client_url in res["msg"], res
    # etcd 3.5 sends a TLS alert, 3.4 closes the connection: both name the client certificate
    assert "client certificate" in res["msg"], res["msg"]


# ---------------------------------------------------------------- no quorum (last: breaks the cluster)

def test_no_quorum_add_refused_and_status_reports(lab):
    assert len(lab.members) == 2
    down = lab.members[1]
    down.stop()
    eps = [m.client_url for m in lab.members]
    before = lab.client([lab.members[0].client_url]).member_list(linearizable=False)[1]
    res = lab.run_module("etcd_member", member_args(lab, endpoints=eps, peer_urls=["https://%s.77:2380" % lab.prefix],
                                                    learner=True, timeout=5, wait_timeout=2, wait_delay=0.5))
    assert res["_rc"] != 0 and res.get("failed"), res
    # etcd 3.5: the linearizable member list times out. etcd 3.4 serves it from the
    # local view; then the module's own checks (no leader: SAFETY-6, member down:
    # SAFETY-8) or etcd ("unhealthy cluster") refuse, depending on timing.
    reasons = ("nothing was changed", "SAFETY-6", "SAFETY-8", "unhealthy cluster")
    assert any(r in res["msg"] for r in reasons), res["msg"]
    assert ids(lab.client([lab.members[0].client_url]).member_list(linearizable=False)[1]) == ids(before)

    status = lab.run_module("etcd_status_info", lab.conn_args(eps))
    assert status["_rc"] == 0, status  # one endpoint answers: reported, not fatal
    assert status["healthy"] is False and status["leader_id"] == "0"
    assert any(down.client_url in p for p in status["problems"])
    # The member left answers its status but cannot serve a read the cluster
    # agrees on: its own readiness check says so, and so does the result.
    alone = next(e for e in status["endpoints"] if e["reachable"])
    assert alone["ready"] is False and "linearizable_read" in alone["ready_reason"], alone
    assert any("not ready" in p and "linearizable_read" in p for p in status["problems"]), status["problems"]
