# -*- coding: utf-8 -*-
"""etcd_install_plan: install, link and remove decisions of the etcd_install
role, from what etcd_node_info reads of a real directory tree."""
from __future__ import annotations

import os

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_install_plan import etcd_install_plan
from ansible_collections.quorum.etcd.plugins.modules.etcd_node_info import releases_info


def tree(tmp_path, versions, linked=None, staging=(), bin_dir=True):
    prefix, bins = tmp_path / "opt", tmp_path / "bin"
    prefix.mkdir()
    for version, binaries in versions.items():
        (prefix / version).mkdir()
        for name in binaries:
            (prefix / version / name).write_text("")
            os.chmod(prefix / version / name, 0o755)
    for name in staging:
        (prefix / name).mkdir()
    if bin_dir:
        bins.mkdir()
        for name in ("etcd", "etcdctl", "etcdutl") if linked else ():
            if name in versions.get(linked, ()):
                (bins / name).symlink_to(prefix / linked / name)
    return str(prefix), releases_info(str(prefix), str(bins))


ALL = ("etcd", "etcdctl", "etcdutl")


def test_an_installed_and_linked_version_changes_nothing(tmp_path):
    prefix, read = tree(tmp_path, {"v3.6.16": ALL}, linked="v3.6.16")
    plan = etcd_install_plan(read, "3.6.16", prefix)
    assert plan["present"] and not plan["changed"] and not plan["link_work"], plan
    assert plan["remove"] == [] and plan["staging"] == [] and plan["present_bins"] == list(ALL)


def test_a_blank_host_installs_creates_the_link_dir_and_links(tmp_path):
    prefix, read = tree(tmp_path, {}, bin_dir=False)
    plan = etcd_install_plan(read, "3.6.16", prefix)
    assert not plan["present"] and plan["changed"] and plan["bin_dir_missing"] and plan["link_work"]


def test_an_upgrade_keeps_the_running_version_and_removes_the_oldest(tmp_path):
    versions = {"v3.5.35": ALL, "v3.6.9": ALL, "v3.6.15": ALL, "v3.6.16": ALL, "v3.10.0": ALL}
    prefix, read = tree(tmp_path, versions, linked="v3.5.35")
    plan = etcd_install_plan(read, "3.6.16", prefix, keep=1)
    # Newest first by version (3.10 > 3.6): keep v3.10.0, keep v3.5.35 (linked
    # before this run, maybe still running); remove the rest.
    assert plan["remove"] == ["v3.6.15", "v3.6.9"], plan
    assert plan["changed"] and plan["link_work"]
    assert etcd_install_plan(read, "3.6.16", prefix, keep=0)["remove"] == ["v3.10.0", "v3.6.15", "v3.6.9"]


def test_the_run_after_an_upgrade_removes_nothing(tmp_path):
    prefix, read = tree(tmp_path, {"v3.5.35": ALL, "v3.6.16": ALL}, linked="v3.6.16")
    assert not etcd_install_plan(read, "3.6.16", prefix, keep=1)["link_work"]


def test_a_stale_link_of_a_binary_the_release_lacks_is_link_work(tmp_path):
    prefix, read = tree(tmp_path, {"v3.4.30": ("etcd", "etcdctl"), "v3.5.35": ALL}, linked="v3.5.35")
    read["links"]["etcd"] = prefix + "/v3.4.30/etcd"
    read["links"]["etcdctl"] = prefix + "/v3.4.30/etcdctl"
    plan = etcd_install_plan(read, "3.4.30", prefix)
    assert plan["present_bins"] == ["etcd", "etcdctl"] and not plan["changed"]
    assert plan["link_work"], "etcdutl still points at v3.5.35"


def test_leftovers_of_interrupted_installs_are_removed(tmp_path):
    prefix, read = tree(tmp_path, {"v3.6.16": ALL, "v3.7.3": ("etcd",)}, linked="v3.6.16",
                        staging=(".etcd-install-v3.7.3-x1",))
    plan = etcd_install_plan(read, "3.7.3", prefix)
    assert not plan["present"], "a version dir without etcdctl is not installed"
    assert plan["staging"] == [".etcd-install-v3.7.3-x1"] and plan["link_work"]


@pytest.mark.parametrize("releases, version, keep, message", [
    ({"stdout": ""}, "3.6.16", 1, "takes the releases result"),
    ({"versions": {}}, "3.6", 1, "version '3.6' is not MAJOR.MINOR.PATCH"),
    ({"versions": {}}, "3.6.16", -1, "keep must be 0 or more"),
])
def test_bad_input_is_refused_by_name(releases, version, keep, message):
    with pytest.raises(AnsibleFilterError, match=message):
        etcd_install_plan(releases, version, "/opt/etcd", keep=keep)
