# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: every problem of the declared etcd roles and users, before any host changes (SAFETY-20)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_auth_problems
short_description: List every problem of the declared etcd roles and users, one sentence each
version_added: "0.3.0"
description:
  - Checks C(etcd_auth_roles) and C(etcd_auth_users) on the controller, before any host changes (SAFETY-20),
    with the same rules the modules M(quorum.etcd.etcd_auth_role) and M(quorum.etcd.etcd_auth_user) apply
    on the node, so a bad declaration is refused at once rather than half way through.
  - Each role needs a name and valid permissions (a key, a type of C(read), C(write) or C(readwrite), not both
    C(prefix) and C(range_end), a range end after the key, each range once). Each user needs a name other
    than C(root), a password, an C(update_password) of C(always) or C(on_create), and only declared roles (or
    C(root)). No name is declared twice.
  - Never prints a password.
options:
  _input:
    description: The declared roles (C(etcd_auth_roles)).
    type: list
    elements: dict
    required: true
  users:
    description: The declared users (C(etcd_auth_users)).
    type: list
    elements: dict
    default: []
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Refuse bad declarations before any host changes
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "Invalid etcd_auth settings: {{ problems | join('; ') }}."
  vars:
    problems: "{{ etcd_auth_roles | quorum.etcd.etcd_auth_problems(users=etcd_auth_users) }}"
'''

RETURN = r'''
_value:
  description: One sentence per problem, in the order of the declarations; empty when there is none.
  type: list
  elements: str
'''

import json

UPDATE_PASSWORD = ("always", "on_create")


def _name(entry):
    if not isinstance(entry, dict):
        return ""
    name = entry.get("name")
    return "" if name is None else str(name)


def _twice(names, what):
    seen, twice = set(), []
    for name in names:
        if name and name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    return ["%s %s is declared twice" % (what, name) for name in twice]


def etcd_auth_problems(roles, users=None):
    # Imported here, not with the module: Ansible loads every filter file of
    # the collection in each worker that uses any one of them, and the plan's
    # etcd client brings ssl and http.client (about a third of that cost).
    from ansible_collections.quorum.etcd.plugins.module_utils.etcd_auth_plan import (  # pylint: disable=import-outside-toplevel
        ROOT, PlanError, desired_permissions)

    roles, users = list(roles or []), list(users or [])
    problems = []
    role_names = [_name(r) for r in roles]
    for i, role in enumerate(roles):
        if not role_names[i]:
            problems.append("etcd_auth_roles[%d] needs a name" % i)
            continue
        permissions = role.get("permissions") or []
        if not isinstance(permissions, list):
            problems.append("role %s: permissions must be a list" % role_names[i])
            continue
        try:
            desired_permissions(permissions)
        except PlanError as exc:
            problems.append("role %s: %s" % (role_names[i], exc))
    declared = set(role_names) | {ROOT}
    user_names = [_name(u) for u in users]
    for i, user in enumerate(users):
        name = user_names[i]
        if not name:
            problems.append("etcd_auth_users[%d] needs a name" % i)
            continue
        if name == ROOT:
            problems.append("user root is managed through etcd_cluster_root_password, not etcd_auth_users")
        if not str(user.get("password") or ""):
            problems.append("user %s has no password" % name)
        update = user.get("update_password", "always")
        if update not in UPDATE_PASSWORD:
            problems.append("user %s: update_password %s (use always or on_create)" % (name, json.dumps(update)))
        for role in user.get("roles") or []:
            if role not in declared:
                problems.append("user %s names role %s, which etcd_auth_roles does not declare" % (name, json.dumps(role)))
    return problems + _twice(role_names, "role") + _twice(user_names, "user")


class FilterModule(object):
    def filters(self):
        return {"etcd_auth_problems": etcd_auth_problems}
