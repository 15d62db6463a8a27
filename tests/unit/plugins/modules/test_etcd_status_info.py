# -*- coding: utf-8 -*-
"""Health summary of etcd_status_info (pure, no network)."""

from __future__ import annotations

from ansible_collections.quorum.etcd.plugins.modules import etcd_status_info as si

MEMBERS = [{"id": "1", "name": "etcd1", "client_urls": ["https://one:2379"]},
           {"id": "2", "name": "etcd2", "client_urls": ["https://two:2379"]}]


def entry(ep, member_id, leader, reachable=True, errors=()):
    e = dict(si._EMPTY, endpoint=ep, reachable=reachable, error="" if reachable else "%s: refused" % ep)
    if reachable:
        e.update(member_id=member_id, leader_id=leader, is_leader=member_id == leader, errors=list(errors))
    return e


def test_healthy():
    res = si.summarize([entry("a", "1", "1"), entry("b", "2", "1")], MEMBERS, [])
    assert res == {"healthy": True, "problems": [], "alarmed": False, "leader_id": "1", "leader_name": "etcd1"}


def test_unreachable_endpoint_is_a_problem():
    entries = [entry("a", "1", "1"), entry("b", "2", "1", reachable=False)]
    res = si.summarize(entries, MEMBERS, [])
    assert res["healthy"] is False and res["problems"] == ["b: refused"]
    assert entries[0]["name"] == "etcd1"


def test_no_leader_and_split_leaders():
    res = si.summarize([entry("a", "1", "0"), entry("b", "2", "0")], MEMBERS, [])
    assert not res["healthy"] and res["leader_id"] == "0"
    assert any("no leader" in p for p in res["problems"])
    res = si.summarize([entry("a", "1", "1"), entry("b", "2", "2")], MEMBERS, [])
    assert not res["healthy"] and any("disagree" in p for p in res["problems"])


def test_alarm_and_member_errors():
    res = si.summarize([entry("a", "1", "1", errors=["memberID:1 alarm:NOSPACE"])], MEMBERS,
                       [{"member_id": "1", "alarm": "NOSPACE"}])
    assert not res["healthy"] and res["alarmed"] is True
    assert "alarm NOSPACE on member etcd1 (1)" in res["problems"]
    assert "a: memberID:1 alarm:NOSPACE" in res["problems"]


def test_tolerated_down_endpoint_only():
    """SAFETY-8: a failed member about to be removed may be down; nothing else is excused."""
    entries = [entry("a", "1", "1"), entry("b", "2", "1", reachable=False)]
    res = si.summarize(entries, MEMBERS, [], tolerated=["b"])
    assert res["healthy"] is True and res["problems"] == []
    res = si.summarize([entry("a", "1", "0"), entry("b", "2", "0", reachable=False)], MEMBERS, [], tolerated=["b"])
    assert res["healthy"] is False and any("no leader" in p for p in res["problems"])
    res = si.summarize([entry("a", "1", "1", reachable=False), entry("b", "2", "1")], MEMBERS, [], tolerated=["b"])
    assert res["healthy"] is False and res["problems"] == ["a: refused"]


def test_unreachable_endpoint_is_named_after_its_member():
    members = [{"id": "1", "name": "etcd1", "client_urls": ["a"]}, {"id": "2", "name": "etcd2", "client_urls": ["b"]}]
    res = si.summarize([entry("a", "1", "1"), entry("b", "2", "1", reachable=False)], members, [])
    assert res["problems"] == ["member etcd2: b: refused"]


def test_tolerated_alarm_type_only():
    """The maintenance gate tolerates NOSPACE while it frees space; CORRUPT
    still stops it (SAFETY-11)."""
    nospace = [{"member_id": "1", "alarm": "NOSPACE"}]
    res = si.summarize([entry("a", "1", "1", errors=["memberID:1 alarm:NOSPACE "])], MEMBERS, nospace,
                       tolerated_alarms=["NOSPACE"])
    assert res["healthy"] is True and res["problems"] == [] and res["alarmed"] is False
    corrupt = [{"member_id": "2", "alarm": "CORRUPT"}]
    res = si.summarize([entry("a", "1", "1", errors=["memberID:2 alarm:CORRUPT "])], MEMBERS, nospace + corrupt,
                       tolerated_alarms=["NOSPACE"])
    assert res["healthy"] is False and res["alarmed"] is True
    assert res["problems"] == ["a: memberID:2 alarm:CORRUPT ", "alarm CORRUPT on member etcd2 (2)"]


def test_a_member_that_is_not_ready_makes_the_cluster_unhealthy():
    """SAFETY-11: a restarted member that answers its status but cannot yet
    serve linearizable reads holds the gate; a member without /readyz (None)
    is judged on the rest."""
    ready = entry("a", "1", "1")
    ready.update(ready=True)
    behind = entry("b", "2", "1")
    behind.update(ready=False, ready_reason="[-]linearizable_read failed: etcdserver: request timed out")
    res = si.summarize([ready, behind], MEMBERS, [])
    assert res["healthy"] is False
    assert res["problems"] == ["etcd2 not ready: [-]linearizable_read failed: etcdserver: request timed out"]
    assert si.summarize([ready, entry("b", "2", "1")], MEMBERS, [])["healthy"] is True


class _Client(object):
    """Just enough of EtcdClient for query()."""

    def __init__(self, ready):
        self.ready, self.excluded = ready, None

    def status(self, endpoint):
        return dict(si._EMPTY, member_id="1", leader_id="1", cluster_id="9")

    def readyz(self, endpoint, exclude):
        self.excluded = exclude
        if isinstance(self.ready, Exception):
            raise self.ready
        return self.ready


def test_query_reads_readiness_and_keeps_none_for_members_without_the_check():
    from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import EtcdTimeout

    client = _Client(None)
    e = si.query(client, "a")
    assert e["reachable"] and e["ready"] is None and client.excluded == ("non_learner",)
    e = si.query(_Client((False, "[-]serializable_read failed")), "a")
    assert e["ready"] is False and e["ready_reason"] == "[-]serializable_read failed"
    e = si.query(_Client(EtcdTimeout("no answer", "a")), "a", ("non_learner", "data_corruption"))
    assert e["ready"] is False and "no answer" in e["ready_reason"]


def test_a_voter_that_never_started_counts_as_down():
    """SAFETY-24: a voter with no client URL has no endpoint to ask; the
    cluster is not healthy while it counts toward quorum and is down."""
    members = [
        {"id": "1", "id_hex": "1", "name": "etcd1", "peer_urls": ["https://a:2380"], "client_urls": ["a"], "is_learner": False},
        {"id": "2", "id_hex": "2", "name": "etcd2", "peer_urls": ["https://b:2380"], "client_urls": ["b"], "is_learner": False},
        {"id": "3", "id_hex": "3", "name": "etcd3", "peer_urls": ["https://c:2380"], "client_urls": ["c"], "is_learner": False},
        {"id": "4", "id_hex": "4", "name": "", "peer_urls": ["https://d:2380"], "client_urls": [], "is_learner": False},
    ]
    entries = [entry("a", "1", "1"), entry("b", "2", "1"), entry("c", "3", "1")]
    res = si.summarize(entries, members, [])
    assert res["healthy"] is False
    assert res["problems"] == ["voting member <not started> (4, https://d:2380) has never started: it has no client URL and counts as down"]
    # Named as expected down, by peer URL (it has no name yet), it is tolerated.
    assert si.summarize(entries, members, [], down_names=["https://d:2380"])["healthy"] is True
    # A learner that has not started yet is not a voter: the gates handle it.
    learner = dict(members[3], is_learner=True)
    assert si.summarize(entries, members[:3] + [learner], [])["healthy"] is True


# ---------------------------------------------------------------- wait_timeout

class _Module:
    def __init__(self, **params):
        self.params = dict(dict(wait_timeout=0.0, wait_interval=0.5, wait_learner=""), **params)


class _Clock:
    """A fake monotonic clock that sleep() advances."""

    def __init__(self):
        self.now, self.sleeps = 100.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def _scripted(monkeypatch, clock, script):
    """si.read returns (or raises) the script's items in turn, each read
    taking 0.1 s of the fake clock."""
    calls = []

    def read(module, client):
        calls.append(clock())
        clock.now += 0.1
        item = script[min(len(calls), len(script)) - 1]
        if isinstance(item, Exception):
            raise item
        return dict(item)

    monkeypatch.setattr(si, "read", read)
    return calls


LEARNER = {"id": "9", "name": "", "peer_urls": ["https://new:2380"], "client_urls": [], "is_learner": True}
HEALTHY = {"healthy": True, "alarmed": False, "problems": [], "members": MEMBERS}
SICK = {"healthy": False, "alarmed": False, "problems": ["member etcd2: refused"], "members": MEMBERS}


def test_without_wait_timeout_one_read_and_errors_as_before(monkeypatch):
    from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import EtcdUnreachable

    clock = _Clock()
    calls = _scripted(monkeypatch, clock, [SICK])
    res = si.run(_Module(), None, clock=clock, sleep=clock.sleep)
    assert len(calls) == 1 and res["healthy"] is False and res["attempts"] == 1 and clock.sleeps == []
    _scripted(monkeypatch, clock, [EtcdUnreachable("refused", "https://one:2379")])
    try:
        si.run(_Module(), None, clock=clock, sleep=clock.sleep)
    except EtcdUnreachable as exc:
        assert "refused" in str(exc)
    else:
        raise AssertionError("a single read that nothing answers must fail")


def test_the_wait_reads_until_healthy_through_unanswered_reads(monkeypatch):
    """SAFETY-11: right after a restart nothing may answer; the wait goes on
    and returns the first healthy read, with the reads it took."""
    from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import EtcdUnreachable

    clock = _Clock()
    script = [EtcdUnreachable("refused", "https://127.0.0.1:2379"), si.Refusal("no endpoint answered"), SICK, HEALTHY]
    calls = _scripted(monkeypatch, clock, script)
    res = si.run(_Module(wait_timeout=60.0), None, clock=clock, sleep=clock.sleep)
    assert res["healthy"] is True and res["attempts"] == 4 == len(calls)
    assert clock.sleeps == [0.5, 0.5, 0.5] and res["waited"] == 1.9


def test_the_wait_goes_on_while_a_learner_is_listed_except_the_pending_one(monkeypatch):
    clock = _Clock()
    with_learner = dict(HEALTHY, members=MEMBERS + [LEARNER])
    _scripted(monkeypatch, clock, [with_learner, HEALTHY])
    res = si.run(_Module(wait_timeout=60.0), None, clock=clock, sleep=clock.sleep)
    assert res["attempts"] == 2 and res["members"] == MEMBERS
    _scripted(monkeypatch, clock, [with_learner, HEALTHY])
    res = si.run(_Module(wait_timeout=60.0, wait_learner="https://new:2380"), None, clock=clock, sleep=clock.sleep)
    assert res["attempts"] == 1 and LEARNER in res["members"]


def test_an_alarm_ends_the_wait_at_once(monkeypatch):
    clock = _Clock()
    alarmed = dict(SICK, alarmed=True, problems=["alarm NOSPACE on member etcd1 (1)"])
    calls = _scripted(monkeypatch, clock, [alarmed, HEALTHY])
    res = si.run(_Module(wait_timeout=60.0), None, clock=clock, sleep=clock.sleep)
    assert len(calls) == 1 and res["alarmed"] is True and res["healthy"] is False


def test_the_wait_is_bounded_and_returns_or_raises_the_last_read(monkeypatch):
    from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import EtcdConfigError

    clock = _Clock()
    calls = _scripted(monkeypatch, clock, [SICK])
    res = si.run(_Module(wait_timeout=3.0, wait_interval=1.0), None, clock=clock, sleep=clock.sleep)
    assert res["healthy"] is False and res["problems"] == SICK["problems"]
    assert len(calls) == res["attempts"] == 3 and clock.now - 100.0 < 3.0 + 0.2
    # Nothing answered the last read: the module fails with that read's refusal.
    _scripted(monkeypatch, clock, [si.Refusal("no endpoint answered: x", healthy=False)])
    try:
        si.run(_Module(wait_timeout=2.0), None, clock=clock, sleep=clock.sleep)
    except si.Refusal as exc:
        assert exc.result["attempts"] == 4 and "no endpoint answered" in str(exc)
    else:
        raise AssertionError("a wait whose last read nothing answered must fail")
    # Bad connection settings never get better: no second read.
    calls = _scripted(monkeypatch, clock, [EtcdConfigError("ca_cert: no such file")])
    try:
        si.run(_Module(wait_timeout=60.0), None, clock=clock, sleep=clock.sleep)
    except EtcdConfigError:
        assert len(calls) == 1
    else:
        raise AssertionError("a bad setting must fail at once")


def test_negative_wait_settings_are_refused_naming_the_value():
    from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import EtcdConfigError

    for opt in ("wait_timeout", "wait_interval"):
        params = dict(wait_timeout=1.0, wait_interval=0.5)
        params[opt] = -2.0
        try:
            si._validate(params)
        except EtcdConfigError as exc:
            assert opt in str(exc) and "-2.0" in str(exc)
        else:
            raise AssertionError(opt)
