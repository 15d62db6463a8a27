# -*- coding: utf-8 -*-
"""etcd_auth_user's and etcd_auth's decisions (pure, no network)."""

from __future__ import annotations

import pytest

from ansible_collections.quorum.etcd.plugins.modules import etcd_auth
from ansible_collections.quorum.etcd.plugins.modules import etcd_auth_user as m


def kinds(actions):
    return [a[0] if a[0] in ("add_user", "delete_user", "change_password", "add_root_role") else a
            for a in actions]


def test_create_needs_a_password():
    with pytest.raises(m.PlanError) as info:
        m.plan("alice", "present", None, False)
    assert "user_password is required to create the user 'alice'" in str(info.value)


def test_create_with_roles():
    actions, final, warnings = m.plan("alice", "present", None, False, password="pw", roles=["b", "a"],
                                      existing_roles={"a", "b"})
    assert kinds(actions) == ["add_user", ("grant_role", "a"), ("grant_role", "b")]
    assert final == ["a", "b"] and warnings == []
    assert [m.describe(a, "alice") for a in actions] == [
        "create user alice", "grant role a to user alice", "grant role b to user alice"]


def test_exact_roles_and_append():
    actions, final, _unused = m.plan("alice", "present", ["a", "old"], True, roles=["a", "new"],
                                     existing_roles={"a", "new", "old"})
    assert kinds(actions) == [("grant_role", "new"), ("revoke_role", "old")]
    assert final == ["a", "new"]
    actions, final, _unused = m.plan("alice", "present", ["a", "old"], True, roles=["new"], append_roles=True,
                                     existing_roles={"a", "new", "old"})
    assert kinds(actions) == [("grant_role", "new")]
    assert final == ["a", "new", "old"]


def test_roles_not_given_are_left_alone():
    actions, final, _unused = m.plan("alice", "present", ["x"], True)
    assert actions == [] and final == ["x"]
    actions, final, _unused = m.plan("alice", "present", ["x"], True, roles=[])
    assert kinds(actions) == [("revoke_role", "x")] and final == []


def test_missing_role_is_named_before_any_change():
    with pytest.raises(m.PlanError) as info:
        m.plan("alice", "present", None, False, password="pw", roles=["a", "ghost"], existing_roles={"a"})
    assert "role 'ghost' does not exist" in str(info.value)
    with pytest.raises(m.PlanError) as info:
        m.plan("alice", "present", [], False, roles=["g1", "g2"], existing_roles=set())
    assert "roles 'g1', 'g2' do not exist" in str(info.value)


def test_missing_root_role_is_created():
    actions, final, _unused = m.plan("root", "present", None, False, password="pw", roles=["root"], existing_roles=set())
    assert kinds(actions) == ["add_user", "add_root_role", ("grant_role", "root")]
    actions, _unused, _unused = m.plan("root", "present", None, False, password="pw", roles=["root"], existing_roles={"root"})
    assert kinds(actions) == ["add_user", ("grant_role", "root")]


@pytest.mark.parametrize("enabled,ok,expected,warned", [
    (True, True, [], False),
    (True, False, ["change_password"], False),
    (False, None, [], True),  # cannot be checked: left as it is, with a warning
])
def test_password_update_always(enabled, ok, expected, warned):
    actions, _unused, warnings = m.plan("alice", "present", ["a"], enabled, password="pw", password_ok=ok)
    assert kinds(actions) == expected
    assert bool(warnings) is warned
    for w in warnings:
        assert "pw" not in w.replace("password", "")


def test_password_on_create_and_not_given():
    assert m.plan("alice", "present", ["a"], True, password="pw", update_password="on_create",
                  password_ok=False)[0] == []
    assert m.plan("alice", "present", ["a"], True, password=None)[0] == []


def test_password_change_comes_last():
    actions, _unused, _unused = m.plan("alice", "present", [], True, password="pw", password_ok=False, roles=["a"],
                                       existing_roles={"a"})
    assert kinds(actions) == [("grant_role", "a"), "change_password"]


def test_absent():
    assert m.plan("alice", "absent", None, True)[0] == []
    actions, final, _unused = m.plan("alice", "absent", ["a"], True)
    assert kinds(actions) == ["delete_user"] and final is None


def test_root_is_protected_while_auth_is_enabled():
    with pytest.raises(m.PlanError) as info:
        m.plan("root", "absent", ["root"], True)
    assert "refusing to delete the user 'root'" in str(info.value)
    with pytest.raises(m.PlanError) as info:
        m.plan("root", "present", ["root"], True, roles=["other"], existing_roles={"root", "other"})
    assert "refusing to revoke the role 'root' from the user 'root'" in str(info.value)
    # with authentication disabled, both are allowed
    assert kinds(m.plan("root", "absent", ["root"], False)[0]) == ["delete_user"]
    assert kinds(m.plan("root", "present", ["root"], False, roles=[], existing_roles={"root"})[0]) == \
        [("revoke_role", "root")]
    # append never revokes
    assert m.plan("root", "present", ["root"], True, roles=[], append_roles=True)[0] == []


def test_user_view():
    assert m.user_view("a", None) == {"name": "a", "exists": False, "roles": []}
    assert m.user_view("a", ["y", "x"]) == {"name": "a", "exists": True, "roles": ["x", "y"]}


def test_enable_needs_root_with_root_role():
    assert etcd_auth.root_problem(["root"]) is None
    assert etcd_auth.root_problem(["root", "other"]) is None
    missing = etcd_auth.root_problem(None)
    assert "there is no user 'root'" in missing and "quorum.etcd.etcd_auth_user name=root" in missing
    no_role = etcd_auth.root_problem(["app"])
    assert "does not have the role 'root' (its roles: app)" in no_role
    assert "(its roles: none)" in etcd_auth.root_problem([])
