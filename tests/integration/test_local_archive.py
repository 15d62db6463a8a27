# -*- coding: utf-8 -*-
"""An install from an archive on the controller (etcd_install_local_archive,
SAFETY-16), for real.

One blank member is deployed with site.yml from the lab mirror's archive
file on the controller, its SHA-256 taken from the SHA256SUMS next to it;
the download URL points at a closed port, so the release can only have come
through the controller. First, with a wrong pinned checksum, the archive is
refused: no version directory, no link, no upload directory left behind.
Then, with the SHA256SUMS, it is installed, the member serves, and a re-run
changes nothing."""

from __future__ import annotations

import os

import pytest

from labkit import base  # tools/labkit, standard library only

pytestmark = pytest.mark.lab

CLOSED = "http://127.0.0.1:9"  # nothing listens there: a download would fail


def archive(version):
    path = os.path.join(base.LAB, "mirror", f"v{version}", f"etcd-v{version}-linux-amd64.tar.gz")
    assert os.path.isfile(path), f"the lab mirror has no {path} (python3 tools/lab.py setup makes it)"
    return path


@pytest.fixture(scope="module")
def member(lab_containers, write_inventory, lab_vars, tmp_path_factory):
    host = lab_containers("larch", 1)[0]
    inv = write_inventory(tmp_path_factory.mktemp("larch") / "inventory.json", {"etcd": [host]},
                          all_vars=lab_vars(etcd_cluster_name="larch", etcd_install_base_url=CLOSED,
                                            etcd_install_local_archive=archive(base.DEFAULT_VERSION)))
    return host, inv


def test_a_wrong_checksum_for_the_controllers_archive_installs_nothing(member, ansible_playbook, host_sh):
    host, inv = member
    run = ansible_playbook(inv, "-e", "etcd_install_checksum=" + "0" * 64)
    assert run.rc != 0, run
    message = " ".join(f.msg for f in run.failures)
    assert "SHA-256 mismatch" in message and "0" * 64 in message, run  # SAFETY-16: what was expected, and from where
    assert host_sh(host, f"test -e /opt/etcd/v{base.DEFAULT_VERSION}").returncode != 0
    assert host_sh(host, "test -e /usr/local/bin/etcd").returncode != 0
    assert host_sh(host, "ls -A /opt/etcd | grep -c '^[.]etcd-install-upload-'").stdout.strip() == "0"


def test_a_release_from_the_controller_is_installed_checked_and_kept(member, ansible_playbook, host_sh):
    host, inv = member
    run = ansible_playbook(inv)
    assert run.rc == 0, run
    assert run.statuses("quorum.etcd.etcd_install : Install etcd from the copied archive") == {host: ["changed"]}, run
    version = host_sh(host, "/usr/local/bin/etcd --version").stdout
    assert f"etcd Version: {base.DEFAULT_VERSION}" in version, version
    assert host_sh(host, "systemctl is-active etcd").stdout.strip() == "active"
    assert host_sh(host, "ls -A /opt/etcd | grep -c '^[.]etcd-install-upload-'").stdout.strip() == "0"
    again = ansible_playbook(inv)
    assert again.rc == 0 and all(r["changed"] == 0 for r in again.recap.values()), again  # SAFETY-4
