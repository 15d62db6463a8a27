# -*- coding: utf-8 -*-
"""etcd_release: verify before extract, one rename, nothing left behind
(SAFETY-16). Archives are built here; the download itself is exercised by
every lab converge (a real HTTP fetch from the lab's mirror)."""
from __future__ import annotations

import hashlib
import io
import os
import tarfile

import pytest

from ansible_collections.quorum.etcd.plugins.modules import etcd_release as er

TOP = "etcd-v3.6.16-linux-amd64"


def archive(tmp_path, members=None, name="a.tar.gz"):
    """A gzip tar with ``members``: {name: (bytes, mode)}, or a directory
    when the value is None."""
    if members is None:
        members = {TOP: None, TOP + "/etcd": (b"#!/bin/sh\n", 0o775), TOP + "/etcdctl": (b"#!/bin/sh\n", 0o700),
                   TOP + "/etcdutl": (b"#!/bin/sh\n", 0o755), TOP + "/README.md": (b"readme\n", 0o664)}
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as tar:
        for member, value in members.items():
            info = tarfile.TarInfo(member)
            if value is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(value, str):
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
            else:
                info.size, info.mode = len(value[0]), value[1]
                tar.addfile(info, io.BytesIO(value[0]))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def params(prefix, src, checksum, **extra):
    base = {"prefix": str(prefix), "version": "3.6.16", "top": TOP, "url": None, "src": str(src),
            "checksum": checksum, "checksum_from": "SHA256SUMS", "validate_certs": True, "timeout": 10}
    base.update(extra)
    return base


def run(p, check_mode=False):
    return er.install(p, lambda: open(p["src"], "rb"), check_mode)


def test_installs_verified_release_in_one_rename_and_then_changes_nothing(tmp_path):
    src, digest = archive(tmp_path)
    prefix = tmp_path / "opt"
    changed, result = run(params(prefix, src, digest.upper()))
    final = prefix / "v3.6.16"
    assert changed and result == {"path": str(final), "binaries": ["etcd", "etcdctl", "etcdutl"], "sha256": digest,
                                  "checksum_from": "SHA256SUMS"}
    assert sorted(os.listdir(prefix)) == ["v3.6.16"]  # the staging dir is gone
    assert oct(os.stat(final / "etcd").st_mode & 0o7777) == "0o755"
    assert oct(os.stat(final / "etcdctl").st_mode & 0o7777) == "0o755"
    assert oct(os.stat(final / "README.md").st_mode & 0o7777) == "0o644"
    # Installed: no fetch at all (the opener would fail).
    again = er.install(params(prefix, src, digest), lambda: pytest.fail("fetched again"))
    assert again == (False, {"path": str(final), "binaries": ["etcd", "etcdctl", "etcdutl"], "sha256": "",
                             "checksum_from": "SHA256SUMS"})


def test_a_checksum_mismatch_extracts_nothing_and_names_both_sums(tmp_path):
    src, digest = archive(tmp_path)
    prefix = tmp_path / "opt"
    with pytest.raises(er.ReleaseError) as err:
        run(params(prefix, src, "0" * 64))
    msg = str(err.value)
    assert "0" * 64 in msg and digest in msg and "SHA256SUMS" in msg and "3.6.16" in msg
    assert os.listdir(prefix) == []


def test_an_archive_without_etcdctl_installs_nothing(tmp_path):
    src, digest = archive(tmp_path, {TOP: None, TOP + "/etcd": (b"x", 0o755)})
    with pytest.raises(er.ReleaseError, match="has no %s/etcd and %s/etcdctl" % (TOP, TOP)):
        run(params(tmp_path / "opt", src, digest))
    assert os.listdir(tmp_path / "opt") == []


@pytest.mark.parametrize("members,words", [
    ({TOP: None, "../evil": (b"x", 0o755)}, "outside"),
    ({TOP: None, "other/etcd": (b"x", 0o755)}, "outside"),
    ({TOP: None, TOP + "/../../evil": (b"x", 0o755)}, "outside"),
    ({TOP: None, TOP + "/etcd": "/bin/sh"}, "neither a file nor a directory"),
])
def test_members_outside_the_release_dir_or_links_are_refused(tmp_path, members, words):
    src, digest = archive(tmp_path, members)
    with pytest.raises(er.ReleaseError, match=words):
        run(params(tmp_path / "opt", src, digest))
    assert os.listdir(tmp_path / "opt") == []
    assert not (tmp_path / "evil").exists()


def test_a_foreign_version_dir_is_refused_and_kept(tmp_path):
    src, digest = archive(tmp_path)
    foreign = tmp_path / "opt" / "v3.6.16"
    foreign.mkdir(parents=True)
    (foreign / "notes").write_text("mine")
    with pytest.raises(er.ReleaseError, match="exists but has no etcd and etcdctl"):
        run(params(tmp_path / "opt", src, digest))
    assert (foreign / "notes").read_text() == "mine"


def test_check_mode_fetches_and_writes_nothing(tmp_path):
    src, digest = archive(tmp_path)
    p = params(tmp_path / "opt", src, digest)
    assert er.install(p, lambda: pytest.fail("fetched in check mode"), check_mode=True)[0] is True
    assert not (tmp_path / "opt").exists()


@pytest.mark.parametrize("field,value", [("checksum", "abc"), ("top", "../x"), ("top", "a/b")])
def test_bad_arguments_are_refused_before_anything(tmp_path, field, value):
    src, digest = archive(tmp_path)
    p = params(tmp_path / "opt", src, digest)
    p[field] = value
    with pytest.raises(er.ReleaseError, match=repr(value).replace("[", r"\[").replace(".", r"\.")):
        run(p)
    assert not (tmp_path / "opt").exists()


# The release's checksum list, read by the node itself (checksum_url).
SUMS_URL = "http://mirror/v3.6.16/SHA256SUMS"


def url_params(prefix, **extra):
    """An install from a URL checked against SUMS_URL (the tests' openers
    stand for the download)."""
    base = params(prefix, "unused", None, url="http://mirror/v3.6.16/%s.tar.gz?x=1" % TOP, checksum_url=SUMS_URL)
    base["src"] = None
    base.update(extra)
    return base


def test_the_checksum_list_is_read_only_when_installing_and_gives_the_archives_line(tmp_path):
    src, digest = archive(tmp_path)
    prefix = tmp_path / "opt"
    reads = []

    def sums():
        reads.append(1)
        return "%s  etcd-v3.6.16-linux-arm64.tar.gz\n%s *%s.tar.gz\n" % ("1" * 64, digest.upper(), TOP)

    changed, result = er.install(url_params(prefix), lambda: open(src, "rb"), read_sums=sums)
    assert changed and result["sha256"] == digest and result["checksum_from"] == SUMS_URL and reads == [1]
    # Installed: neither the list nor the archive is read again.
    again = er.install(url_params(prefix), lambda: pytest.fail("fetched"), read_sums=lambda: pytest.fail("read"))
    assert again[0] is False
    # Check mode reads nothing either.
    assert er.install(url_params(tmp_path / "other"), lambda: pytest.fail("fetched"), check_mode=True,
                      read_sums=lambda: pytest.fail("read"))[0] is True


def test_a_checksum_list_without_the_archive_stops_before_any_fetch(tmp_path):
    prefix = tmp_path / "opt"
    with pytest.raises(er.ReleaseError) as err:
        er.install(url_params(prefix), lambda: pytest.fail("fetched"),
                   read_sums=lambda: "%s  %s.tar.gz.asc\nnot a line\n" % ("2" * 64, TOP))
    assert str(err.value) == ("etcd 3.6.16: %s has no SHA-256 line for %s.tar.gz, so the archive cannot be verified; "
                              "nothing was downloaded or changed (SAFETY-16)." % (SUMS_URL, TOP))
    assert not prefix.exists()


def test_an_archive_that_differs_from_the_list_is_refused_naming_the_list(tmp_path):
    src, digest = archive(tmp_path)
    prefix = tmp_path / "opt"
    with pytest.raises(er.ReleaseError) as err:
        er.install(url_params(prefix), lambda: open(src, "rb"), read_sums=lambda: "%s  %s.tar.gz\n" % ("3" * 64, TOP))
    assert SUMS_URL in str(err.value) and digest in str(err.value) and "3" * 64 in str(err.value)
    assert os.listdir(prefix) == []


def test_checksum_and_checksum_url_together_are_refused(tmp_path):
    with pytest.raises(er.ReleaseError, match="not both"):
        er.install(url_params(tmp_path, checksum="4" * 64), lambda: pytest.fail("fetched"))


def test_link_points_the_links_in_the_same_call_once_installed_and_then_changes_nothing(tmp_path):
    # SAFETY-16: the links are made after the release is in place, and an
    # older version named in remove goes in the same call.
    src, digest = archive(tmp_path)
    prefix, bin_dir = tmp_path / "opt", tmp_path / "bin"
    (prefix / "v3.5.21").mkdir(parents=True)
    link = {"bin_dir": str(bin_dir), "binaries": ["etcd", "etcdctl", "etcdutl"], "unlink": [], "remove": ["v3.5.21"]}
    p = params(prefix, src, digest, link=link)
    changed, result = er.install_and_link(p, lambda: open(src, "rb"))
    assert changed and result["links"]["removed"] == [str(prefix / "v3.5.21")]
    assert os.readlink(bin_dir / "etcdctl") == str(prefix / "v3.6.16" / "etcdctl")
    assert sorted(os.listdir(prefix)) == ["v3.6.16"]
    link["remove"] = []
    again = er.install_and_link(params(prefix, src, digest, link=link), lambda: pytest.fail("fetched again"))
    assert again[0] is False and again[1]["links"] == {"linked": [], "unlinked": [], "removed": []}


def test_link_with_a_bad_name_is_refused_before_anything_is_fetched(tmp_path):
    src, digest = archive(tmp_path)
    prefix = tmp_path / "opt"
    link = {"bin_dir": str(tmp_path / "bin"), "binaries": ["etcd"], "unlink": [], "remove": ["../etc"]}
    with pytest.raises(er.LinkError, match="refusing to remove '../etc'"):
        er.install_and_link(params(prefix, src, digest, link=link), lambda: pytest.fail("fetched"))
    assert not prefix.exists()


def test_a_failed_install_links_nothing(tmp_path):
    src, _digest = archive(tmp_path)
    prefix, bin_dir = tmp_path / "opt", tmp_path / "bin"
    link = {"bin_dir": str(bin_dir), "binaries": ["etcd", "etcdctl"], "unlink": [], "remove": []}
    with pytest.raises(er.ReleaseError):
        er.install_and_link(params(prefix, src, "0" * 64, link=link), lambda: open(src, "rb"))
    assert not bin_dir.exists()


def test_link_unlinks_a_binary_the_release_does_not_have(tmp_path):
    # etcd before 3.5 has no etcdutl: its link (to an older release) goes,
    # the other two point at the new release.
    src, digest = archive(tmp_path, {TOP: None, TOP + "/etcd": (b"x", 0o755), TOP + "/etcdctl": (b"x", 0o755)})
    prefix, bin_dir = tmp_path / "opt", tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink("/opt/etcd/v3.5.21/etcdutl", bin_dir / "etcdutl")
    link = {"bin_dir": str(bin_dir), "binaries": ["etcd", "etcdctl", "etcdutl"], "unlink": [], "remove": []}
    changed, result = er.install_and_link(params(prefix, src, digest, link=link), lambda: open(src, "rb"))
    assert changed and result["links"]["unlinked"] == [str(bin_dir / "etcdutl")]
    assert sorted(os.listdir(bin_dir)) == ["etcd", "etcdctl"]
    assert os.readlink(bin_dir / "etcd") == str(prefix / "v3.6.16" / "etcd")
