# -*- coding: utf-8 -*-
"""Which revision etcd_compaction compacts to (pure)."""
from __future__ import annotations

from ansible_collections.quorum.etcd.plugins.modules.etcd_compaction import target_revision


def test_current_revision_by_default():
    assert target_revision(500) == 500


def test_keep_leaves_the_newest_revisions_readable():
    assert target_revision(500, keep=100) == 400
    assert target_revision(500, keep=499) == 1


def test_keep_larger_than_the_history_compacts_nothing():
    assert target_revision(500, keep=500) == 0
    assert target_revision(500, keep=10000) == 0


def test_an_explicit_revision_wins():
    assert target_revision(500, revision=42) == 42
