# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""The desired state of etcd authentication, checked and normalised: shared
by the auth modules (on the node) and the etcd_auth_problems filter (on the
controller, before any host changes). Pure; standard library only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.quorum.etcd.plugins.module_utils.etcd_client import (
    PERM_TYPES,
    Refusal,
    display_key,
    prefix_range_end,
)

ROOT = "root"


class PlanError(Refusal):
    """Input or state that the module refuses before changing anything."""


def _bytes_of(text):
    return text.encode("utf-8", "surrogateescape")


def ident(perm):
    return (perm["key"], perm["range_end"])


def sort_key(perm):
    return (_bytes_of(perm["key"]), _bytes_of(perm["range_end"]))


def perm_text(perm):
    """A permission's keys in words, for messages."""
    key, end = perm["key"], perm["range_end"]
    if not end:
        return "key '%s'" % display_key(key)
    if end == prefix_range_end(key):
        return "prefix '%s'" % display_key(key)
    if end == "\x00":
        return "every key from '%s' on" % display_key(key)
    return "keys from '%s' to '%s' (excluded)" % (display_key(key), display_key(end))


def desired_permissions(entries):
    """Check the permissions option and normalise it to {key, range_end,
    type} dicts. Pure; raises PlanError naming the bad entry."""
    out = []
    seen = {}
    for i, entry in enumerate(entries or []):
        where = "permissions[%d]" % i
        if not isinstance(entry, dict):
            raise PlanError("%s is not a dict with a key: %r" % (where, entry))
        key = entry.get("key")
        if key is None or key == "":
            raise PlanError("%s: key must not be empty" % where)
        where = "%s (key '%s')" % (where, display_key(key))
        ptype = entry.get("type") or "read"
        if ptype not in PERM_TYPES:
            raise PlanError("%s: type %s is not one of %s" % (where, json.dumps(ptype), ", ".join(PERM_TYPES)))
        range_end = entry.get("range_end")
        if entry.get("prefix"):
            if range_end is not None:
                raise PlanError("%s: prefix and range_end are mutually exclusive" % where)
            range_end = prefix_range_end(key)
        elif range_end is None:
            range_end = ""
        elif range_end not in ("", "\x00") and _bytes_of(range_end) <= _bytes_of(key):
            raise PlanError("%s: range_end '%s' must sort after the key (or be \"\\x00\" for every key from the "
                            "key on)" % (where, display_key(range_end)))
        perm = dict(key=key, range_end=range_end, type=ptype)
        if ident(perm) in seen:
            raise PlanError("%s: the same keys as permissions[%d] (%s); list each permission once"
                            % (where, seen[ident(perm)], perm_text(perm)))
        seen[ident(perm)] = i
        out.append(perm)
    return out
