# -*- coding: utf-8 -*-
"""Decision logic of etcd_member (pure functions, no network)."""

from __future__ import annotations

import pytest

from ansible_collections.quorum.etcd.plugins.modules import etcd_member as em


def m(i, name=None, learner=False, started=True):
    name = "etcd%d" % i if name is None else name
    return {"id": str(i), "id_hex": "%x" % i, "name": name if started else "",
            "peer_urls": ["https://10.0.0.%d:2380" % i],
            "client_urls": ["https://10.0.0.%d:2379" % i] if started else [], "is_learner": learner}


def params(**kw):
    p = {"name": None, "peer_urls": None, "state": "present", "learner": None, "force": False}
    p.update(kw)
    return p


THREE = [m(1), m(2), m(3)]


def test_find_by_name_and_by_url():
    assert em.find_member(THREE, "etcd2", None)["id"] == "2"
    assert em.find_member(THREE, None, ["https://10.0.0.3:2380/"])["id"] == "3"
    assert em.find_member(THREE, "etcd3", ["https://10.0.0.3:2380"])["id"] == "3"
    assert em.find_member(THREE, "etcd9", None) is None


def test_find_unstarted_member_by_url_with_name():
    members = THREE + [m(4, learner=True, started=False)]
    assert em.find_member(members, "etcd4", ["https://10.0.0.4:2380"])["id"] == "4"


def test_find_conflicts():
    with pytest.raises(em.Conflict, match="etcd1"):
        em.find_member(THREE, "etcd1", ["https://10.0.0.2:2380"])
    with pytest.raises(em.Conflict, match="does not change peer URLs"):
        em.find_member(THREE, "etcd1", ["https://10.0.0.9:2380"])
    with pytest.raises(em.Conflict, match="etcd2"):
        em.find_member(THREE, "etcd9", ["https://10.0.0.2:2380"])


@pytest.mark.parametrize("target,kw,action", [
    (None, dict(state="absent"), "none"),
    ("1", dict(state="absent"), "remove"),
    (None, dict(peer_urls=["https://10.0.0.4:2380"]), "add_learner"),
    (None, dict(peer_urls=["https://10.0.0.4:2380"], learner=True), "add_learner"),
    (None, dict(peer_urls=["https://10.0.0.4:2380"], learner=False), "add_voting"),
    ("1", dict(), "none"),
    ("1", dict(learner=False), "none"),
    ("L", dict(learner=False), "promote"),
    ("L", dict(learner=True), "none"),
    ("L", dict(), "none"),
])
def test_plan(target, kw, action):
    learner = m(4, learner=True)
    t = {"1": THREE[0], "L": learner, None: None}[target]
    assert em.plan(THREE + [learner], t, params(**kw)) == action


def test_plan_errors():
    with pytest.raises(em.Conflict, match="peer_urls"):
        em.plan(THREE, None, params(name="etcd4"))
    with pytest.raises(em.Conflict, match="learner"):
        em.plan(THREE, THREE[0], params(learner=True))


def test_check_add():
    em.check_add(THREE, True, "add_learner")
    with pytest.raises(em.Refused, match="SAFETY-6"):
        em.check_add(THREE, True, "add_voting")
    with pytest.raises(em.Refused, match="learner etcd4"):
        em.check_add(THREE + [m(4, learner=True)], True, "add_learner")
    with pytest.raises(em.Refused, match="never started"):
        em.check_add(THREE + [m(4, started=False)], True, "add_learner")
    with pytest.raises(em.Refused, match="no leader"):
        em.check_add(THREE, False, "add_learner")
    em.check_add(THREE, True, "add_learner", {"1", "2", "3"})
    with pytest.raises(em.Refused, match=r"etcd3 .*SAFETY-8"):
        em.check_add(THREE, True, "add_learner", {"1", "2"})


@pytest.mark.parametrize("size,target,started,ok", [
    (3, 1, {"2", "3"}, True),          # 3 -> 2, both remaining up
    (3, 1, {"2"}, False),              # 3 -> 2, one remaining down: 1 < 2
    (5, 1, {"2", "3", "4"}, True),     # 5 -> 4 needs 3
    (5, 1, {"2", "3"}, False),
    (2, 1, {"2"}, True),               # 2 -> 1
    (1, 1, set(), False),              # last member
])
def test_check_remove_quorum(size, target, started, ok):
    members = [m(i) for i in range(1, size + 1)]
    t = members[target - 1]
    if ok:
        em.check_remove(members, t, started)
    else:
        with pytest.raises(em.Refused, match="SAFETY-7"):
            em.check_remove(members, t, started)


def test_removing_learner_never_refused():
    members = THREE + [m(4, learner=True)]
    em.check_remove(members, members[3], set())


def test_predict():
    after, member = em.predict(THREE, None, "add_learner", params(peer_urls=["https://10.0.0.4:2380"]))
    assert len(after) == 4 and member["is_learner"] is True and member["id"] == ""
    after, member = em.predict(THREE, THREE[1], "remove", params())
    assert [x["id"] for x in after] == ["1", "3"] and member == {}
    learners = THREE + [m(4, learner=True)]
    after, member = em.predict(learners, learners[3], "promote", params())
    assert member["is_learner"] is False and learners[3]["is_learner"] is True  # input untouched


@pytest.mark.parametrize("kw,named", [
    (dict(name=" "), "name"),
    (dict(peer_urls=["10.0.0.4:2380"]), "10.0.0.4:2380"),
    (dict(peer_urls=[]), "peer_urls"),
    (dict(wait_timeout=-1), "wait_timeout"),
])
def test_validate_params(kw, named):
    p = params(wait_timeout=60, wait_delay=2)
    p.update(kw)
    with pytest.raises(em.EtcdConfigError, match=named):
        em.validate_params(p)


class FakeLeaderClient:
    """Just enough of EtcdClient for move_leadership: statuses by client URL and
    a transfer that takes effect (or is refused) when asked."""

    def __init__(self, leader, indexes, refuse=False):
        self.leader, self.indexes, self.refuse, self.moves = leader, indexes, refuse, []

    def status(self, endpoint=None):
        member_id = endpoint.split(".")[-1].split(":")[0]
        if member_id not in self.indexes:
            raise em.EtcdError("unreachable", endpoint)
        return {"member_id": member_id, "leader_id": self.leader, "raft_index": self.indexes[member_id]}

    def move_leader(self, endpoint, target_id):
        self.moves.append((endpoint, target_id))
        if self.refuse:
            raise em.EtcdError("etcdserver: not leader", endpoint)
        self.leader = target_id


FAST = {"wait_timeout": 1.0, "wait_delay": 0.01}


def test_move_leadership_picks_the_most_up_to_date_started_voter():
    members = [m(1), m(2), m(3), m(4, learner=True)]
    client = FakeLeaderClient("1", {"1": 50, "2": 40, "3": 45, "4": 60})
    successor = em.move_leadership(client, members, members[0], FAST)
    assert successor["id"] == "3"  # the learner (index 60) is never chosen
    assert client.moves == [("https://10.0.0.1:2379", "3")] and client.leader == "3"


def test_move_leadership_only_when_the_target_leads():
    client = FakeLeaderClient("2", {"1": 50, "2": 50, "3": 50})
    assert em.move_leadership(client, THREE, THREE[0], FAST) is None
    assert client.moves == []


def test_move_leadership_refused_without_a_started_successor_or_a_transfer():
    client = FakeLeaderClient("1", {"1": 50})  # 2 and 3 unreachable
    with pytest.raises(em.Refused, match="no other started voting member"):
        em.move_leadership(client, THREE, THREE[0], FAST)
    client = FakeLeaderClient("1", {"1": 50, "2": 50, "3": 50}, refuse=True)
    with pytest.raises(em.Refused, match="nothing was removed"):
        em.move_leadership(client, THREE, THREE[0], FAST)


class FakeStatusClient:
    """status() and member_list() of a cluster whose leader is member 2."""

    def __init__(self, fail=False):
        self.fail = fail

    def status(self, endpoint=None):
        if self.fail:
            raise em.EtcdError("unreachable")
        return {"leader_id": "2", "member_id": "1"}

    def member_list(self):
        return {}, [{"id": "1", "client_urls": ["https://10.0.0.1:2379"]},
                    {"id": "2", "client_urls": ["https://10.0.0.2:2379", "https://[fd00::2]:2379"]}]


def test_promotion_goes_to_the_leader_or_falls_back():
    # etcd 3.5 loses the caller's identity when a follower forwards a promotion
    # to the leader (auth on), so the module sends it to the leader itself.
    assert em.leader_client_url(FakeStatusClient()) == "https://10.0.0.2:2379"
    assert em.leader_client_url(FakeStatusClient(fail=True)) is None
