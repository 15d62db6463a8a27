# -*- coding: utf-8 -*-
"""etcd_auth_problems (SAFETY-20): every problem of the declared roles and
users, with the rules the auth modules apply on the node, and never a
password in a message."""
from __future__ import annotations

import pytest

from ansible_collections.quorum.etcd.plugins.filter.etcd_auth_problems import etcd_auth_problems

SECRET = "s3cret-never-shown"
GOOD_ROLES = [{"name": "app", "permissions": [{"key": "/app/", "prefix": True, "type": "readwrite"},
                                              {"key": "/config", "type": "read"}]},
              {"name": "empty"}]
GOOD_USERS = [{"name": "app", "password": SECRET, "roles": ["app", "root"]},
              {"name": "ops", "password": SECRET, "update_password": "on_create"}]


def test_good_declarations_have_no_problem():
    assert etcd_auth_problems(GOOD_ROLES, users=GOOD_USERS) == []
    assert etcd_auth_problems([], users=[]) == [] and etcd_auth_problems(None) == []


@pytest.mark.parametrize("roles, users, problem", [
    ([{"permissions": []}], [], "etcd_auth_roles[0] needs a name"),
    (["app"], [], "etcd_auth_roles[0] needs a name"),
    ([{"name": "app", "permissions": [{"key": "/a", "type": "all"}]}], [],
     'role app: permissions[0] (key \'/a\'): type "all" is not one of read, write, readwrite'),
    ([{"name": "app", "permissions": [{"type": "read"}]}], [], "role app: permissions[0]: key must not be empty"),
    ([{"name": "app", "permissions": [{"key": "/a", "prefix": True, "range_end": "/b"}]}], [],
     "prefix and range_end are mutually exclusive"),
    ([{"name": "app", "permissions": [{"key": "/b", "range_end": "/a"}]}], [], "range_end '/a' must sort after the key"),
    ([{"name": "app", "permissions": [{"key": "/a"}, {"key": "/a", "type": "write"}]}], [],
     "the same keys as permissions[0]"),
    ([{"name": "app", "permissions": "/a"}], [], "role app: permissions must be a list"),
    ([], [{"password": SECRET}], "etcd_auth_users[0] needs a name"),
    ([], [{"name": "root", "password": SECRET}], "user root is managed through etcd_cluster_root_password"),
    ([], [{"name": "app"}], "user app has no password"),
    ([], [{"name": "app", "password": SECRET, "update_password": "never"}],
     'user app: update_password "never" (use always or on_create)'),
    ([], [{"name": "app", "password": SECRET, "roles": ["ghost"]}],
     'user app names role "ghost", which etcd_auth_roles does not declare'),
    ([{"name": "app"}, {"name": "app"}], [], "role app is declared twice"),
    ([], [{"name": "u", "password": SECRET}, {"name": "u", "password": SECRET}], "user u is declared twice"),
])
def test_each_problem_is_named(roles, users, problem):
    problems = etcd_auth_problems(roles, users=users)
    assert len(problems) == 1 and problem in problems[0], problems
    assert SECRET not in " ".join(problems)


def test_every_problem_is_reported_at_once():
    problems = etcd_auth_problems([{"name": "app", "permissions": [{"key": "/a", "type": "all"}]}, {}],
                                  users=[{"name": "app", "roles": ["ghost"]}, {"name": "app", "password": SECRET}])
    assert [p.split(":")[0].split(" names")[0] for p in problems] == [
        "role app", "etcd_auth_roles[1] needs a name", "user app has no password", "user app", "user app is declared twice"]
