# -*- coding: utf-8 -*-
"""etcd_downgrade's decision (pure, no network)."""

from __future__ import annotations

import pytest
from ansible_collections.quorum.etcd.plugins.modules import etcd_downgrade

NONE = {"enabled": False, "target_version": ""}
TO_3_6 = {"enabled": True, "target_version": "3.6.0"}


@pytest.mark.parametrize("text, minor", [("3.6", (3, 6)), ("3.6.16", (3, 6)), (" 3.6.0 ", (3, 6)),
                                         ("", None), ("not_decided", None), ("3", None), ("v3.6", None)])
def test_minor(text, minor):
    assert etcd_downgrade.minor(text) == minor


def test_enable_starts_once():
    assert etcd_downgrade.decide("enabled", (3, 6), "3.7.0", NONE) == ("ENABLE", None)
    assert etcd_downgrade.decide("enabled", (3, 6), "3.6.0", TO_3_6) == (None, None)  # under way
    assert etcd_downgrade.decide("enabled", (3, 6), "3.6.0", NONE) == (None, None)  # done


def test_another_downgrade_under_way_is_refused():
    action, refusal = etcd_downgrade.decide("enabled", (3, 5), "3.6.0", TO_3_6)
    assert action is None and "a downgrade to 3.6.0 is already under way" in refusal


def test_cancel_only_what_is_under_way():
    assert etcd_downgrade.decide("cancelled", (3, 6), "3.6.0", TO_3_6) == ("CANCEL", None)
    assert etcd_downgrade.decide("cancelled", (3, 6), "3.7.0", NONE) == (None, None)
