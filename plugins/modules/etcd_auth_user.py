#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_auth_user
short_description: Manage etcd users, their passwords and roles
version_added: "0.3.0"
description:
  - Creates or deletes an etcd user, sets its password and the roles granted to it.
  - Idempotent. The user and its roles are read first and only the differences are sent.
  - A password can only be checked while etcd authentication is enabled (by authenticating with it). While it is
    disabled, the password of an existing user is left as it is, with a warning; it is set when the user is created.
  - Works before and after authentication is enabled with the same arguments. Pass the C(root) user's credentials
    in O(username) and O(password); while authentication is disabled they are not needed and not sent.
  - Deleting the C(root) user, or revoking the C(root) role from it, is refused before anything changes while
    authentication is enabled (etcd forbids it too).
  - Talks to etcd's v3 HTTP/JSON gateway using only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment:
  - quorum.etcd.etcd
attributes:
  check_mode:
    description: Reads the user and reports what would change; nothing is sent.
    support: full
  diff_mode:
    description: Shows the user's roles before and after; a password change is shown as such, never the password.
    support: full
options:
  name:
    description:
      - Name of the etcd user.
    type: str
    required: true
  state:
    description:
      - V(present) creates the user when missing and applies O(user_password) and O(roles).
      - V(absent) deletes the user; a user that does not exist is a success with C(changed=false).
    type: str
    choices: [present, absent]
    default: present
  user_password:
    description:
      - Password of the user O(name). Required to create a user. Never logged nor returned.
      - Called C(user_password) because O(password) is the password this module logs in with.
    type: str
  update_password:
    description:
      - V(always) changes the password of an existing user when O(user_password) does not authenticate it
        (only possible while authentication is enabled, see above).
      - V(on_create) sets the password only when the user is created.
    type: str
    choices: [always, on_create]
    default: always
  roles:
    description:
      - Roles the user has afterwards. When not given, the user's roles are left as they are.
      - Every role must exist (see M(quorum.etcd.etcd_auth_role)), or the module fails naming it before
        changing anything. The exception is the built-in role C(root), which has every permission and
        nothing to configure; it is created when missing.
      - With O(append_roles=false), roles the user has that are not listed are revoked.
    type: list
    elements: str
  append_roles:
    description:
      - V(true) only grants the missing roles of O(roles) and revokes none.
    type: bool
    default: false
notes:
  - Once authentication is enabled, managing users needs the credentials of a user with the C(root) role, and
    etcd's HTTP gateway refuses client certificates that have a CommonName; see M(quorum.etcd.etcd_auth).
seealso:
  - module: quorum.etcd.etcd_auth_role
  - module: quorum.etcd.etcd_auth
'''

EXAMPLES = r'''
- name: The root user, needed before authentication can be enabled
  quorum.etcd.etcd_auth_user:
    endpoints: [https://127.0.0.1:2379]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/client.crt
    client_key: /etc/etcd/pki/client.key
    username: root
    password: "{{ etcd_root_password }}"
    name: root
    user_password: "{{ etcd_root_password }}"
    roles: [root]
  run_once: true

- name: An application user with exactly one role
  quorum.etcd.etcd_auth_user:
    username: root
    password: "{{ etcd_root_password }}"
    name: patroni
    user_password: "{{ patroni_etcd_password }}"
    roles: [patroni]
  run_once: true

- name: Set the password only when the user is created
  quorum.etcd.etcd_auth_user:
    username: root
    password: "{{ etcd_root_password }}"
    name: reporting
    user_password: "{{ initial_password }}"
    update_password: on_create
  run_once: true

- name: Delete a user
  quorum.etcd.etcd_auth_user:
    username: root
    password: "{{ etcd_root_password }}"
    name: olduser
    state: absent
  run_once: true
'''

RETURN = r'''
user:
  description: The user afterwards (in check mode, as it would be).
  returned: always
  type: dict
  contains:
    name:
      description: The user name.
      type: str
      sample: patroni
    exists:
      description: Whether the user exists.
      type: bool
      sample: true
    roles:
      description: The user's roles, sorted.
      type: list
      elements: str
      sample: [patroni]
changes:
  description: What the module changed (in check mode, would change), in order. Never contains a password.
  returned: always
  type: list
  elements: str
  sample: ["create user patroni", "grant role patroni to user patroni"]
auth_enabled:
  description: Whether etcd authentication is enabled.
  returned: always
  type: bool
  sample: true
'''

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_auth_plan import ROOT, PlanError
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import (
    Refusal,
    EtcdAuthError,
    apply_in_order,
    needs_root,
    run_module,
)


def plan(name, state, current_roles, auth_enabled, password=None, update_password="always",
         roles=None, append_roles=False, password_ok=None, existing_roles=None):
    """Decide what to do. Pure.

    ``current_roles`` is None when the user does not exist. ``password_ok``
    is True/False when the password could be checked, None otherwise.
    ``existing_roles`` is the set of roles that exist. Returns (actions,
    final_roles or None, warnings); each action is a tuple whose first item
    says what to do. Raises PlanError with one clear message."""
    warnings = []
    exists = current_roles is not None
    if state == "absent":
        if not exists:
            return [], None, warnings
        if name == ROOT and auth_enabled:
            raise PlanError("refusing to delete the user 'root' while etcd authentication is enabled: etcd needs it "
                            "(and refuses it as well). Disable authentication first (quorum.etcd.etcd_auth "
                            "state=disabled)")
        return [("delete_user", name)], None, warnings

    actions = []
    current = set(current_roles or [])
    if roles is None:
        wanted = set(current)
    elif append_roles:
        wanted = current | set(roles)
    else:
        wanted = set(roles)
    to_grant = sorted(wanted - current)
    to_revoke = sorted(current - wanted)
    if name == ROOT and ROOT in to_revoke and auth_enabled:
        raise PlanError("refusing to revoke the role 'root' from the user 'root' while etcd authentication is "
                        "enabled: etcd needs it (and refuses it as well). Keep 'root' in roles, or disable "
                        "authentication first (quorum.etcd.etcd_auth state=disabled)")
    existing_roles = set(existing_roles or ())
    missing = [r for r in to_grant if r not in existing_roles and r != ROOT]
    if missing:
        raise PlanError("role%s %s do%s not exist; create %s first with quorum.etcd.etcd_auth_role"
                        % ("s" if len(missing) > 1 else "", ", ".join("'%s'" % r for r in missing),
                           "" if len(missing) > 1 else "es", "them" if len(missing) > 1 else "it"))
    if not exists:
        if password is None:
            raise PlanError("user_password is required to create the user '%s'" % name)
        actions.append(("add_user", name))
    elif password is not None and update_password == "always":
        if password_ok is None:
            warnings.append("etcd authentication is disabled, so the password of the existing user '%s' cannot be "
                            "checked; it was left as it is (it is checked and updated while authentication is "
                            "enabled)" % name)
        elif not password_ok:
            actions.append(("change_password", name))
    if ROOT in to_grant and ROOT not in existing_roles:
        actions.append(("add_root_role", ROOT))
    actions.extend(("grant_role", r) for r in to_grant)
    actions.extend(("revoke_role", r) for r in to_revoke)
    # A password change last: etcd invalidates the user's tokens, which
    # matters when the module logs in as this very user.
    actions.sort(key=lambda a: a[0] == "change_password")
    return actions, sorted(wanted), warnings


def describe(action, name):
    kind, arg = action
    return {
        "delete_user": "delete user %s" % name,
        "add_user": "create user %s" % name,
        "change_password": "change the password of user %s" % name,
        "add_root_role": "create role root",
        "grant_role": "grant role %s to user %s" % (arg, name),
        "revoke_role": "revoke role %s from user %s" % (arg, name),
    }[kind]


def apply(client, action, name, password):
    kind, arg = action
    if kind == "delete_user":
        client.user_delete(name)
    elif kind == "add_user":
        client.user_add(name, password)
    elif kind == "change_password":
        client.user_change_password(name, password)
    elif kind == "add_root_role":
        client.role_add(ROOT)
    elif kind == "grant_role":
        client.user_grant_role(name, arg)
    elif kind == "revoke_role":
        client.user_revoke_role(name, arg)


def user_view(name, roles):
    return dict(name=name, exists=roles is not None, roles=sorted(roles or []))


def run(module, client):
    p = module.params
    name = p["name"]
    if not name or not name.strip():
        raise Refusal(msg="name must not be empty")
    roles = p["roles"]
    if roles is not None:
        for role in roles:
            if not role or not role.strip():
                raise Refusal(msg="roles contains an empty role name: %r" % (roles,))
        roles = sorted(set(roles))
    password = p["user_password"]
    if password is not None and password == "" and p["state"] == "present":
        raise Refusal(msg="user_password must not be empty")

    try:
        enabled = client.auth_status()
        current = client.user_get(name)
        existing_roles = None
        if p["state"] == "present" and roles is not None:
            existing_roles = client.role_list()
        password_ok = None
        if current is not None and password is not None and p["update_password"] == "always" and enabled:
            password_ok = client.check_password(name, password)
    except EtcdAuthError as exc:
        needs_root(exc, "users")

    try:
        actions, final, warnings = plan(name, p["state"], current, enabled, password=password,
                                        update_password=p["update_password"], roles=roles,
                                        append_roles=p["append_roles"], password_ok=password_ok,
                                        existing_roles=existing_roles)
    except PlanError as exc:
        exc.result.update(user=user_view(name, current), auth_enabled=enabled)
        raise
    for warning in warnings:
        module.warn(warning)

    changes = [describe(a, name) for a in actions]
    result = dict(changed=bool(actions), changes=changes, auth_enabled=enabled,
                  user=user_view(name, final if p["state"] == "present" else None))
    if module._diff:
        before = user_view(name, current)
        after = dict(result["user"])
        if any(a[0] == "change_password" for a in actions):
            before["password"] = "(old password, not shown)"
            after["password"] = "(new password, not shown)"
        result["diff"] = dict(before=before, after=after)
    if module.check_mode or not actions:
        return result
    apply_in_order(module, actions, lambda action: apply(client, action, name, password),
                   lambda action: describe(action, name))
    return result


def main():
    run_module(dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        user_password=dict(type="str", no_log=True),
        update_password=dict(type="str", choices=["always", "on_create"], default="always", no_log=False),
        roles=dict(type="list", elements="str"),
        append_roles=dict(type="bool", default=False),
    ), run)


if __name__ == "__main__":
    main()
