# -*- coding: utf-8 -*-
"""SAFETY-25: retention deletes only this cluster's own snapshots, never the one just verified."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_backup_prune import etcd_backup_prune

DIR = "/backups"


def paths(*names):
    return [f"{DIR}/{n}" for n in names]


def test_the_newest_are_kept_and_the_older_ones_returned_oldest_first():
    found = paths("etcd-20261201T000000Z.db", "etcd-20261203T000000Z.db", "etcd-20261202T000000Z.db",
                  "etcd-20261204T000000Z.db")
    assert etcd_backup_prune(found, "etcd", 2, "etcd-20261204T000000Z.db") == paths(
        "etcd-20261201T000000Z.db", "etcd-20261202T000000Z.db")


def test_a_cluster_whose_name_starts_with_this_one_is_never_touched():
    # Issue 15, item 4: the glob etcd-*.db also finds etcd-events-*.db, whose
    # names sort after every etcd-2026... name: the new snapshot went first.
    found = paths("etcd-events-20261201T000000Z.db", "etcd-events-20261202T000000Z.db",
                  "etcd-20261130T000000Z.db", "etcd-20261204T000000Z.db")
    assert etcd_backup_prune(found, "etcd", 1, "etcd-20261204T000000Z.db") == paths("etcd-20261130T000000Z.db")
    assert etcd_backup_prune(found, "etcd", 2, "etcd-20261204T000000Z.db") == []
    assert etcd_backup_prune(found, "etcd-events", 1, "etcd-events-20261202T000000Z.db") == paths(
        "etcd-events-20261201T000000Z.db")


def test_files_of_another_shape_are_never_touched():
    found = paths("etcd-20261201T000000Z.db", "etcd-manual.db", "etcd-20261202T000000Z.db.part",
                  "etcd-2026-12-01.db", "etcd-20261203T000000Z.db")
    assert etcd_backup_prune(found, "etcd", 1, "etcd-20261203T000000Z.db") == paths("etcd-20261201T000000Z.db")


def test_the_snapshot_just_verified_stays_even_when_its_time_is_the_oldest():
    # The controller's clock was set back: the new file's name sorts first.
    found = paths("etcd-20261201T000000Z.db", "etcd-20261202T000000Z.db", "etcd-20250101T000000Z.db")
    assert etcd_backup_prune(found, "etcd", 1, f"{DIR}/etcd-20250101T000000Z.db") == paths(
        "etcd-20261201T000000Z.db", "etcd-20261202T000000Z.db")
    assert etcd_backup_prune(found, "etcd", 2, "etcd-20250101T000000Z.db") == paths("etcd-20261201T000000Z.db")


def test_names_with_regex_characters_match_only_themselves():
    found = paths("a.b-20261201T000000Z.db", "axb-20261201T000000Z.db", "a.b-20261202T000000Z.db")
    assert etcd_backup_prune(found, "a.b", 1, "a.b-20261202T000000Z.db") == paths("a.b-20261201T000000Z.db")


def test_keep_may_come_as_a_string_from_extra_vars():
    found = paths("etcd-20261201T000000Z.db", "etcd-20261202T000000Z.db")
    assert etcd_backup_prune(found, "etcd", "1", "etcd-20261202T000000Z.db") == paths("etcd-20261201T000000Z.db")


@pytest.mark.parametrize("keep", [0, -1, "0", "seven", None, True, 1.5])
def test_a_keep_below_one_or_not_a_number_is_an_error(keep):
    with pytest.raises(AnsibleFilterError, match="keep="):
        etcd_backup_prune([], "etcd", keep, "etcd-20261202T000000Z.db")


def test_a_current_name_of_another_cluster_is_an_error():
    with pytest.raises(AnsibleFilterError, match="current="):
        etcd_backup_prune([], "etcd", 2, "etcd-events-20261202T000000Z.db")


@pytest.mark.parametrize("cluster", ["", "  ", None])
def test_a_missing_cluster_name_is_an_error(cluster):
    with pytest.raises(AnsibleFilterError, match="cluster"):
        etcd_backup_prune([], cluster, 2, "etcd-20261202T000000Z.db")
