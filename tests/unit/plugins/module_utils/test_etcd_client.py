# -*- coding: utf-8 -*-
"""Parsing and error mapping of the etcd gateway client (no network)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.quorum.etcd.plugins.module_utils import etcd_client as ec

EP = "https://10.0.0.1:2379"


def err(body, status=400):
    return ec.error_from_response(EP, status, json.dumps(body).encode() if not isinstance(body, bytes) else body)


@pytest.mark.parametrize("message,code,cls", [
    ("etcdserver: no leader", 14, ec.EtcdNoLeader),
    ("etcdserver: request timed out", 14, ec.EtcdTimeout),
    ("etcdserver: member not found", 5, ec.EtcdMemberNotFound),
    ("etcdserver: Peer URLs already exists", 9, ec.EtcdPeerURLExists),
    ("etcdserver: too many learner members in cluster", 9, ec.EtcdTooManyLearners),
    ("etcdserver: can only promote a learner member which is in sync with leader", 9, ec.EtcdLearnerNotReady),
    ("etcdserver: re-configuration failed due to not enough started members", 2, ec.EtcdNotEnoughStarted),
    ("etcdserver: unhealthy cluster", 14, ec.EtcdUnhealthyCluster),
    ("etcdserver: invalid auth token", 16, ec.EtcdAuthError),
    ("etcdserver: authentication failed, invalid user ID or password", 3, ec.EtcdAuthError),
    ("etcdserver: permission denied", 7, ec.EtcdAuthError),
    ("something new", 16, ec.EtcdAuthError),
    ("something new", 5, ec.EtcdMemberNotFound),
    ("something new", 2, ec.EtcdRequestError),
])
def test_error_mapping_35_format(message, code, cls):
    exc = err({"error": message, "code": code, "message": message})
    assert exc.__class__ is cls  # the most specific class, not a parent
    assert exc.code == code
    assert str(exc) == "%s: %s" % (EP, message)  # names the endpoint


def test_error_mapping_34_format_without_message():
    exc = err({"error": "etcdserver: member not found", "code": 5})
    assert isinstance(exc, ec.EtcdMemberNotFound)
    assert "member not found" in str(exc)


def test_error_mapping_http_status_only():
    assert isinstance(err({"code": 16}, status=401), ec.EtcdAuthError)
    assert isinstance(err({}, status=403), ec.EtcdAuthError)


def test_non_json_answers():
    exc = ec.error_from_response(EP, 404, b"Not Found\n")
    assert isinstance(exc, ec.EtcdProtocolError)
    assert EP in str(exc) and "404" in str(exc)
    assert isinstance(ec.error_from_response(EP, 503, b"<html>"), ec.EtcdUnreachable)


def test_all_specific_errors_are_request_errors():
    for cls in (ec.EtcdNoLeader, ec.EtcdMemberNotFound, ec.EtcdLearnerNotReady, ec.EtcdUnhealthyCluster):
        assert issubclass(cls, ec.EtcdRequestError) and issubclass(cls, ec.EtcdError)


@pytest.mark.parametrize("raw,expected", [
    ("18446744073709551615", 18446744073709551615),
    (18446744073709551615, 18446744073709551615),
    ("0", 0), (12, 12), (" 42 ", 42),
])
def test_parse_id(raw, expected):
    assert ec.parse_id(raw) == expected


@pytest.mark.parametrize("raw", ["18446744073709551616", -1, "-1", "0x10", "abc", "", None, 1.5, True])
def test_parse_id_rejects(raw):
    with pytest.raises(ValueError) as info:
        ec.parse_id(raw)
    assert repr(raw) in str(info.value)


def test_id_str_keeps_full_uint64_precision():
    # a float round trip would lose the last digits: IDs stay strings
    assert ec.id_str("17690779783042027410") == "17690779783042027410"
    assert ec.id_str(None) == "0"


MEMBERS_35 = {
    "header": {"cluster_id": "324952591200643719", "member_id": "3319814642761637952", "raft_term": "2"},
    "members": [
        {"ID": "3319814642761637952", "name": "p1", "peerURLs": ["http://127.0.0.1:23800"],
         "clientURLs": ["http://127.0.0.1:23790"]},
        {"ID": "15260287931717276234", "peerURLs": ["http://127.0.0.1:23801"], "isLearner": True},
    ],
}


def test_parse_members_tolerates_omitted_fields():
    members = ec.parse_members(MEMBERS_35)
    assert members[0] == {"id": "3319814642761637952", "id_hex": "2e1259d415f2a040", "name": "p1",
                          "peer_urls": ["http://127.0.0.1:23800"], "client_urls": ["http://127.0.0.1:23790"],
                          "is_learner": False}
    assert members[1]["name"] == "" and members[1]["client_urls"] == [] and members[1]["is_learner"] is True
    # numbers instead of strings are accepted too
    assert ec.parse_member({"ID": 15260287931717276234})["id"] == "15260287931717276234"
    assert ec.parse_members({}) == []


def test_parse_header():
    h = ec.parse_header(MEMBERS_35)
    assert h["cluster_id"] == "324952591200643719" and h["member_id"] == "3319814642761637952"
    assert h["raft_term"] == 2 and h["revision"] == 0


def test_parse_status_35():
    data = {"header": {"cluster_id": "1", "member_id": "7", "revision": "1", "raft_term": "2"},
            "version": "3.5.1", "dbSize": "20480", "leader": "7", "raftIndex": "4", "raftTerm": "2",
            "raftAppliedIndex": "4", "dbSizeInUse": "16384", "errors": ["memberID:7 alarm:NOSPACE "]}
    st = ec.parse_status(data)
    assert st["is_leader"] is True and st["leader_id"] == "7" and st["member_id"] == "7"
    assert st["db_size"] == 20480 and st["db_size_in_use"] == 16384 and st["raft_applied_index"] == 4
    assert st["errors"] == ["memberID:7 alarm:NOSPACE "]
    assert st["storage_version"] == ""  # 3.5 has no storage version


def test_parse_status_36_storage_version_and_omitted_zero_values():
    # The 3.6 gateway omits zero values (isLearner, errors) and sends int64 as strings.
    data = {"header": {"cluster_id": "1", "member_id": "7", "revision": "9", "raft_term": "3"},
            "version": "3.6.16", "dbSize": "24576", "leader": "8", "raftIndex": "12", "raftTerm": "3",
            "raftAppliedIndex": "12", "dbSizeInUse": "16384", "storageVersion": "3.6.0"}
    st = ec.parse_status(data)
    assert st["storage_version"] == "3.6.0" and st["is_learner"] is False and st["errors"] == []
    assert st["leader_id"] == "8" and st["is_leader"] is False and st["raft_index"] == 12
    assert st["downgrade"] == {"enabled": False, "target_version": ""}  # omitted when none


def test_parse_status_downgrade_under_way():
    st = ec.parse_status({"version": "3.7.3", "storageVersion": "3.6.0",
                          "downgradeInfo": {"enabled": True, "targetVersion": "3.6.0"}})
    assert st["downgrade"] == {"enabled": True, "target_version": "3.6.0"}


def test_cluster_version_and_downgrade_requests():
    client = ec.EtcdClient(["https://a:2379"])
    sent = []

    def fake(endpoint, path, body=None, method="POST"):
        sent.append((path, body, method))
        if path == "/version":
            return {"etcdserver": "3.7.3", "etcdcluster": answers.pop(0)}
        return {"header": {}, "version": "3.7.0"}

    answers = ["3.7.0", "not_decided"]
    client.call_endpoint = fake
    assert client.cluster_version() == "3.7.0"
    assert client.cluster_version() == ""  # a cluster that has not decided yet
    assert client.downgrade("VALIDATE", "3.6") == "3.7.0"
    assert sent[-1] == ("/v3/maintenance/downgrade", {"action": "VALIDATE", "version": "3.6"}, "POST")
    assert sent[0] == ("/version", None, "GET")


def test_parse_status_34_lacks_fields_and_no_leader():
    data = {"header": {"cluster_id": "1", "member_id": "7"}, "version": "3.4.23", "dbSize": "20480",
            "raftIndex": "4", "raftTerm": "2"}
    st = ec.parse_status(data)
    assert st["leader_id"] == "0" and st["is_leader"] is False
    assert st["db_size_in_use"] is None and st["raft_applied_index"] is None
    assert st["is_learner"] is False and st["errors"] == []


def test_parse_alarms():
    assert ec.parse_alarms({"header": {}}) == []
    assert ec.parse_alarms({"alarms": [{"memberID": "7", "alarm": "NOSPACE"}, {"memberID": "8"}]}) == [
        {"member_id": "7", "alarm": "NOSPACE"}]


@pytest.mark.parametrize("url", ["10.0.0.1:2379", "https://10.0.0.1", "ftp://10.0.0.1:2379",
                                 "https://10.0.0.1:2379/v3", "https://10.0.0.1:99999", ""])
def test_validate_url_names_value(url):
    with pytest.raises(ec.EtcdConfigError) as info:
        ec.validate_url(url)
    assert repr(url) in str(info.value)


def test_validate_url_ok():
    assert ec.validate_url("https://[::1]:2379") == ("https", "::1", 2379)
    assert ec.validate_url("http://etcd1.example:2379/") == ("http", "etcd1.example", 2379)


def test_normalize_url():
    assert ec.normalize_url("HTTPS://Etcd1:2380/") == "https://etcd1:2380"


def test_quorum():
    assert [ec.quorum(n) for n in range(1, 8)] == [1, 2, 2, 3, 3, 4, 4]


@pytest.mark.parametrize("kwargs,named", [
    ({"endpoints": []}, "no endpoints"),
    ({"endpoints": ["nope"]}, "'nope'"),
    ({"ca_cert": "/nonexistent/ca.pem"}, "/nonexistent/ca.pem"),
    ({"client_cert": "/x.crt"}, "together"),
    ({"password": "x"}, "username"),
    ({"timeout": 0}, "timeout"),
    ({"connect_timeout": -2}, "connect_timeout"),
])
def test_client_config_errors(kwargs, named):
    args = {"endpoints": [EP]}
    args.update(kwargs)
    with pytest.raises(ec.EtcdConfigError) as info:
        ec.EtcdClient(**args)
    assert named in str(info.value)


def test_endpoints_as_comma_string_and_prefer_last():
    client = ec.EtcdClient("https://a:2379,https://b:2379/,https://c:2379")
    assert client.endpoints == ["https://a:2379", "https://b:2379", "https://c:2379"]
    client.prefer_last(["https://A:2379/"])
    assert client.endpoints == ["https://b:2379", "https://c:2379", "https://a:2379"]
    assert client.current_endpoint == "https://b:2379"


def test_failover_collects_errors():
    client = ec.EtcdClient(["https://a:2379", "https://b:2379"])
    calls = []

    def fake(endpoint, path, body=None, method="POST"):
        calls.append(endpoint)
        if endpoint.startswith("https://a"):
            raise ec.EtcdUnreachable("cannot reach endpoint (refused)", endpoint)
        return {"ok": True}

    client.call_endpoint = fake
    assert client.call("/v3/x", {}) == {"ok": True}
    assert calls == ["https://a:2379", "https://b:2379"]
    assert client.current_endpoint == "https://b:2379"  # sticks to the one that answered


def test_failover_all_down_names_every_endpoint():
    client = ec.EtcdClient(["https://a:2379", "https://b:2379"])

    def fake(endpoint, path, body=None, method="POST"):
        raise ec.EtcdUnreachable("cannot reach endpoint", endpoint)

    client.call_endpoint = fake
    with pytest.raises(ec.EtcdUnreachable) as info:
        client.call("/v3/x", {})
    assert "https://a:2379" in str(info.value) and "https://b:2379" in str(info.value)


def test_server_errors_do_not_fail_over():
    client = ec.EtcdClient(["https://a:2379", "https://b:2379"])
    calls = []

    def fake(endpoint, path, body=None, method="POST"):
        calls.append(endpoint)
        raise ec.EtcdPeerURLExists("etcdserver: Peer URLs already exists", endpoint)

    client.call_endpoint = fake
    with pytest.raises(ec.EtcdPeerURLExists):
        client.call("/v3/cluster/member/add", {})
    assert calls == ["https://a:2379"]


def test_wait_until_is_bounded():
    now = [0.0]
    sleeps = []

    def clock():
        return now[0]

    def sleep(d):
        sleeps.append(d)
        now[0] += d

    assert ec.wait_until(lambda: False, timeout=5, delay=2, clock=clock, sleep=sleep) is False
    assert sum(sleeps) <= 5
    assert ec.wait_until(lambda: "ok", timeout=5, delay=2, clock=clock, sleep=sleep) == "ok"


def test_gateway_commonname_refusal_is_an_auth_error():
    body = b"CommonName of client sending a request against gateway will be ignored and not used as expected\n"
    exc = ec.error_from_response(EP, 400, body)
    assert isinstance(exc, ec.EtcdAuthError)
    assert EP in str(exc) and "no CN" in str(exc)


def test_failover_mixed_errors_raise_the_server_answer():
    client = ec.EtcdClient(["https://a:2379", "https://b:2379"])

    def fake(endpoint, path, body=None, method="POST"):
        if endpoint.startswith("https://a"):
            raise ec.EtcdUnreachable("cannot reach endpoint", endpoint)
        raise ec.EtcdNoLeader("etcdserver: no leader", endpoint)

    client.call_endpoint = fake
    with pytest.raises(ec.EtcdNoLeader) as info:
        client.call("/v3/cluster/member/list", {}, failover_on=(ec.EtcdUnreachable, ec.EtcdNoLeader))
    assert "https://a:2379" in str(info.value) and "no leader" in str(info.value)


def test_parse_alarms_is_ordered():
    # etcd answers in no fixed order; two reads of the same alarms compare equal.
    one = {"alarms": [{"memberID": "9", "alarm": "NOSPACE"}, {"memberID": "3", "alarm": "NOSPACE"},
                      {"memberID": "5", "alarm": "CORRUPT"}]}
    two = {"alarms": list(reversed(one["alarms"]))}
    assert ec.parse_alarms(one) == ec.parse_alarms(two) == [
        {"member_id": "5", "alarm": "CORRUPT"}, {"member_id": "3", "alarm": "NOSPACE"},
        {"member_id": "9", "alarm": "NOSPACE"}]


def test_a_streamed_error_object_is_mapped():
    # What the gateway streams for a refused snapshot.
    body = b'{"error":{"grpc_code":7,"http_code":403,"message":"etcdserver: permission denied","http_status":"Forbidden"}}'
    err = ec.error_from_response("https://e:2379", 403, body)
    assert isinstance(err, ec.EtcdAuthError) and err.code == 7 and "permission denied" in str(err)


def test_a_learner_refusal_fails_over_to_the_next_endpoint():
    """SAFETY-24, issue 15 item 9: the first endpoint is a learner (a join
    stopped before its promotion, on the first host of the play); the
    member list and changes are asked of the next one."""
    body = b'{"error":"etcdserver: rpc not supported for learner","code":14,"message":"etcdserver: rpc not supported for learner"}'
    assert isinstance(ec.error_from_response(EP, 503, body), ec.EtcdLearnerRefused)
    client = ec.EtcdClient(["https://learner:2379", "https://voter:2379"])
    calls = []

    def fake(endpoint, path, body=None, method="POST"):
        calls.append(endpoint)
        if "learner" in endpoint:
            raise ec.EtcdLearnerRefused("etcdserver: rpc not supported for learner", endpoint)
        return {"ok": True}

    client.call_endpoint = fake
    assert client.call("/v3/cluster/member/add", {}) == {"ok": True}
    assert calls == ["https://learner:2379", "https://voter:2379"]
