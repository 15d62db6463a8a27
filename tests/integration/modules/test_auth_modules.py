# -*- coding: utf-8 -*-
"""etcd_auth_user, etcd_auth_role and etcd_auth against a real TLS cluster
(no mocks).

The cluster is this file's own (authentication is switched on half way, the
session cluster other files share never sees it). Tests run in file order:
enabling is refused without root -> root user and role -> roles -> users ->
authentication enabled -> it is enforced -> password and role changes with
authentication on -> root is protected -> deletions -> authentication
disabled. Every change is: check mode (reports the change, the cluster read
back unchanged), real (changed), again (not changed). Every module call
passes the root credentials and the client certificate without a CommonName,
before and after authentication is enabled, and no result may contain a
password.
"""

from __future__ import annotations

import json
import secrets

import pytest

import etcd_lab

EC = etcd_lab.etcd_client
ROOT_PW = "rootPW-" + secrets.token_hex(6)
ALICE_PW1 = "alicePW1-" + secrets.token_hex(6)
ALICE_PW2 = "alicePW2-" + secrets.token_hex(6)
ALICE_PW3 = "alicePW3-" + secrets.token_hex(6)
OTHER_PW = "otherPW-" + secrets.token_hex(6)
SECRETS = (ROOT_PW, ALICE_PW1, ALICE_PW2, ALICE_PW3, OTHER_PW)


@pytest.fixture(scope="module")
def alab(tmp_path_factory):
    etcd_lab.require_etcd()
    cluster = etcd_lab.Lab(tmp_path_factory.mktemp("etcd-auth"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def conn(lab, **kw):
    """Connection options: root credentials and the CN-less certificate."""
    args = lab.conn_args()
    args.update(client_cert=str(lab.nocn_cert), client_key=str(lab.nocn_key), username="root", password=ROOT_PW)
    args.update(kw)
    return args


def root(lab):
    """A client as root; works before and after authentication is enabled."""
    return lab.client(nocn=True, username="root", password=ROOT_PW)


def as_user(lab, name, password):
    return lab.client(nocn=True, username=name, password=password)


def run(lab, module, args, check=False):
    res = lab.run_module(module, args, check=check)
    text = json.dumps(res)
    for secret in SECRETS:
        assert secret not in text, "a password is in the result of %s: %s" % (module, text)
    return res


def warnings(res):
    """Warning texts: strings, or (ansible-core 2.19 run outside a
    controller) WarningSummary dicts."""
    out = []
    for w in res.get("warnings") or []:
        out.append(w if isinstance(w, str) else json.dumps(w))
    return out


def ok(res, changed):
    assert res["_rc"] == 0 and not res.get("failed"), res
    assert res["changed"] is changed, res
    return res


def refused(res, *needles):
    assert res["_rc"] != 0 and res.get("failed"), res
    for needle in needles:
        assert needle in res["msg"], res["msg"]
    return res


def check_real_again(lab, module, args, read):
    """Check mode changes nothing, the real run changes, the re-run does not."""
    before = read()
    check = ok(run(lab, module, args, check=True), True)
    assert read() == before, "check mode changed the cluster"
    real = ok(run(lab, module, args), True)
    after = read()
    assert after != before
    again = ok(run(lab, module, args), False)
    assert read() == after
    assert check.get("changes") == real.get("changes")
    return check, real, again


# ------------------------------------------------------------ root first

def test_enable_is_refused_without_root(alab):
    for check in (True, False):
        res = refused(run(alab, "etcd_auth", conn(alab, state="enabled"), check=check),
                      "cannot enable etcd authentication", "there is no user 'root'",
                      "quorum.etcd.etcd_auth_user name=root")
        assert res["changed"] is False
    assert root(alab).auth_status() is False


def test_root_user_with_root_role(alab):
    client = root(alab)

    def read():
        return client.user_get("root"), "root" in client.role_list()

    assert read() == (None, False)
    args = conn(alab, name="root", user_password=ROOT_PW, roles=["root"])
    check, real, again = check_real_again(alab, "etcd_auth_user", args, read)
    assert real["changes"] == ["create user root", "create role root", "grant role root to user root"]
    assert real["user"] == {"name": "root", "exists": True, "roles": ["root"]}
    assert real["auth_enabled"] is False
    assert read() == (["root"], True)
    # authentication is off: the password cannot be checked, and says so
    assert any("cannot be checked" in w for w in warnings(again)), again


def test_root_role_present_and_not_configurable(alab):
    ok(run(alab, "etcd_auth_role", conn(alab, name="root")), False)
    res = refused(run(alab, "etcd_auth_role", conn(alab, name="root", permissions=[{"key": "/x"}])),
                  "'root' has every permission")
    assert res["changed"] is False
    # Unchanged: no permission granted by the modules. etcd 3.6 and later
    # report root's implicit permission on every key; 3.5 reports none.
    assert root(alab).role_get("root") in ([], [{"key": "", "range_end": "\x00", "type": "readwrite"}])


# ------------------------------------------------------------------ roles

MIXED = [
    {"key": "/app/", "prefix": True, "type": "readwrite"},
    {"key": "/config"},
    {"key": "/logs/", "prefix": True, "type": "write"},
    {"key": "/x/a", "range_end": "/x/c", "type": "read"},
]


def test_role_with_permissions(alab):
    client = root(alab)
    check, real, again = check_real_again(alab, "etcd_auth_role", conn(alab, name="mixed", permissions=MIXED),
                                          lambda: client.role_get("mixed"))
    expected = [
        {"key": "/app/", "range_end": "/app0", "type": "readwrite"},
        {"key": "/config", "range_end": "", "type": "read"},
        {"key": "/logs/", "range_end": "/logs0", "type": "write"},
        {"key": "/x/a", "range_end": "/x/c", "type": "read"},
    ]
    assert client.role_get("mixed") == expected
    assert real["changes"][0] == "create role mixed"
    assert "grant readwrite on prefix '/app/' to role mixed" in real["changes"]
    assert "grant read on key '/config' to role mixed" in real["changes"]
    assert "grant read on keys from '/x/a' to '/x/c' (excluded) to role mixed" in real["changes"]
    for res in (check, real, again):
        assert [dict((k, p[k]) for k in ("key", "range_end", "type")) for p in res["role"]["permissions"]] == expected
        assert [p["prefix"] for p in res["role"]["permissions"]] == [True, False, True, False]
    assert real["diff"]["before"] == {"name": "mixed", "exists": False, "permissions": []}
    assert real["diff"]["after"] == real["role"]


def test_role_purge_and_type_change(alab):
    client = root(alab)
    wanted = [
        {"key": "/app/", "prefix": True, "type": "read"},  # was readwrite
        {"key": "/logs/", "prefix": True, "type": "write"},
        {"key": "/x/a", "range_end": "/x/c"},
    ]  # /config is no longer listed: purged
    check, real, again = check_real_again(alab, "etcd_auth_role", conn(alab, name="mixed", permissions=wanted),
                                          lambda: client.role_get("mixed"))
    assert real["changes"] == ["change readwrite on prefix '/app/' of role mixed to read",
                               "revoke read on key '/config' from role mixed"]
    assert client.role_get("mixed") == [
        {"key": "/app/", "range_end": "/app0", "type": "read"},
        {"key": "/logs/", "range_end": "/logs0", "type": "write"},
        {"key": "/x/a", "range_end": "/x/c", "type": "read"},
    ]


def test_role_without_purge_keeps_other_permissions(alab):
    client = root(alab)
    args = conn(alab, name="mixed", permissions=[{"key": "/new", "type": "write"}], purge_permissions=False)
    check_real_again(alab, "etcd_auth_role", args, lambda: client.role_get("mixed"))
    perms = client.role_get("mixed")
    assert len(perms) == 4 and {"key": "/new", "range_end": "", "type": "write"} in perms


def test_roles_for_the_users(alab):
    client = root(alab)
    for name, ptype in (("writer", "readwrite"), ("reader", "read")):
        args = conn(alab, name=name, permissions=[{"key": "/app/", "prefix": True, "type": ptype}])
        check_real_again(alab, "etcd_auth_role", args, lambda: client.role_get(name))
    assert client.role_list() == ["mixed", "reader", "root", "writer"]


BAD_PERMISSIONS = [
    ([{"key": "/a"}, {"key": "/a", "type": "write"}], "permissions[1] (key '/a'): the same keys as permissions[0]"),
    ([{"key": "/a", "prefix": True, "range_end": "/b"}], "prefix and range_end are mutually exclusive"),
    ([{"key": ""}], "permissions[0]: key must not be empty"),
    ([{"key": "/b", "range_end": "/a"}], "range_end '/a' must sort after the key"),
    ([{"key": "/a", "type": "admin"}], "admin"),
]


@pytest.mark.parametrize("perms,named", BAD_PERMISSIONS, ids=[b[1][:30] for b in BAD_PERMISSIONS])
def test_role_bad_input_changes_nothing(alab, perms, named):
    client = root(alab)
    before = client.role_get("mixed")
    for name in ("mixed", "newrole"):
        refused(run(alab, "etcd_auth_role", conn(alab, name=name, permissions=perms)), named)
    assert client.role_get("mixed") == before
    assert client.role_get("newrole") is None


# ------------------------------------------------------------------ users

def test_user_with_a_role(alab):
    client = root(alab)
    args = conn(alab, name="alice", user_password=ALICE_PW1, roles=["writer"])
    check, real, again = check_real_again(alab, "etcd_auth_user", args, lambda: client.user_get("alice"))
    assert real["changes"] == ["create user alice", "grant role writer to user alice"]
    assert client.user_get("alice") == ["writer"]
    assert real["diff"] == {"before": {"name": "alice", "exists": False, "roles": []},
                            "after": {"name": "alice", "exists": True, "roles": ["writer"]}}


def test_more_users(alab):
    client = root(alab)
    check_real_again(alab, "etcd_auth_user", conn(alab, name="carol", user_password=OTHER_PW, roles=["reader"]),
                     lambda: client.user_get("carol"))
    check_real_again(alab, "etcd_auth_user", conn(alab, name="bob", user_password=OTHER_PW),
                     lambda: client.user_get("bob"))
    assert client.user_get("bob") == []


def test_user_role_change_and_append(alab):
    client = root(alab)
    check_real_again(alab, "etcd_auth_user", conn(alab, name="dave", user_password=OTHER_PW, roles=["reader"]),
                     lambda: client.user_get("dave"))
    check, real, again = check_real_again(alab, "etcd_auth_user", conn(alab, name="dave", roles=["writer"]),
                                          lambda: client.user_get("dave"))
    assert real["changes"] == ["grant role writer to user dave", "revoke role reader from user dave"]
    assert client.user_get("dave") == ["writer"]
    check_real_again(alab, "etcd_auth_user", conn(alab, name="dave", roles=["reader"], append_roles=True),
                     lambda: client.user_get("dave"))
    assert client.user_get("dave") == ["reader", "writer"]


def test_user_with_a_missing_role_is_refused(alab):
    client = root(alab)
    for check in (True, False):
        refused(run(alab, "etcd_auth_user", conn(alab, name="erin", user_password=OTHER_PW,
                                                 roles=["reader", "ghost"]), check=check),
                "role 'ghost' does not exist")
    assert client.user_get("erin") is None
    refused(run(alab, "etcd_auth_user", conn(alab, name="erin")), "user_password is required to create the user 'erin'")
    assert client.user_get("erin") is None


# --------------------------------------------------- authentication on

def test_enable_auth(alab):
    client = root(alab)
    check, real, again = check_real_again(alab, "etcd_auth", conn(alab, state="enabled"), client.auth_status)
    assert client.auth_status() is True
    assert real["enabled"] is True and real["diff"] == {"before": {"enabled": False}, "after": {"enabled": True}}
    assert again["enabled"] is True


def test_gateway_refuses_a_certificate_with_a_commonname(alab):
    args = dict(alab.conn_args(), username="root", password=ROOT_PW, name="alice")
    refused(run(alab, "etcd_auth_user", args), "CommonName")


def test_auth_is_enforced(alab):
    anonymous = alab.client(nocn=True)
    with pytest.raises(EC.EtcdAuthError) as info:
        anonymous.put("/app/x", "anonymous")
    assert "user name is empty" in str(info.value)
    with pytest.raises(EC.EtcdAuthError) as info:
        as_user(alab, "alice", "wrong password").get("/app/x")
    assert "authentication failed" in str(info.value)

    alice = as_user(alab, "alice", ALICE_PW1)  # role writer: readwrite on /app/
    alice.put("/app/x", "from alice")
    assert alice.get("/app/x") == "from alice"
    with pytest.raises(EC.EtcdAuthError) as info:
        alice.put("/other", "outside the prefix")
    assert "permission denied" in str(info.value)

    carol = as_user(alab, "carol", OTHER_PW)  # role reader: read on /app/
    assert carol.get("/app/x") == "from alice"
    with pytest.raises(EC.EtcdAuthError) as info:
        carol.put("/app/x", "from carol")
    assert "permission denied" in str(info.value)

    bob = as_user(alab, "bob", OTHER_PW)  # no role
    for call in (lambda: bob.get("/app/x"), lambda: bob.put("/app/x", "from bob")):
        with pytest.raises(EC.EtcdAuthError) as info:
            call()
        assert "permission denied" in str(info.value)
    assert root(alab).get("/app/x") == "from alice"


def test_maintenance_needs_root_and_says_so_status_does_not(alab):
    """With auth on, etcd refuses compaction and defragmentation to a user
    without the role root (the module says what to pass); status and alarms
    (what the health gates read) answer any authenticated user (checked on
    3.5.35, 3.6.16 and 3.7.3)."""
    alice = dict(conn(alab), username="alice", password=ALICE_PW1)
    for module, what in (("etcd_compaction", "compaction"), ("etcd_defrag", "defragmentation")):
        refused(run(alab, module, dict(alice, force=True) if module == "etcd_defrag" else alice),
                "permission denied", "etcd allows %s only to a user with the role root" % what)
    res = ok(run(alab, "etcd_status_info", dict(alice, cluster=True)), False)
    assert res["healthy"] and len(res["endpoints"]) == 3, res
    ok(run(alab, "etcd_status_info", dict(conn(alab), cluster=True)), False)


def test_password_change_with_auth_on(alab):
    client = root(alab)

    def read():
        return client.check_password("alice", ALICE_PW1), client.check_password("alice", ALICE_PW2)

    assert read() == (True, False)
    check, real, again = check_real_again(alab, "etcd_auth_user", conn(alab, name="alice", user_password=ALICE_PW2),
                                          read)
    assert read() == (False, True)
    assert real["changes"] == ["change the password of user alice"]
    assert real["diff"]["before"]["password"] == "(old password, not shown)"
    assert real["diff"]["after"]["password"] == "(new password, not shown)"
    assert real["diff"]["before"]["roles"] == real["diff"]["after"]["roles"] == ["writer"]
    assert again.get("diff", {}).get("after", {}).get("password") is None
    assert as_user(alab, "alice", ALICE_PW2).get("/app/x") == "from alice"


def test_update_password_on_create(alab):
    client = root(alab)
    ok(run(alab, "etcd_auth_user", conn(alab, name="alice", user_password=ALICE_PW3, update_password="on_create"),
           check=True), False)
    ok(run(alab, "etcd_auth_user", conn(alab, name="alice", user_password=ALICE_PW3, update_password="on_create")),
       False)
    assert client.check_password("alice", ALICE_PW2) is True
    assert client.check_password("alice", ALICE_PW3) is False


def test_role_change_with_auth_on(alab):
    client = root(alab)
    check_real_again(alab, "etcd_auth_user", conn(alab, name="alice", roles=["reader"]),
                     lambda: client.user_get("alice"))
    alice = as_user(alab, "alice", ALICE_PW2)
    assert alice.get("/app/x") == "from alice"
    with pytest.raises(EC.EtcdAuthError):
        alice.put("/app/x", "no longer allowed")


def test_role_permissions_with_auth_on(alab):
    client = root(alab)
    args = conn(alab, name="reader", permissions=[{"key": "/app/", "prefix": True, "type": "readwrite"}])
    check_real_again(alab, "etcd_auth_role", args, lambda: client.role_get("reader"))
    as_user(alab, "carol", OTHER_PW).put("/app/y", "from carol")
    assert client.get("/app/y") == "from carol"


def test_root_is_protected_while_auth_is_on(alab):
    client = root(alab)
    for check in (True, False):
        refused(run(alab, "etcd_auth_user", conn(alab, name="root", state="absent"), check=check),
                "refusing to delete the user 'root'", "etcd_auth state=disabled")
        refused(run(alab, "etcd_auth_user", conn(alab, name="root", roles=["reader"]), check=check),
                "refusing to revoke the role 'root' from the user 'root'")
        refused(run(alab, "etcd_auth_role", conn(alab, name="root", state="absent"), check=check),
                "refusing to delete the role 'root'")
    assert client.user_get("root") == ["root"]
    assert "root" in client.role_list()
    assert client.auth_status() is True


def test_delete_user_and_role_with_auth_on(alab):
    client = root(alab)
    check, real, again = check_real_again(alab, "etcd_auth_user", conn(alab, name="bob", state="absent"),
                                          lambda: client.user_get("bob"))
    assert real["changes"] == ["delete user bob"]
    assert real["user"] == {"name": "bob", "exists": False, "roles": []}
    assert client.user_get("bob") is None
    check_real_again(alab, "etcd_auth_role", conn(alab, name="mixed", state="absent"),
                     lambda: client.role_get("mixed"))
    assert "mixed" not in client.role_list()


def test_non_root_user_cannot_manage(alab):
    res = refused(run(alab, "etcd_auth_user", conn(alab, username="carol", password=OTHER_PW, name="zed",
                                                   user_password=OTHER_PW)), "permission denied")
    assert "role root" in res["msg"]
    assert root(alab).user_get("zed") is None


# --------------------------------------------------- authentication off

def test_disable_needs_credentials(alab):
    args = conn(alab, state="disabled")
    del args["username"], args["password"]
    refused(run(alab, "etcd_auth", args), "set username and password")
    assert root(alab).auth_status() is True


def test_disable_auth(alab):
    client = root(alab)
    check, real, again = check_real_again(alab, "etcd_auth", conn(alab, state="disabled"), client.auth_status)
    assert client.auth_status() is False and real["enabled"] is False
    anonymous = alab.client(nocn=True)
    anonymous.put("/other", "anyone")
    assert anonymous.get("/app/x") == "from alice"


def test_password_left_alone_when_auth_is_off(alab):
    res = ok(run(alab, "etcd_auth_user", conn(alab, name="alice", user_password=ALICE_PW3)), False)
    assert any("cannot be checked" in w for w in warnings(res)), res
    # users and roles stay, and the old password works once auth is on again
    assert root(alab).user_get("alice") == ["reader"]
