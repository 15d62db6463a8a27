# -*- coding: utf-8 -*-
"""etcd_defrag's decision (pure, no network)."""

from __future__ import annotations

from ansible_collections.quorum.etcd.plugins.modules import etcd_defrag


def status(size, in_use):
    return {"db_size": size, "db_size_in_use": in_use}


def test_free_percent():
    assert etcd_defrag.free_percent(status(1000, 250)) == 75.0
    assert etcd_defrag.free_percent(status(1000, 1000)) == 0.0
    assert etcd_defrag.free_percent(status(1000, None)) is None  # etcd 3.4
    assert etcd_defrag.free_percent(status(0, 0)) is None


def test_wants_defrag_threshold_and_force():
    assert etcd_defrag.wants_defrag(10.0, 10, False) is True
    assert etcd_defrag.wants_defrag(9.9, 10, False) is False
    assert etcd_defrag.wants_defrag(None, 0, False) is False  # unknown is never guessed
    assert etcd_defrag.wants_defrag(None, 10, True) is True
    assert etcd_defrag.wants_defrag(0.0, 100, True) is True
