# -*- coding: utf-8 -*-
"""etcd_install_problems: the etcd_install role's input check (SAFETY-16, SAFETY-20)."""
from __future__ import annotations

import pytest
from ansible_collections.quorum.etcd.plugins.filter.etcd_install_problems import install_problems

ARCH_MAP = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "ppc64le": "ppc64le",
            "s390x": "s390x"}
GOOD = dict(arch_map=ARCH_MAP, base_url="https://github.com/etcd-io/etcd/releases/download", prefix="/opt/etcd",
            bin_dir="/usr/local/bin", keep_versions=2, host_arch="x86_64")


def problems(version="3.6.16", **overrides):
    return install_problems(version, **dict(GOOD, **overrides))


def test_the_defaults_pass():
    assert problems() == []
    assert problems(checksum="ab" * 32, arch="arm64", host_arch=None, keep_versions="0",
                    base_url="http://mirror:8080/etcd/") == []


@pytest.mark.parametrize("version", ["v3.6.16", "3.6", "3.6.16-rc.0", 3.6, "latest"])
def test_a_version_that_is_not_x_y_z_is_named(version):
    assert problems(version) == [
        'etcd_install_version=%s is not a release version: expected X.Y.Z with digits only and no leading "v" '
        '(for example "3.6.16").' % ('"%s"' % version if isinstance(version, str) else version)]


def test_a_checksum_that_is_not_sha256_is_named():
    [problem] = problems(checksum="abc")
    assert problem.startswith('etcd_install_checksum="abc" is not a SHA-256 (64 hex characters)')


def test_an_unknown_arch_set_or_found_on_the_host_is_named_with_the_choices():
    assert problems(arch="i386") == ['etcd_install_arch="i386" is not supported: use one of amd64, arm64, ppc64le, s390x.']
    assert problems(host_arch="riscv64") == [
        'Host architecture "riscv64" has no etcd release: use one of amd64, arm64, ppc64le, s390x.']
    # The setting wins over the host's architecture.
    assert problems(arch="amd64", host_arch="riscv64") == []


@pytest.mark.parametrize("url", ["ftp://mirror/etcd", "mirror:8080", "https://", "https://host/with space"])
def test_a_base_url_that_is_not_http_is_named(url):
    [problem] = problems(base_url=url)
    assert problem.startswith("etcd_install_base_url=%s is not an http:// or https:// URL" % ('"%s"' % url))


@pytest.mark.parametrize("prefix,bin_dir", [("opt/etcd", "/usr/local/bin"), ("/", "/usr/local/bin"),
                                            ("/usr/local/bin/", "/usr/local/bin"), ("/opt/etcd", "//")])
def test_install_dirs_must_be_two_different_absolute_dirs(prefix, bin_dir):
    assert problems(prefix=prefix, bin_dir=bin_dir) == [
        'etcd_install_prefix="%s" and etcd_install_bin_dir="%s" must be two different absolute directories other '
        'than /.' % (prefix, bin_dir)]


@pytest.mark.parametrize("keep", [-1, "two", "1.5"])
def test_keep_versions_must_be_a_whole_number(keep):
    [problem] = problems(keep_versions=keep)
    assert problem.endswith("must be a whole number, 0 or more.") and str(keep) in problem


def test_air_gapped_files_must_be_on_the_controller(tmp_path):
    archive = tmp_path / "etcd-v3.6.16-linux-amd64.tar.gz"
    sums = tmp_path / "SHA256SUMS"
    gapped = dict(local_archive="files/etcd.tgz", local_archive_path=str(archive), local_sums_path=str(sums))
    assert problems(**gapped) == [
        'etcd_install_local_archive="files/etcd.tgz": no such file on the controller (%s).' % archive,
        'etcd_install_local_archive="files/etcd.tgz" has nothing to be verified against: no SHA256SUMS next to it '
        '(%s); set etcd_install_checksum or etcd_install_local_sha256sums.' % sums]
    archive.write_bytes(b"tar")
    assert problems(**dict(gapped, local_sha256sums="sums.txt")) == [
        'etcd_install_local_sha256sums="sums.txt": no such file on the controller (%s).' % sums]
    assert problems(**dict(gapped, checksum="0" * 64)) == []
    sums.write_text("x  etcd-v3.6.16-linux-amd64.tar.gz\n")
    assert problems(**gapped) == []


def test_every_bad_setting_is_named_at_once():
    assert len(problems("3.6", checksum="x", arch="i386", base_url="x", prefix="/", keep_versions=-1)) == 6
