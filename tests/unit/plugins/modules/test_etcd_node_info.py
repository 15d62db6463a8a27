# -*- coding: utf-8 -*-
from __future__ import annotations

import grp
import hashlib
import os
import pwd
import subprocess

import pytest

from ansible_collections.quorum.etcd.plugins.modules import etcd_node_info as ni


def test_regular_file_mode_owner_checksum_and_content(tmp_path):
    path = tmp_path / "etcd.conf.yml"
    path.write_text("name: etcd1\n")
    os.chmod(path, 0o640)
    info, truncated = ni.path_info(str(path), want_content=True)
    assert not truncated
    assert info["exists"] and info["type"] == "file" and info["mode"] == "0640"
    assert info["owner"] == pwd.getpwuid(os.getuid())[0]
    assert info["group"] == grp.getgrgid(os.getgid())[0]
    assert info["checksum"] == hashlib.sha1(b"name: etcd1\n").hexdigest()
    assert info["content"] == "name: etcd1\n"


def test_content_only_when_asked_and_never_over_the_limit(tmp_path, monkeypatch):
    path = tmp_path / "big"
    path.write_bytes(b"x" * 32)
    info, truncated = ni.path_info(str(path), want_content=False)
    assert "content" not in info and not truncated
    monkeypatch.setattr(ni, "MAX_CONTENT", 16)
    info, truncated = ni.path_info(str(path), want_content=True)
    assert "content" not in info and truncated


def test_directory_link_and_missing(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    os.chmod(data, 0o700)
    link = tmp_path / "etcd"
    link.symlink_to(data)
    assert ni.path_info(str(data), False)[0]["mode"] == "0700"
    assert ni.path_info(str(data), False)[0]["type"] == "directory"
    assert ni.path_info(str(link), False)[0] == {
        "exists": True, "type": "link", "mode": "0777", "owner": pwd.getpwuid(os.getuid())[0],
        "group": grp.getgrgid(os.getgid())[0], "target": str(data), "resolved": os.path.realpath(data)}
    assert ni.path_info(str(tmp_path / "nope"), True) == ({"exists": False}, False)


def test_users_and_groups():
    me = pwd.getpwuid(os.getuid())
    assert ni.user_info(me.pw_name)["home"] == me.pw_dir
    assert ni.user_info("no-such-user-quorum") == {"exists": False}
    assert ni.group_info(grp.getgrgid(os.getgid())[0])["gid"] == os.getgid()
    assert ni.group_info("no-such-group-quorum") == {"exists": False}


class FakeModule:
    """run_command answers from a table of systemctl replies."""

    def __init__(self, replies):
        self.replies, self.calls = replies, []

    def run_command(self, argv):
        self.calls.append(argv)
        return self.replies[argv[1]]


def test_unit_states_and_automatic_restarts():
    # A unit whose start failed twice and is waiting for its next try.
    module = FakeModule({"is-active": (3, "activating\n", ""), "is-enabled": (0, "enabled\n", ""),
                         "show": (0, "NRestarts=2\nMainPID=0\n", "")})
    assert ni.unit_info(module, "/bin/systemctl", "etcd.service") == {
        "active": "activating", "enabled": "enabled", "restarts": 2, "main_pid": 0, "exe": ""}
    assert ["/bin/systemctl", "show", "--property=NRestarts", "--property=MainPID", "etcd.service"] in module.calls


def test_running_unit_names_the_binary_its_process_runs():
    """SAFETY-23: the binary is read from the process, not from a link."""
    module = FakeModule({"is-active": (0, "active\n", ""), "is-enabled": (0, "enabled\n", ""),
                         "show": (0, "NRestarts=0\nMainPID=%d\n" % os.getpid(), "")})
    info = ni.unit_info(module, "/bin/systemctl", "etcd.service")
    assert info["main_pid"] == os.getpid()
    assert info["exe"] == os.readlink("/proc/self/exe")
    assert ni.process_exe(0) == "" and ni.process_exe(2 ** 22 + 7) == ""


def test_unit_without_a_restart_count_reads_zero():
    # Unknown unit: is-enabled answers on stderr, show prints nothing useful.
    module = FakeModule({"is-active": (3, "inactive\n", ""),
                         "is-enabled": (1, "", "Failed to get unit file state for x.service: No such file\n"),
                         "show": (1, "", "")})
    info = ni.unit_info(module, "/bin/systemctl", "x.service")
    assert info == {"active": "inactive", "enabled": "Failed to get unit file state for x.service: No such file",
                    "restarts": 0, "main_pid": 0, "exe": ""}
    assert ni.unit_info(module, None, "x.service") == {"active": "unknown", "enabled": "unknown", "restarts": 0,
                                                       "main_pid": 0, "exe": ""}


class VersionModule:
    """run_command for running_version: systemctl is-active from a table,
    anything else (the etcd binary) really run."""

    def __init__(self, active):
        self.active, self.calls = active, []

    def run_command(self, argv):
        self.calls.append(argv)
        if argv[1] == "is-active":
            return (0 if self.active else 3), "", ""
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr


def test_running_version_prefers_what_the_active_unit_started(tmp_path):
    """SAFETY-14, SAFETY-23: while the unit is active, the release its start
    recorded (an interrupted upgrade can leave the link newer); otherwise the
    binary's own --version; nothing when neither is there."""
    binary = tmp_path / "etcd"
    binary.write_text("#!/bin/sh\necho 'etcd Version: 3.6.16'\necho 'Git SHA: abc'\n")
    binary.chmod(0o755)
    record = tmp_path / "loaded.version"
    record.write_text("etcd Version: 3.5.21\nGit SHA: def\n")
    running = VersionModule(active=True)
    assert ni.running_version(running, "/bin/systemctl", str(binary), "etcd.service", str(record)) == "3.5.21"
    assert running.calls == [["/bin/systemctl", "is-active", "--quiet", "etcd.service"]]
    stopped = VersionModule(active=False)
    assert ni.running_version(stopped, "/bin/systemctl", str(binary), "etcd.service", str(record)) == "3.6.16"
    # An empty record (a start that wrote nothing) or none: the binary.
    record.write_text("")
    assert ni.running_version(running, "/bin/systemctl", str(binary), "etcd.service", str(record)) == "3.6.16"
    assert ni.running_version(running, None, str(binary), "etcd.service", str(tmp_path / "none")) == "3.6.16"
    # A binary that prints no version, a file that is not executable, no binary.
    binary.write_text("#!/bin/sh\nexit 1\n")
    assert ni.running_version(stopped, "/bin/systemctl", str(binary), "etcd.service", str(record)) == ""
    binary.chmod(0o644)
    assert ni.running_version(stopped, "/bin/systemctl", str(binary), "etcd.service", str(record)) == ""
    assert ni.running_version(stopped, "/bin/systemctl", str(tmp_path / "gone"), "etcd.service", str(record)) == ""


def test_releases_versions_staging_and_links(tmp_path):
    prefix, bin_dir = tmp_path / "opt", tmp_path / "bin"
    full, partial = prefix / "v3.6.16", prefix / "v3.5.35"
    for d in (full, partial, prefix / ".etcd-install-v3.7.3-abc", bin_dir):
        d.mkdir(parents=True)
    for name in ("etcd", "etcdctl", "etcdutl"):
        (full / name).write_text("#!/bin/sh\n")
        os.chmod(full / name, 0o755)
    (partial / "etcd").write_text("")  # not executable: not counted
    (prefix / "v3.4.0").symlink_to(full)  # a link is never an installed version
    (prefix / "README").write_text("")
    (bin_dir / "etcd").symlink_to(full / "etcd")
    (bin_dir / "etcdctl").write_text("")  # a file that is not a link
    info = ni.releases_info(str(prefix), str(bin_dir))
    assert info == {
        "versions": {"v3.5.35": [], "v3.6.16": ["etcd", "etcdctl", "etcdutl"]},
        "staging": [".etcd-install-v3.7.3-abc"],
        "bin_dir": True,
        "links": {"etcd": str(full / "etcd"), "etcdctl": ""},
    }
    assert ni.releases_info(str(tmp_path / "none"), str(tmp_path / "none")) == {
        "versions": {}, "staging": [], "bin_dir": False, "links": {}}


@pytest.mark.parametrize("given, canonical", [
    ("DNS:etcd1", "DNS:etcd1"),
    ("etcd1.example", "DNS:etcd1.example"),
    ("10.0.0.11", "IP:10.0.0.11"),
    ("IP:0:0:0:0:0:0:0:1", "IP:::1"),
    ("[fd00::0011]", "IP:fd00::11"),
    ("IP:not-an-address", "IP:not-an-address"),
])
def test_sans_are_made_canonical(given, canonical):
    assert ni.canonical_san(given) == canonical


def test_pki_files_absent_unreadable_and_private_key_stays_private(tmp_path):
    (tmp_path / "ca.crt").write_text("garbage")
    (tmp_path / "member.key").write_text("garbage")
    info = ni.pki_info(str(tmp_path), ["etcd1", "etcd1", "DNS:etcd1"])
    assert info["pki_dir"] and info["sans"] == ["DNS:etcd1"]
    assert info["files"]["ca.crt"]["error"] == "not a PEM certificate"
    assert info["files"]["member.key"]["error"] == "not an unencrypted PEM private key"
    assert info["files"]["admin.crt"] is None and info["files"]["client.key"] is None
    assert not ni.pki_info(str(tmp_path / "none"), [])["pki_dir"]
