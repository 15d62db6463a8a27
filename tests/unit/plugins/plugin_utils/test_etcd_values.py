# -*- coding: utf-8 -*-
"""The filters' shared helpers."""
from __future__ import annotations

from ansible_collections.quorum.etcd.plugins.plugin_utils.etcd_values import hostvar, shown


class Undefined:  # what some templars hand back for a variable that is not set
    pass


def test_hostvar_falls_back_for_a_missing_host_variable_none_or_undefined():
    hostvars = {"n1": {"port": 2379, "none": None, "undef": Undefined()}}
    assert hostvar(hostvars, "n1", "port", 1) == 2379
    for key in ("none", "undef", "absent"):
        assert hostvar(hostvars, "n1", key, 1) == 1
    assert hostvar(hostvars, "n9", "port") is None
    assert hostvar(None, "n1", "port", 7) == 7


def test_shown_is_jinja_to_json_and_text_for_the_rest():
    assert shown("3.6") == '"3.6"' and shown(3.6) == "3.6" and shown(-1) == "-1"
    assert shown(["a", 1]) == '["a", 1]' and shown(None) == "null"
    assert shown(Undefined) == '"%s"' % Undefined
    assert shown({"k": Undefined()}).startswith('"{')
