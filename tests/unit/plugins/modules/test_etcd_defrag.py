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


def test_wants_defrag_needs_the_share_and_the_absolute_waste():
    mib = 1024 * 1024
    # 50 % free of a 2 MiB file: 1 MiB of waste, below a 16 MiB floor.
    assert etcd_defrag.wants_defrag(50.0, 10, False, free_bytes=1 * mib, min_free_mb=16) is False
    assert etcd_defrag.wants_defrag(50.0, 10, False, free_bytes=16 * mib, min_free_mb=16) is True
    # Enough bytes, too small a share.
    assert etcd_defrag.wants_defrag(5.0, 10, False, free_bytes=900 * mib, min_free_mb=16) is False
    assert etcd_defrag.wants_defrag(50.0, 10, False, free_bytes=0, min_free_mb=0) is True
    assert etcd_defrag.wants_defrag(50.0, 10, True, free_bytes=0, min_free_mb=16) is True
