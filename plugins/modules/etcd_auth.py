#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_auth
short_description: Enable or disable etcd authentication
version_added: "0.3.0"
description:
  - Turns etcd's user/password authentication and role-based access control on or off for the whole cluster.
  - Idempotent. The current state is read first; nothing is sent when it already matches.
  - Enabling needs a user C(root) with the role C(root). The module checks that before sending anything and
    fails with one message saying how to create them (M(quorum.etcd.etcd_auth_user)) when they are missing.
  - Disabling needs the credentials of a user with the role C(root) in O(username) and O(password).
  - Talks to etcd's v3 HTTP/JSON gateway using only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
extends_documentation_fragment:
  - quorum.etcd.etcd
attributes:
  check_mode:
    description: Reads whether authentication is enabled (and, to enable it, the C(root) user) and reports what
      would change.
    support: full
  diff_mode:
    description: Shows C(enabled) before and after.
    support: full
options:
  state:
    description:
      - V(enabled) turns authentication on, V(disabled) turns it off.
    type: str
    choices: [enabled, disabled]
    default: enabled
notes:
  - Once authentication is enabled, every client needs a user and password (or, over gRPC, a client
    certificate whose CommonName is a user). etcd's HTTP gateway, which these modules use, then refuses
    client certificates that have a CommonName; use a client certificate without one together with
    O(username) and O(password).
  - Pass the C(root) credentials in O(username) and O(password) before and after authentication is enabled;
    while it is disabled they are not sent.
seealso:
  - module: quorum.etcd.etcd_auth_user
  - module: quorum.etcd.etcd_auth_role
'''

EXAMPLES = r'''
- name: The root user with the root role
  quorum.etcd.etcd_auth_user:
    username: root
    password: "{{ etcd_root_password }}"
    name: root
    user_password: "{{ etcd_root_password }}"
    roles: [root]
  run_once: true

- name: Enable authentication
  quorum.etcd.etcd_auth:
    endpoints: [https://127.0.0.1:2379]
    ca_cert: /etc/etcd/pki/ca.crt
    client_cert: /etc/etcd/pki/client.crt
    client_key: /etc/etcd/pki/client.key
    username: root
    password: "{{ etcd_root_password }}"
    state: enabled
  run_once: true
'''

RETURN = r'''
enabled:
  description: Whether authentication is enabled afterwards (in check mode, would be).
  returned: always
  type: bool
  sample: true
'''

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_auth_plan import ROOT
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import (
    Refusal,
    run_module,
)


def root_problem(root_roles):
    """Why etcd would refuse to enable authentication, or None. Pure."""
    if root_roles is None:
        problem = "there is no user 'root'"
    elif ROOT not in root_roles:
        problem = "the user 'root' does not have the role 'root' (its roles: %s)" % (", ".join(root_roles) or "none")
    else:
        return None
    return ("cannot enable etcd authentication: %s. etcd needs a user 'root' with the role 'root'; create them "
            "first, e.g. with quorum.etcd.etcd_auth_user name=root user_password=... roles=[root]" % problem)


def run(module, client):
    wanted = module.params["state"] == "enabled"
    enabled = client.auth_status()
    result = dict(changed=enabled != wanted, enabled=wanted)
    if module._diff:
        result["diff"] = dict(before=dict(enabled=enabled), after=dict(enabled=wanted))
    if not result["changed"]:
        return result
    if wanted:
        problem = root_problem(client.user_get(ROOT))
        if problem:
            raise Refusal(msg=problem, enabled=enabled)
        if not client.username:
            module.warn("with authentication enabled, every later call needs username and password (and, through "
                        "the HTTP gateway, a client certificate without a CommonName)")
    elif not client.username:
        raise Refusal(msg="disabling etcd authentication needs the credentials of a user with the role root: "
                          "set username and password", enabled=enabled)
    if module.check_mode:
        return result
    if wanted:
        client.auth_enable()
        if client.username and not client.check_password(client.username, client.password):
            module.warn("authentication is enabled, but username '%s' and the given password do not authenticate"
                        % client.username)
    else:
        client.auth_disable()
    return result


def main():
    run_module(dict(state=dict(type="str", choices=["enabled", "disabled"], default="enabled")), run)


if __name__ == "__main__":
    main()
