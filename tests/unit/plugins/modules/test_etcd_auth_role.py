# -*- coding: utf-8 -*-
"""etcd_auth_role's input checks and permission diffing (pure, no network)."""

from __future__ import annotations

import pytest

from ansible_collections.quorum.etcd.plugins.modules import etcd_auth_role as m


def perm(key, range_end="", ptype="read"):
    return {"key": key, "range_end": range_end, "type": ptype}


def opt(key, **kw):
    entry = {"key": key, "prefix": False, "range_end": None, "type": "read"}
    entry.update(kw)
    return entry


def test_desired_permissions_normalises():
    got = m.desired_permissions([
        opt("/app/", prefix=True, type="readwrite"),
        opt("/config"),
        opt("/a", range_end="/c", type="write"),
        opt("/from", range_end="\x00"),
        {"key": "/minimal"},  # suboption defaults missing: read, one key
    ])
    assert got == [perm("/app/", "/app0", "readwrite"), perm("/config"), perm("/a", "/c", "write"),
                   perm("/from", "\x00"), perm("/minimal")]


@pytest.mark.parametrize("entries,named", [
    ([opt("")], "permissions[0]: key must not be empty"),
    ([opt("/ok"), {"key": None}], "permissions[1]: key must not be empty"),
    ([opt("/a", prefix=True, range_end="/b")], "prefix and range_end are mutually exclusive"),
    ([opt("/a", prefix=True, range_end="")], "'/a'"),
    ([opt("/b", range_end="/a")], "range_end '/a' must sort after the key"),
    ([opt("/b", range_end="/b")], "range_end '/b'"),
    ([opt("/a"), opt("/a", type="write")], "permissions[1] (key '/a'): the same keys as permissions[0]"),
    ([opt("/a/", prefix=True), opt("/a/", range_end="/a0")], "the same keys as permissions[0] (prefix '/a/')"),
    ([opt("/a", type="admin")], 'type "admin"'),
    (["/a"], "permissions[0] is not a dict"),
])
def test_desired_permissions_refuses(entries, named):
    with pytest.raises(m.PlanError) as info:
        m.desired_permissions(entries)
    assert named in str(info.value)


def test_same_key_different_ranges_are_different_permissions():
    got = m.desired_permissions([opt("/a"), opt("/a", prefix=True), opt("/a", range_end="/c")])
    assert [p["range_end"] for p in got] == ["", "/b", "/c"]
    # prefix '/a' is the range ['/a', '/b'): the same permission twice
    with pytest.raises(m.PlanError) as info:
        m.desired_permissions([opt("/a", prefix=True), opt("/a", range_end="/b")])
    assert "permissions[1] (key '/a'): the same keys as permissions[0] (prefix '/a')" in str(info.value)


def test_diff_permissions_grant_revoke_type_change():
    current = [perm("/app/", "/app0", "readwrite"), perm("/config"), perm("/logs/", "/logs0", "write")]
    desired = [perm("/app/", "/app0", "read"), perm("/logs/", "/logs0", "write"), perm("/new")]
    grants, revokes = m.diff_permissions(current, desired, purge=True)
    assert grants == [perm("/app/", "/app0", "read"), perm("/new")]  # type change = grant
    assert revokes == [perm("/config")]
    grants, revokes = m.diff_permissions(current, desired, purge=False)
    assert revokes == []
    assert m.diff_permissions(current, current, purge=True) == ([], [])


def test_exact_key_and_prefix_of_the_same_key_are_distinct():
    current = [perm("/a"), perm("/a", "/b")]
    grants, revokes = m.diff_permissions(current, [perm("/a", "/b")], purge=True)
    assert grants == [] and revokes == [perm("/a")]


def test_plan_creates_role_and_grants():
    actions, final = m.plan("app", "present", None, False, permissions=[opt("/app/", prefix=True, type="write")])
    assert [a[0] for a in actions] == ["add_role", "grant"]
    assert final == [perm("/app/", "/app0", "write")]
    assert m.describe(actions[0], "app") == "create role app"
    assert m.describe(actions[1], "app") == "grant write on prefix '/app/' to role app"


def test_plan_is_idempotent_and_describes_changes():
    current = [perm("/app/", "/app0", "readwrite"), perm("/config")]
    same = [opt("/config"), opt("/app/", prefix=True, type="readwrite")]
    assert m.plan("app", "present", current, True, permissions=same) == ([], current)
    actions, final = m.plan("app", "present", current, True, permissions=[opt("/app/", prefix=True)])
    assert [m.describe(a, "app") for a in actions] == [
        "change readwrite on prefix '/app/' of role app to read",
        "revoke read on key '/config' from role app",
    ]
    assert final == [perm("/app/", "/app0", "read")]


def test_plan_without_permissions_leaves_them():
    current = [perm("/x")]
    assert m.plan("app", "present", current, False, permissions=None) == ([], current)
    actions, final = m.plan("app", "present", None, False, permissions=None)
    assert [a[0] for a in actions] == ["add_role"] and final == []
    # an empty list with purge means "no permissions"
    actions, final = m.plan("app", "present", current, False, permissions=[])
    assert [a[0] for a in actions] == ["revoke"] and final == []


def test_plan_absent():
    assert m.plan("app", "absent", None, True) == ([], None)
    actions, final = m.plan("app", "absent", [perm("/x")], True)
    assert [a[0] for a in actions] == ["delete_role"] and final is None


def test_root_role():
    with pytest.raises(m.PlanError) as info:
        m.plan("root", "present", [], False, permissions=[opt("/x")])
    assert "'root' has every permission" in str(info.value)
    assert m.plan("root", "present", [], True, permissions=None) == ([], [])
    assert m.plan("root", "present", [], True, permissions=[]) == ([], [])
    assert [a[0] for a in m.plan("root", "present", None, False)[0]] == ["add_role"]
    with pytest.raises(m.PlanError) as info:
        m.plan("root", "absent", [], True)
    assert "refusing to delete the role 'root'" in str(info.value)
    assert [a[0] for a in m.plan("root", "absent", [], False)[0]] == ["delete_role"]


def test_perm_text_and_view():
    assert m.perm_text(perm("/a")) == "key '/a'"
    assert m.perm_text(perm("/a/", "/a0")) == "prefix '/a/'"
    assert m.perm_text(perm("/a", "\x00")) == "every key from '/a' on"
    assert m.perm_text(perm("/a", "/c")) == "keys from '/a' to '/c' (excluded)"
    assert m.perm_view(perm("/a/", "/a0", "write")) == {"key": "/a/", "range_end": "/a0", "prefix": True,
                                                        "type": "write"}
    assert m.perm_view(perm("/a"))["prefix"] is False
    odd = m.desired_permissions([opt("/k\u00bf", prefix=True)])[0]
    assert m.perm_view(odd)["range_end"] == "/k\\xc2\\xc0"  # printable, no lone surrogates


def test_final_permissions_sorted_by_bytes():
    actions, final = m.plan("r", "present", [], False, permissions=[opt("/b"), opt("/a"), opt("/a", range_end="/b")])
    assert [(p["key"], p["range_end"]) for p in final] == [("/a", ""), ("/a", "/b"), ("/b", "")]
