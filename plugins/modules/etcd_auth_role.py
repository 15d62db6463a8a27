#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_auth_role
short_description: Manage etcd roles and their key permissions
version_added: "0.3.0"
description:
  - Creates or deletes an etcd role and sets the key permissions it grants.
  - Idempotent. The role is read first and only the differences are sent.
  - A permission is identified by its key and range end. A listed permission whose type differs from the
    granted one is granted again with the new type; etcd replaces it.
  - The built-in role C(root) has every permission; its permissions cannot be managed. V(present) only makes
    sure it exists, and deleting it is refused while authentication is enabled (etcd forbids it too).
  - Every permission is checked before anything changes; a bad one fails the module naming it.
  - Talks to etcd's v3 HTTP/JSON gateway using only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment:
  - quorum.etcd.etcd
attributes:
  check_mode:
    description: Reads the role and reports what would change; nothing is sent.
    support: full
  diff_mode:
    description: Shows the role's permissions before and after.
    support: full
options:
  name:
    description:
      - Name of the etcd role.
    type: str
    required: true
  state:
    description:
      - V(present) creates the role when missing and applies O(permissions).
      - V(absent) deletes the role (etcd also revokes it from every user); a role that does not exist is a
        success with C(changed=false).
    type: str
    choices: [present, absent]
    default: present
  permissions:
    description:
      - The key permissions the role grants. When not given, the role's permissions are left as they are.
      - Two entries for the same key and range end are refused.
    type: list
    elements: dict
    suboptions:
      key:
        description:
          - The key, or the first key of the range. Must not be empty.
        type: str
        required: true
      prefix:
        description:
          - V(true) grants every key that starts with O(permissions[].key), as C(etcdctl role grant-permission
            --prefix) does. Cannot be used together with O(permissions[].range_end).
        type: bool
        default: false
      range_end:
        description:
          - Grant the keys from O(permissions[].key) up to, not including, this key. It must sort after
            O(permissions[].key); C("\x00") means every key from O(permissions[].key) on.
          - When neither this nor O(permissions[].prefix) is set, the permission is for the one key.
        type: str
      type:
        description:
          - What the role may do with these keys.
        type: str
        choices: [read, write, readwrite]
        default: read
  purge_permissions:
    description:
      - V(true) revokes the role's permissions that are not listed in O(permissions).
      - V(false) only grants the listed ones (and changes their type); others are kept.
      - Has no effect when O(permissions) is not given.
    type: bool
    default: true
notes:
  - Once authentication is enabled, managing roles needs the credentials of a user with the C(root) role, and
    etcd's HTTP gateway refuses client certificates that have a CommonName; see M(quorum.etcd.etcd_auth).
seealso:
  - module: quorum.etcd.etcd_auth_user
  - module: quorum.etcd.etcd_auth
'''

EXAMPLES = r'''
- name: A role for Patroni, with exactly these permissions
  quorum.etcd.etcd_auth_role:
    endpoints: [https://127.0.0.1:2379]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/client.crt
    client_key: /etc/etcd/pki/client.key
    username: root
    password: "{{ etcd_root_password }}"
    name: patroni
    permissions:
      - key: /service/
        prefix: true
        type: readwrite
      - key: /config/patroni
        type: read
  run_once: true

- name: Add a permission and keep the others
  quorum.etcd.etcd_auth_role:
    username: root
    password: "{{ etcd_root_password }}"
    name: reporting
    permissions:
      - key: /metrics/a
        range_end: /metrics/m
    purge_permissions: false
  run_once: true

- name: The root role, needed before authentication can be enabled
  quorum.etcd.etcd_auth_role:
    username: root
    password: "{{ etcd_root_password }}"
    name: root
  run_once: true
'''

RETURN = r'''
role:
  description: The role afterwards (in check mode, as it would be).
  returned: always
  type: dict
  contains:
    name:
      description: The role name.
      type: str
      sample: patroni
    exists:
      description: Whether the role exists.
      type: bool
      sample: true
    permissions:
      description:
        - The role's permissions, sorted by key and range end. C(range_end) is empty for a single key;
          C(prefix) is true when C(range_end) is the key's prefix end. Bytes that are not UTF-8 are shown as C(\xNN).
      type: list
      elements: dict
      sample: [{"key": "/service/", "range_end": "/service0", "prefix": true, "type": "readwrite"}]
changes:
  description: What the module changed (in check mode, would change), in order.
  returned: always
  type: list
  elements: str
  sample: ["create role patroni", "grant readwrite on prefix '/service/' to role patroni"]
auth_enabled:
  description: Whether etcd authentication is enabled.
  returned: always
  type: bool
  sample: false
'''

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_auth_plan import (
    ROOT,
    PlanError,
    desired_permissions,
    ident,
    perm_text,
    sort_key,
)
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import (
    Refusal,
    PERM_TYPES,
    EtcdAuthError,
    apply_in_order,
    display_key,
    needs_root,
    prefix_range_end,
    run_module,
)


def diff_permissions(current, desired, purge):
    """(grants, revokes): what makes ``current`` match ``desired``. A grant
    with a new type replaces the permission of the same key and range end."""
    have = dict((ident(p), p["type"]) for p in current)
    want = set(ident(p) for p in desired)
    grants = [p for p in desired if have.get(ident(p)) != p["type"]]
    revokes = [p for p in current if purge and ident(p) not in want]
    return sorted(grants, key=sort_key), sorted(revokes, key=sort_key)


def apply_permissions(current, grants, revokes):
    result = dict((ident(p), p) for p in current)
    for p in revokes:
        result.pop(ident(p), None)
    for p in grants:
        result[ident(p)] = dict(p)
    return sorted(result.values(), key=sort_key)


def plan(name, state, current, auth_enabled, permissions=None, purge=True):
    """Decide what to do. Pure. ``current`` is the role's permissions or None
    when it does not exist; ``permissions`` the option's value (None: not
    managed). Returns (actions, final permissions or None). Each action is
    (kind, permission or None, old type or None)."""
    if state == "absent":
        if current is None:
            return [], None
        if name == ROOT and auth_enabled:
            raise PlanError("refusing to delete the role 'root' while etcd authentication is enabled: etcd needs "
                            "it (and refuses it as well). Disable authentication first (quorum.etcd.etcd_auth "
                            "state=disabled)")
        return [("delete_role", None, None)], None
    if name == ROOT and permissions:
        raise PlanError("the role 'root' has every permission; its permissions cannot be managed (remove the "
                        "permissions option)")
    desired = desired_permissions(permissions) if permissions is not None else None
    actions = []
    if current is None:
        actions.append(("add_role", None, None))
    have = list(current or [])
    if desired is None or name == ROOT:
        return actions, have
    grants, revokes = diff_permissions(have, desired, purge)
    types = dict((ident(p), p["type"]) for p in have)
    actions.extend(("grant", p, types.get(ident(p))) for p in grants)
    actions.extend(("revoke", p, None) for p in revokes)
    return actions, apply_permissions(have, grants, revokes)


def describe(action, name):
    kind, perm, old = action
    if kind == "delete_role":
        return "delete role %s" % name
    if kind == "add_role":
        return "create role %s" % name
    if kind == "revoke":
        return "revoke %s on %s from role %s" % (perm["type"], perm_text(perm), name)
    if old:
        return "change %s on %s of role %s to %s" % (old, perm_text(perm), name, perm["type"])
    return "grant %s on %s to role %s" % (perm["type"], perm_text(perm), name)


def apply(client, action, name):
    kind, perm, old = action
    if kind == "delete_role":
        client.role_delete(name)
    elif kind == "add_role":
        client.role_add(name)
    elif kind == "grant":
        client.role_grant_permission(name, perm["key"], perm["range_end"], perm["type"])
    elif kind == "revoke":
        client.role_revoke_permission(name, perm["key"], perm["range_end"])


def perm_view(perm):
    end = perm["range_end"]
    return dict(key=display_key(perm["key"]), range_end=display_key(end),
                prefix=bool(end) and end == prefix_range_end(perm["key"]), type=perm["type"])


def role_view(name, perms):
    return dict(name=name, exists=perms is not None,
                permissions=[perm_view(p) for p in sorted(perms or [], key=sort_key)])


def run(module, client):
    p = module.params
    name = p["name"]
    if not name or not name.strip():
        raise Refusal(msg="name must not be empty")
    if p["state"] == "present" and p["permissions"] is not None:
        desired_permissions(p["permissions"])  # refuse bad input (PlanError) before reading anything

    try:
        enabled = client.auth_status()
        current = client.role_get(name)
    except EtcdAuthError as exc:
        needs_root(exc, "roles")
    try:
        actions, final = plan(name, p["state"], current, enabled, permissions=p["permissions"],
                              purge=p["purge_permissions"])
    except PlanError as exc:
        exc.result.update(role=role_view(name, current), auth_enabled=enabled)
        raise

    result = dict(changed=bool(actions), changes=[describe(a, name) for a in actions], auth_enabled=enabled,
                  role=role_view(name, final))
    if module._diff:
        result["diff"] = dict(before=role_view(name, current), after=result["role"])
    if module.check_mode or not actions:
        return result
    apply_in_order(module, actions, lambda action: apply(client, action, name), lambda action: describe(action, name))
    return result


def main():
    run_module(dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        permissions=dict(type="list", elements="dict", options=dict(
            key=dict(type="str", required=True, no_log=False),
            prefix=dict(type="bool", default=False),
            range_end=dict(type="str"),
            type=dict(type="str", choices=list(PERM_TYPES), default="read"),
        )),
        purge_permissions=dict(type="bool", default=True),
    ), run)


if __name__ == "__main__":
    main()
