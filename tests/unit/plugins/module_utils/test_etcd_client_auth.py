# -*- coding: utf-8 -*-
"""The client's auth API and token handling, with ``_raw`` mocked (no network).

The fake answers below are the gateway's JSON as etcd 3.4.23 and 3.5.1
send it (3.4 answers FailedPrecondition with HTTP 412, 3.5 with 400)."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.quorum.etcd.plugins.module_utils import etcd_client as ec

EP = "https://10.0.0.1:2379"
EP2 = "https://10.0.0.2:2379"
HEADER = {"header": {"cluster_id": "1", "member_id": "2", "revision": "7", "raft_term": "3"}}


def b64(text):
    return base64.b64encode(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text).decode()


def ok(extra=None):
    body = dict(HEADER)
    body.update(extra or {})
    return 200, json.dumps(body).encode()


def fail(message, code=9, status=400, v34=False):
    if v34:  # 3.4: "error" first, FailedPrecondition as 412
        body = {"error": message, "message": message, "code": code}
        status = 412 if code == 9 else status
    else:
        body = {"error": message, "code": code, "message": message}
    return status, json.dumps(body).encode()


NOT_ENABLED = fail("etcdserver: authentication is not enabled")
AUTH_FAILED = fail("etcdserver: authentication failed, invalid user ID or password", code=3)
NAME_EMPTY = fail("etcdserver: user name is empty", code=3)
BAD_TOKEN = fail("etcdserver: invalid auth token", code=16, status=401)


class FakeEtcd(object):
    """Replaces EtcdClient._raw: records (endpoint, path, body, token) and
    answers from ``script`` (a list consumed in order) or ``answer(path)``."""

    def __init__(self, client, script=None, answer=None):
        self.calls = []
        self.script = list(script or [])
        self.answer = answer
        client._raw = self

    def __call__(self, endpoint, method, path, body=None, token=None):
        self.calls.append((endpoint, path, body, token))
        if self.script:
            want_path, reply = self.script.pop(0)
            assert path == want_path, (path, want_path)
            return reply
        return self.answer(path, body, token)

    def paths(self):
        return [c[1] for c in self.calls]

    def tokens(self):
        return [c[3] for c in self.calls]


def user_list(c):
    """An authenticated request like any other (the client has no user list
    of its own: no module needs one)."""
    return sorted(c.call("/v3/auth/user/list", {}).get("users") or [])


def _b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class KVClient(ec.EtcdClient):
    """Key-value requests, which only the tests make (the modules write no
    user keys): authenticated requests like any other."""

    def put(self, key, value):
        return self.call("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})

    def get(self, key):
        kvs = self.call("/v3/kv/range", {"key": _b64(key)}).get("kvs") or []
        return base64.b64decode(kvs[0].get("value") or "").decode("utf-8") if kvs else None


def client(**kw):
    args = dict(endpoints=[EP])
    args.update(kw)
    return KVClient(**args)


# ------------------------------------------------------------------ tokens

def test_credentials_with_auth_disabled_send_no_token_and_authenticate_once():
    c = client(username="root", password="pw")
    fake = FakeEtcd(c, script=[
        ("/v3/auth/authenticate", NOT_ENABLED),
        ("/v3/kv/put", ok()),
        ("/v3/kv/put", ok()),
    ])
    c.put("a", "1")
    c.put("b", "2")
    assert fake.paths() == ["/v3/auth/authenticate", "/v3/kv/put", "/v3/kv/put"]
    assert fake.calls[0][2] == {"name": "root", "password": "pw"}
    assert fake.tokens() == [None, "", ""]  # no Authorization header at all
    assert c._tokens == {EP: ""}


@pytest.mark.parametrize("refusal", [NAME_EMPTY, fail("etcdserver: user name is empty", code=3, v34=True), BAD_TOKEN],
                         ids=["user-name-empty-3.5", "user-name-empty-3.4", "401"])
def test_auth_enabled_meanwhile_reauthenticates_and_retries_once(refusal):
    c = client(username="root", password="pw")
    fake = FakeEtcd(c, script=[
        ("/v3/auth/authenticate", NOT_ENABLED),
        ("/v3/auth/user/list", ok({"users": ["root"]})),
        # authentication got enabled by someone else
        ("/v3/auth/user/list", refusal),
        ("/v3/auth/authenticate", ok({"token": "tok.1"})),
        ("/v3/auth/user/list", ok({"users": ["alice", "root"]})),
        ("/v3/auth/user/list", ok({"users": ["alice", "root"]})),
    ])
    assert user_list(c) == ["root"]
    assert user_list(c) == ["alice", "root"]
    assert user_list(c) == ["alice", "root"]
    assert fake.tokens() == [None, "", "", None, "tok.1", "tok.1"]
    assert not fake.script


def test_retry_happens_once_only():
    c = client(username="root", password="pw")
    fake = FakeEtcd(c, script=[
        ("/v3/auth/authenticate", ok({"token": "t1"})),
        ("/v3/kv/range", BAD_TOKEN),
        ("/v3/auth/authenticate", ok({"token": "t2"})),
        ("/v3/kv/range", BAD_TOKEN),
    ])
    with pytest.raises(ec.EtcdAuthError) as info:
        c.get("k")
    assert "invalid auth token" in str(info.value) and EP in str(info.value)
    assert fake.tokens() == [None, "t1", None, "t2"]


def test_auth_disabled_meanwhile_drops_the_stale_token():
    # etcd forgets every token when authentication is disabled: 401, then
    # "not enabled" on authenticate, then the request goes without a token.
    c = client(username="root", password="pw")
    fake = FakeEtcd(c, script=[
        ("/v3/auth/authenticate", ok({"token": "t1"})),
        ("/v3/kv/range", BAD_TOKEN),
        ("/v3/auth/authenticate", NOT_ENABLED),
        ("/v3/kv/range", ok({"kvs": [{"key": b64("k"), "value": b64("v")}]})),
    ])
    assert c.get("k") == "v"
    assert fake.tokens() == [None, "t1", None, ""]


def test_without_username_nothing_is_retried():
    c = client()
    fake = FakeEtcd(c, script=[("/v3/kv/put", NAME_EMPTY)])
    with pytest.raises(ec.EtcdAuthError):
        c.put("a", "1")
    assert fake.tokens() == [None]


def test_other_errors_are_not_retried():
    c = client(username="root", password="pw")
    fake = FakeEtcd(c, script=[
        ("/v3/auth/authenticate", ok({"token": "t1"})),
        ("/v3/kv/put", fail("etcdserver: permission denied", code=7, status=403)),
    ])
    with pytest.raises(ec.EtcdAuthError):
        c.put("a", "1")
    assert len(fake.calls) == 2


def test_wrong_password_is_an_auth_error():
    c = client(username="root", password="bad")
    FakeEtcd(c, script=[("/v3/auth/authenticate", AUTH_FAILED)])
    with pytest.raises(ec.EtcdAuthError) as info:
        user_list(c)
    assert "authentication failed" in str(info.value)


def test_tokens_are_per_endpoint():
    c = client(endpoints=[EP, EP2], username="root", password="pw")

    def answer(path, body, token):
        if path == "/v3/auth/authenticate":
            return ok({"token": "tok-%d" % len(fake.calls)})
        return ok({"members": []})

    fake = FakeEtcd(c, answer=answer)
    c.call_endpoint(EP, "/v3/cluster/member/list", {})
    c.call_endpoint(EP2, "/v3/cluster/member/list", {})
    c.call_endpoint(EP, "/v3/cluster/member/list", {})
    assert [(e, t) for e, p, b, t in fake.calls if p != "/v3/auth/authenticate"] == \
        [(EP, "tok-1"), (EP2, "tok-3"), (EP, "tok-1")]


def test_changing_own_password_keeps_the_client_working():
    c = client(username="root", password="old")
    fake = FakeEtcd(c, script=[
        ("/v3/auth/authenticate", ok({"token": "t1"})),
        ("/v3/auth/user/changepw", ok()),
        ("/v3/auth/authenticate", ok({"token": "t2"})),
        ("/v3/auth/user/list", ok({"users": ["root"]})),
    ])
    c.user_change_password("root", "new")
    assert c.password == "new"
    user_list(c)
    assert fake.calls[2][2] == {"name": "root", "password": "new"}
    assert fake.tokens()[-1] == "t2"


def test_changing_another_users_password_keeps_the_token():
    c = client(username="root", password="pw")
    FakeEtcd(c, script=[("/v3/auth/authenticate", ok({"token": "t1"})), ("/v3/auth/user/changepw", ok())])
    c.user_change_password("alice", "new")
    assert c.password == "pw" and c._tokens == {EP: "t1"}


# ------------------------------------------------------------ auth status

@pytest.mark.parametrize("reply,enabled", [
    (ok({"enabled": True, "authRevision": "14"}), True),
    (ok({"authRevision": "1"}), False),  # 3.5 omits enabled=false
    (NAME_EMPTY, True),  # anonymous caller, auth on
    (fail("etcdserver: permission denied", code=7, status=403), True),  # non-root user
])
def test_auth_status_35(reply, enabled):
    c = client()
    FakeEtcd(c, script=[("/v3/auth/status", reply)])
    assert c.auth_status() is enabled


@pytest.mark.parametrize("probe,enabled", [(fail("etcdserver: authentication is not enabled", v34=True), False),
                                           (fail("etcdserver: authentication failed, invalid user ID or password",
                                                 code=3, v34=True), True)])
def test_auth_status_34_probes_authenticate(probe, enabled):
    c = client(username="root", password="pw")
    fake = FakeEtcd(c, script=[
        ("/v3/auth/authenticate", ok({"token": "t1"}) if enabled else NOT_ENABLED),
        ("/v3/auth/status", (404, b"Not Found\n")),  # 3.4's gateway has no such path
        ("/v3/auth/authenticate", probe),
    ])
    assert c.auth_status() is enabled
    probe_call = fake.calls[-1]
    assert probe_call[3] is None  # the probe goes without a token
    assert probe_call[2]["name"] != "root"
    # the missing path is remembered: the next time, only the probe
    fake.script = [("/v3/auth/authenticate", probe)]
    assert c.auth_status() is enabled
    assert not fake.script and len(fake.calls) == 4


def test_auth_status_other_errors_propagate():
    c = client()
    FakeEtcd(c, script=[("/v3/auth/status", fail("etcdserver: no leader", code=14, status=503))])
    with pytest.raises(ec.EtcdNoLeader):
        c.auth_status()


def test_auth_enable_forgets_the_no_token_state():
    c = client(username="root", password="pw")
    fake = FakeEtcd(c, script=[
        ("/v3/auth/authenticate", NOT_ENABLED),
        ("/v3/auth/enable", ok()),
        ("/v3/auth/authenticate", ok({"token": "t1"})),
        ("/v3/auth/user/list", ok({"users": ["root"]})),
    ])
    c.auth_enable()
    user_list(c)
    assert fake.tokens() == [None, "", None, "t1"]


def test_enable_without_root_is_a_typed_error():
    c = client()
    FakeEtcd(c, script=[("/v3/auth/enable", fail("etcdserver: root user does not exist", v34=True))])
    with pytest.raises(ec.EtcdRootUserMissing):
        c.auth_enable()


@pytest.mark.parametrize("reply,expected", [(ok({"token": "x.1"}), True), (AUTH_FAILED, False)])
def test_check_password(reply, expected):
    c = client(username="root", password="pw")
    fake = FakeEtcd(c, script=[("/v3/auth/authenticate", reply)])
    assert c.check_password("alice", "secret") is expected
    assert fake.calls == [(EP, "/v3/auth/authenticate", {"name": "alice", "password": "secret"}, None)]


def test_check_password_with_auth_disabled_raises():
    c = client()
    FakeEtcd(c, script=[("/v3/auth/authenticate", NOT_ENABLED)])
    with pytest.raises(ec.EtcdAuthNotEnabled):
        c.check_password("alice", "secret")


# --------------------------------------------------------- users and roles

@pytest.mark.parametrize("v34", [False, True])
def test_user_and_role_not_found_are_none(v34):
    c = client()
    FakeEtcd(c, script=[
        ("/v3/auth/user/get", fail("etcdserver: user name not found", v34=v34)),
        ("/v3/auth/role/get", fail("etcdserver: role name not found", v34=v34)),
    ])
    assert c.user_get("nobody") is None
    assert c.role_get("nothing") is None


def test_user_get_without_roles_is_an_empty_list():
    c = client()
    fake = FakeEtcd(c, script=[("/v3/auth/user/get", ok()), ("/v3/auth/user/get", ok({"roles": ["b", "a"]}))])
    assert c.user_get("u") == []
    assert c.user_get("u") == ["a", "b"]
    assert fake.calls[0][2] == {"name": "u"}


def test_lists_tolerate_omitted_fields():
    c = client()
    FakeEtcd(c, script=[("/v3/auth/user/list", ok()), ("/v3/auth/role/list", ok({"roles": ["r2", "r1"]}))])
    assert user_list(c) == []
    assert c.role_list() == ["r1", "r2"]


def test_role_get_parses_the_wire_format():
    # Verbatim from etcd 3.5.1 (3.4.23 is the same): READ is omitted, the
    # range end of a single key is omitted.
    raw = (b'{"header":{"cluster_id":"1","member_id":"2","revision":"1","raft_term":"2"},"perm":['
           b'{"permType":"WRITE","key":"Yw=="},{"key":"Yw==","range_end":"ZA=="},'
           b'{"permType":"READWRITE","key":"ZA==","range_end":"AA=="}]}')
    c = client()
    fake = FakeEtcd(c, script=[("/v3/auth/role/get", (200, raw))])
    assert c.role_get("r1") == [
        {"key": "c", "range_end": "", "type": "write"},
        {"key": "c", "range_end": "d", "type": "read"},
        {"key": "d", "range_end": "\x00", "type": "readwrite"},
    ]
    assert fake.calls[0][2] == {"role": "r1"}  # role/get takes "role", not "name"


def test_request_bodies():
    c = client()
    fake = FakeEtcd(c, answer=lambda path, body, token: ok())
    c.user_add("alice", "pw")
    c.user_delete("alice")
    c.user_change_password("alice", "pw2")
    c.user_grant_role("alice", "r")
    c.user_revoke_role("alice", "r")
    c.role_add("r")
    c.role_delete("r")
    c.role_grant_permission("r", "/a", "", "read")
    c.role_grant_permission("r", "/app/", ec.prefix_range_end("/app/"), "readwrite")
    c.role_revoke_permission("r", "/a", "")
    c.role_revoke_permission("r", "/app/", "/app0")
    assert [(p, b) for e, p, b, t in fake.calls] == [
        ("/v3/auth/user/add", {"name": "alice", "password": "pw"}),
        ("/v3/auth/user/delete", {"name": "alice"}),
        ("/v3/auth/user/changepw", {"name": "alice", "password": "pw2"}),
        ("/v3/auth/user/grant", {"user": "alice", "role": "r"}),
        ("/v3/auth/user/revoke", {"name": "alice", "role": "r"}),
        ("/v3/auth/role/add", {"name": "r"}),
        ("/v3/auth/role/delete", {"role": "r"}),
        ("/v3/auth/role/grant", {"name": "r", "perm": {"key": b64("/a"), "permType": "READ"}}),
        ("/v3/auth/role/grant", {"name": "r", "perm": {"key": b64("/app/"), "range_end": b64("/app0"),
                                                       "permType": "READWRITE"}}),
        ("/v3/auth/role/revoke", {"role": "r", "key": b64("/a")}),
        ("/v3/auth/role/revoke", {"role": "r", "key": b64("/app/"), "range_end": b64("/app0")}),
    ]


def test_grant_refuses_an_unknown_type():
    c = client()
    with pytest.raises(ec.EtcdConfigError) as info:
        c.role_grant_permission("r", "/a", "", "admin")
    assert "'admin'" in str(info.value)


@pytest.mark.parametrize("message,cls", [
    ("etcdserver: user name not found", ec.EtcdUserNotFound),
    ("etcdserver: role name not found", ec.EtcdRoleNotFound),
    ("etcdserver: user name already exists", ec.EtcdUserExists),
    ("etcdserver: role name already exists", ec.EtcdRoleExists),
    ("etcdserver: role is not granted to the user", ec.EtcdRoleNotGranted),
    ("etcdserver: permission is not granted to the role", ec.EtcdPermissionNotGranted),
    ("etcdserver: root user does not exist", ec.EtcdRootUserMissing),
    ("etcdserver: root user does not have root role", ec.EtcdRootUserMissing),
    ("etcdserver: authentication is not enabled", ec.EtcdAuthNotEnabled),
    ("etcdserver: invalid auth management", ec.EtcdAuthManagementRefused),
])
@pytest.mark.parametrize("v34", [False, True])
def test_auth_error_mapping(message, cls, v34):
    status, raw = fail(message, v34=v34)
    exc = ec.error_from_response(EP, status, raw)
    assert exc.__class__ is cls
    assert EP in str(exc) and message in str(exc)


def test_not_enabled_is_an_auth_error():
    assert issubclass(ec.EtcdAuthNotEnabled, ec.EtcdAuthError)
    assert issubclass(ec.EtcdUserNotFound, ec.EtcdRequestError)


# ----------------------------------------------------------- pure helpers

@pytest.mark.parametrize("key,end", [
    ("a", "b"),
    ("/app/", "/app0"),
    ("abc", "abd"),
    ("é", "ê"),  # c3 a9 -> c3 aa
    ("", "\x00"),
    (b"a\xff", b"b"),
    (b"a\xfe\xff\xff", b"a\xff"),
    (b"\xff", b"\x00"),
    (b"\xff\xff", b"\x00"),
    (b"", b"\x00"),
    (b"\x00", b"\x01"),
])
def test_prefix_range_end(key, end):
    assert ec.prefix_range_end(key) == end


def test_prefix_range_end_of_text_is_lossless():
    # "\u00bf" is c2 bf; the next byte string c2 c0 is not UTF-8, and survives.
    end = ec.prefix_range_end("/k\u00bf")
    assert ec._bytes(end) == b"/k\xc2\xc0"
    assert ec._b64(end) == base64.b64encode(b"/k\xc2\xc0").decode()
    assert ec.display_key(end) == "/k\\xc2\\xc0"
    # and a key read back from etcd compares equal to the computed one
    assert ec._unb64(base64.b64encode(b"/k\xc2\xc0").decode()) == end


@pytest.mark.parametrize("raw,expected", [
    ({"key": "YQ=="}, {"key": "a", "range_end": "", "type": "read"}),
    ({"key": "YQ==", "range_end": "Yg==", "permType": "WRITE"}, {"key": "a", "range_end": "b", "type": "write"}),
    ({"key": "YQ==", "permType": "READWRITE"}, {"key": "a", "range_end": "", "type": "readwrite"}),
    ({"key": "YQ==", "permType": 2}, {"key": "a", "range_end": "", "type": "readwrite"}),
    ({"key": "YQ==", "permType": "1"}, {"key": "a", "range_end": "", "type": "write"}),
    ({"key": "YQ==", "permType": "read"}, {"key": "a", "range_end": "", "type": "read"}),
    ({"key": "YQ==", "rangeEnd": "AA==", "perm_type": 0}, {"key": "a", "range_end": "\x00", "type": "read"}),
    ({}, {"key": "", "range_end": "", "type": "read"}),
])
def test_parse_permission(raw, expected):
    assert ec.parse_permission(raw) == expected


def test_parse_permission_rejects_unknown_types_and_bad_base64():
    with pytest.raises(ec.EtcdProtocolError) as info:
        ec.parse_permission({"key": "YQ==", "permType": "ADMIN"})
    assert "'ADMIN'" in str(info.value)
    with pytest.raises(ec.EtcdProtocolError):
        ec.parse_permission({"key": "not base64!"})


class _WarnModule:
    def __init__(self):
        self.warnings = []
        self.failed = None

    def warn(self, msg):
        self.warnings.append(msg)

    def fail_json(self, **kw):
        self.failed = kw
        raise SystemExit(1)


def test_apply_in_order_names_what_was_done_before_an_error():
    done = []

    def do(action):
        if action == "c":
            raise ec.EtcdRequestError("boom", "https://e:2379")
        done.append(action)

    module = _WarnModule()
    with pytest.raises(ec.EtcdRequestError):
        ec.apply_in_order(module, ["a", "b", "c", "d"], do, lambda a: "did " + a)
    assert done == ["a", "b"]
    assert module.warnings == ["changes made before the error: did a; did b"]
    module = _WarnModule()
    ec.apply_in_order(module, ["a"], lambda a: None, lambda a: a)
    assert module.warnings == []


def test_needs_root_explains_a_refusal_and_passes_other_errors_on():
    with pytest.raises(ec.Refusal, match="managing roles needs the credentials of a user with the role root"):
        ec.needs_root(ec.EtcdAuthError("etcdserver: permission denied", "https://e:2379"), "roles")
    other = ec.EtcdAuthError("etcdserver: user name is empty", "https://e:2379")
    with pytest.raises(ec.EtcdAuthError):
        ec.needs_root(other, "users")


def test_refusals_carry_their_result_keys_and_plan_errors_are_refusals():
    from ansible_collections.quorum.etcd.plugins.module_utils.etcd_auth_plan import PlanError
    refusal = ec.Refusal("no", enabled=True)
    assert str(refusal) == "no" and refusal.result == {"enabled": True}
    assert issubclass(PlanError, ec.Refusal) and not issubclass(ec.Refusal, ec.EtcdError)


LEARNER = fail("etcdserver: rpc not supported for learner", code=14, status=503)


def test_a_learner_gets_the_token_of_another_endpoint():
    """SAFETY-24, issue 15 item 9: a started learner refuses to authenticate,
    yet its Status wants a user ("user name is empty" without one). The token
    another member gave is valid on the learner too (authentication goes
    through raft, which learners apply)."""
    c = client(endpoints=[EP, EP2], username="root", password="pw")

    def answer(path, body, token):
        endpoint = fake.calls[-1][0]
        if path == "/v3/auth/authenticate":
            return LEARNER if endpoint == EP else ok({"token": "tok"})
        if token != "tok":
            return NAME_EMPTY
        return ok({"version": "3.6.5", "isLearner": endpoint == EP, "leader": "2"})

    fake = FakeEtcd(c, answer=answer)
    st = c.status(endpoint=EP)
    assert st["is_learner"] is True
    assert [(e, p, t) for e, p, b, t in fake.calls] == [
        (EP, "/v3/auth/authenticate", None), (EP2, "/v3/auth/authenticate", None), (EP, "/v3/maintenance/status", "tok")]
    c.status(endpoint=EP)  # the token is kept: no second authentication
    assert len(fake.calls) == 4


def test_only_learners_means_a_learner_refusal():
    c = client(username="root", password="pw")
    FakeEtcd(c, answer=lambda path, body, token: LEARNER)
    with pytest.raises(ec.EtcdLearnerRefused) as info:
        c.status(endpoint=EP)
    assert "no other endpoint gave a token" in str(info.value)


def test_a_learner_refusal_after_an_anonymous_request_fails_over():
    """The member list through a learner: it refuses authentication, the
    request goes with the next endpoint's token and the learner refuses the
    request itself; the next endpoint answers it."""
    c = client(endpoints=[EP, EP2], username="root", password="pw")

    def answer(path, body, token):
        endpoint = fake.calls[-1][0]
        if path == "/v3/auth/authenticate":
            return LEARNER if endpoint == EP else ok({"token": "tok"})
        if endpoint == EP:
            return LEARNER
        assert token == "tok"
        return ok({"members": []})

    fake = FakeEtcd(c, answer=answer)
    header, members = c.member_list(linearizable=False)
    assert members == []
    assert [(e, p) for e, p, b, t in fake.calls] == [
        (EP, "/v3/auth/authenticate"), (EP2, "/v3/auth/authenticate"), (EP, "/v3/cluster/member/list"),
        (EP2, "/v3/cluster/member/list")]
    assert c.current_endpoint == EP2
