# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Lookup: the options of several of the collection's role entry points, as one argument spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_argument_specs
short_description: The options of several role entry points of this collection, merged into one argument spec
version_added: "0.4.0"
description:
  - Reads C(meta/argument_specs.yml) of each named role of quorum.etcd and returns the C(options) of the named entry
    points merged into one dictionary, for M(ansible.builtin.validate_argument_spec).
  - C(playbooks/site.yml) checks every role's settings with one such task before any role runs, instead of one
    argument check per role (SAFETY-20).
  - An option that two entry points declare differently (type, default, choices, elements, suboptions; the
    descriptions may differ) is an error naming the option and both entry points, so the merged spec never hides
    a difference.
options:
  _terms:
    description: The entry points, each C(<role>:<entry point>), the role by its short name (C(etcd_tls:preflight)).
    type: list
    elements: str
    required: true
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Check the settings of the TLS and service roles in one step
  ansible.builtin.validate_argument_spec:
    argument_spec: "{{ query('quorum.etcd.etcd_argument_specs', 'etcd_tls:preflight', 'etcd_service:preflight') | first }}"
'''

RETURN = r'''
_raw:
  description: One element, the merged options (option name to its specification).
  type: list
  elements: dict
'''

import os

import yaml

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


def _semantics(spec):
    """An option's specification without its words (description, notes)."""
    if isinstance(spec, dict):
        return dict((k, _semantics(v)) for k, v in spec.items() if k not in ("description", "version_added"))
    if isinstance(spec, list):
        return [_semantics(v) for v in spec]
    return spec


def entry_options(role, entry, roles_dir=ROLES):
    path = os.path.join(roles_dir, role, "meta", "argument_specs.yml")
    try:
        with open(path) as fh:
            # libyaml's loader when PyYAML has it: the pure-Python one took
            # about 50 ms per file in each worker that asks.
            specs = (yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}).get("argument_specs") or {}
    except (IOError, OSError, yaml.YAMLError) as exc:
        raise AnsibleLookupError("etcd_argument_specs: cannot read %s: %s" % (path, exc))
    if entry not in specs:
        raise AnsibleLookupError("etcd_argument_specs: role %s has no entry point %r (it has %s)"
                                 % (role, entry, ", ".join(sorted(specs)) or "none"))
    return specs[entry].get("options") or {}


def merged_options(terms, roles_dir=ROLES):
    merged, origin = {}, {}
    for term in terms:
        role, sep, entry = str(term).partition(":")
        if not sep or not role or not entry or "/" in role or role.startswith("."):
            raise AnsibleLookupError("etcd_argument_specs: %r is not <role>:<entry point>" % (term,))
        for name, spec in entry_options(role, entry, roles_dir).items():
            if name in merged and _semantics(merged[name]) != _semantics(spec):
                raise AnsibleLookupError("etcd_argument_specs: option %s is declared differently by %s and %s"
                                         % (name, origin[name], term))
            merged.setdefault(name, spec)
            origin.setdefault(name, term)
    return merged


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [merged_options(terms)]
