# -*- coding: utf-8 -*-
"""etcd_links: the links of one release and the removal of older ones, in
one call, refusing bad names before any change. Real files in tmp_path; the
lab's converges and upgrades run it on the containers."""
from __future__ import annotations

import os

import pytest

from ansible_collections.quorum.etcd.plugins.modules import etcd_links as el


def release(prefix, version, binaries=("etcd", "etcdctl", "etcdutl")):
    path = prefix / ("v" + version)
    path.mkdir(parents=True)
    for name in binaries:
        (path / name).write_text("#!/bin/sh\n")
        (path / name).chmod(0o755)
    return path


def params(release_dir, bin_dir, **extra):
    base = {"release_dir": str(release_dir), "bin_dir": str(bin_dir), "binaries": ["etcd", "etcdctl", "etcdutl"],
            "unlink": [], "prefix": None, "remove": []}
    base.update(extra)
    return base


def test_links_are_made_then_a_second_call_changes_nothing(tmp_path):
    new = release(tmp_path / "opt", "3.6.16")
    bin_dir = tmp_path / "bin"  # missing: made
    result = el.apply(params(new, bin_dir))
    assert result == {"linked": [str(bin_dir / b) for b in ("etcd", "etcdctl", "etcdutl")], "unlinked": [],
                      "removed": []}
    for name in ("etcd", "etcdctl", "etcdutl"):
        assert os.readlink(bin_dir / name) == str(new / name)
    assert oct(os.stat(bin_dir).st_mode & 0o777) == "0o755"
    assert el.apply(params(new, bin_dir)) == {"linked": [], "unlinked": [], "removed": []}


def test_an_upgrade_moves_the_links_removes_an_old_release_and_a_leftover(tmp_path):
    prefix, bin_dir = tmp_path / "opt", tmp_path / "bin"
    old, new = release(prefix, "3.5.35", ("etcd", "etcdctl")), release(prefix, "3.6.16")
    oldest = release(prefix, "3.5.16")
    (prefix / ".etcd-install-v3.6.16-abc").mkdir()
    bin_dir.mkdir()
    os.symlink(old / "etcd", bin_dir / "etcd")
    (bin_dir / "etcdctl").write_text("a binary someone copied here\n")  # replaced, as file force=true does
    result = el.apply(params(new, bin_dir, remove=["v3.5.16", ".etcd-install-v3.6.16-abc"]))
    assert result["linked"] == [str(bin_dir / b) for b in ("etcd", "etcdctl", "etcdutl")]
    assert result["removed"] == [str(oldest), str(prefix / ".etcd-install-v3.6.16-abc")]
    assert sorted(os.listdir(prefix)) == ["v3.5.35", "v3.6.16"]
    assert os.readlink(bin_dir / "etcdctl") == str(new / "etcdctl")
    assert not any(n.startswith("etcd") and ".etcd-link-" in n for n in os.listdir(bin_dir))


def test_a_release_without_etcdutl_drops_only_its_link_never_a_file(tmp_path):
    prefix, bin_dir = tmp_path / "opt", tmp_path / "bin"
    new, old = release(prefix, "3.5.35", ("etcd", "etcdctl")), release(prefix, "3.6.16")
    bin_dir.mkdir()
    os.symlink(old / "etcdutl", bin_dir / "etcdutl")
    result = el.apply(params(new, bin_dir, binaries=["etcd", "etcdctl"], unlink=["etcdutl"]))
    assert result["unlinked"] == [str(bin_dir / "etcdutl")] and not os.path.lexists(bin_dir / "etcdutl")
    (bin_dir / "etcdutl").write_text("someone's own tool\n")
    result = el.apply(params(new, bin_dir, binaries=["etcd", "etcdctl"], unlink=["etcdutl"]))
    assert result["unlinked"] == [] and (bin_dir / "etcdutl").read_text() == "someone's own tool\n"


def test_check_mode_reports_and_changes_nothing(tmp_path):
    prefix, bin_dir = tmp_path / "opt", tmp_path / "bin"
    new, old = release(prefix, "3.6.16"), release(prefix, "3.5.35")
    result = el.apply(params(new, bin_dir, remove=["v3.5.35"]), check_mode=True)
    assert result["removed"] == [str(old)] and len(result["linked"]) == 3
    assert not bin_dir.exists() and old.exists()
    # A release whose install check mode only reported is not there yet.
    result = el.apply(params(prefix / "v3.7.3", bin_dir), check_mode=True)
    assert len(result["linked"]) == 3 and not bin_dir.exists()


@pytest.mark.parametrize("remove,words", [
    (["../etc"], "only v<version> and .etcd-install-*"),
    (["etc"], "only v<version> and .etcd-install-*"),
    (["v3.6.16"], "it is the release being linked"),
    (["v3.5.35/etcd"], "only v<version> and .etcd-install-*"),
])
def test_bad_removals_are_refused_before_any_change(tmp_path, remove, words):
    prefix, bin_dir = tmp_path / "opt", tmp_path / "bin"
    new, old = release(prefix, "3.6.16"), release(prefix, "3.5.35")
    with pytest.raises(el.LinkError, match=words.replace(".", r"\.").replace("*", r"\*")):
        el.apply(params(new, bin_dir, remove=remove))
    assert not bin_dir.exists() and old.exists()


def test_a_release_without_a_binary_to_link_is_refused(tmp_path):
    new = release(tmp_path / "opt", "3.6.16", ("etcd",))
    with pytest.raises(el.LinkError, match="has no etcdctl, etcdutl: nothing was linked"):
        el.apply(params(new, tmp_path / "bin"))
    assert not (tmp_path / "bin").exists()


def test_a_directory_where_a_link_goes_is_refused(tmp_path):
    new = release(tmp_path / "opt", "3.6.16")
    (tmp_path / "bin" / "etcd").mkdir(parents=True)
    with pytest.raises(el.LinkError, match="is a directory, not a link"):
        el.apply(params(new, tmp_path / "bin"))
    assert not os.path.lexists(tmp_path / "bin" / "etcdctl")
