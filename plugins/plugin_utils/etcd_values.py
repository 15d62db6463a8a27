# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Helpers the collection's filters share on the controller: reading one
host's variable from ``hostvars``, and showing a setting's value in a
message the way Jinja's ``to_json`` would."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


def hostvar(hostvars, host, key, default=None):
    """``hostvars[host][key]``, or ``default`` when the host or the variable
    is missing, None or undefined (some templars return Undefined objects)."""
    try:
        value = hostvars[host][key]
    except (KeyError, TypeError):
        return default
    if value is None or type(value).__name__.endswith("Undefined"):
        return default
    return value


def shown(value):
    """A setting's value as JSON for a message ("3.6", 2, ["a"]); anything
    JSON cannot hold is shown as its text."""
    if isinstance(value, (str, int, float, bool, type(None), list, dict)):
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            pass
    return json.dumps(str(value))
