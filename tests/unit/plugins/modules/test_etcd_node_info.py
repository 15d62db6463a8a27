# -*- coding: utf-8 -*-
from __future__ import annotations

import grp
import hashlib
import os
import pwd
import socket
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


SHOW = ["--property=ActiveState", "--property=UnitFileState", "--property=LoadState", "--property=NRestarts",
        "--property=MainPID"]


def test_unit_states_and_automatic_restarts_in_one_call():
    # A unit whose start failed twice and is waiting for its next try.
    module = FakeModule({"show": (0, "ActiveState=activating\nUnitFileState=enabled\nLoadState=loaded\n"
                                     "NRestarts=2\nMainPID=0\n", "")})
    assert ni.unit_info(module, "/bin/systemctl", "etcd.service") == {
        "active": "activating", "enabled": "enabled", "restarts": 2, "main_pid": 0, "exe": ""}
    assert module.calls == [["/bin/systemctl", "show"] + SHOW + ["etcd.service"]]


def test_running_unit_names_the_binary_its_process_runs():
    """SAFETY-23: the binary is read from the process, not from a link."""
    module = FakeModule({"show": (0, "ActiveState=active\nUnitFileState=enabled\nNRestarts=0\nMainPID=%d\n"
                                     % os.getpid(), "")})
    info = ni.unit_info(module, "/bin/systemctl", "etcd.service")
    assert info["main_pid"] == os.getpid() and info["active"] == "active"
    assert info["exe"] == os.readlink("/proc/self/exe")
    assert ni.process_exe(0) == "" and ni.process_exe(2 ** 22 + 7) == ""


def test_unit_without_a_file_or_an_answer():
    # A unit without a file: no UnitFileState, its LoadState says why.
    module = FakeModule({"show": (0, "ActiveState=inactive\nUnitFileState=\nLoadState=not-found\nNRestarts=\n"
                                     "MainPID=0\n", "")})
    assert ni.unit_info(module, "/bin/systemctl", "x.service") == {
        "active": "inactive", "enabled": "not-found", "restarts": 0, "main_pid": 0, "exe": ""}
    # systemctl failing (no systemd to ask) or missing: nothing is guessed.
    failing = FakeModule({"show": (1, "", "System has not been booted with systemd\n")})
    assert ni.unit_info(failing, "/bin/systemctl", "x.service") == {
        "active": "unknown", "enabled": "unknown", "restarts": 0, "main_pid": 0, "exe": ""}
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


def test_running_version_takes_the_unit_state_the_same_call_read(tmp_path):
    """The unit's ActiveState from the read's own systemctl show: no second
    systemctl call."""
    binary = tmp_path / "etcd"
    binary.write_text("#!/bin/sh\necho 'etcd Version: 3.6.16'\n")
    binary.chmod(0o755)
    record = tmp_path / "loaded.version"
    record.write_text("etcd Version: 3.5.21\n")
    module = VersionModule(active=False)  # would answer "inactive" if asked
    assert ni.running_version(module, "/bin/systemctl", str(binary), "etcd.service", str(record), "active") == "3.5.21"
    assert module.calls == []
    assert ni.running_version(module, "/bin/systemctl", str(binary), "etcd.service", str(record),
                              "activating") == "3.6.16"
    assert module.calls == [[str(binary), "--version"]]


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
        # the paths read: a role handed this result checks they are its own
        "prefix_path": str(prefix),
        "bin_dir_path": str(bin_dir),
    }
    none = str(tmp_path / "none")
    assert ni.releases_info(none, none) == {
        "versions": {}, "staging": [], "bin_dir": False, "links": {}, "prefix_path": none, "bin_dir_path": none}


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


# --- firewall: what etcd_firewall compares (one read instead of a shell probe)

def _firewall_spec(tmp_path, **over):
    spec = {"zone": "public", "nft_table": "quorum_etcd", "nft_dir": str(tmp_path / "nftables.d"),
            "nft_file": str(tmp_path / "nftables.d" / "quorum-etcd.nft"), "nft_conf": str(tmp_path / "nftables.conf"),
            "names": []}
    spec.update(over)
    return spec


class FakeTools:
    """The commands a host has, and what each answers: argv tuple -> (rc, out)."""

    def __init__(self, present, answers):
        self.present, self.answers, self.calls = set(present), answers, []

    def which(self, name):
        return "/usr/sbin/" + name if name in self.present else None

    def run(self, argv):
        self.calls.append(tuple(argv))
        rc, out = self.answers.get(tuple(argv), (1, ""))
        return rc, out, ""


def test_firewall_nothing_installed(tmp_path):
    tools = FakeTools([], {})
    info = ni.firewall_info(tools.run, tools.which, _firewall_spec(tmp_path))
    assert info["firewalld"] == "absent" and info["ufw"] == "absent"
    assert info["nft"] == "absent" and info["nft_table"] == "absent"
    assert info["nft_dir"] == "absent" and info["nft_file"] == "absent" and info["nft_include"] == "absent"
    assert info["nft_service"] == "" and info["rich"] == [] and info["ufw_rules"] == []
    assert tools.calls == []  # no command that is not there is run


def test_firewall_nftables_table_file_include_and_service(tmp_path):
    spec = _firewall_spec(tmp_path)
    os.makedirs(spec["nft_dir"])
    with open(spec["nft_file"], "w") as fh:
        fh.write("table inet quorum_etcd {}\n")
    os.chmod(spec["nft_file"], 0o644)
    with open(spec["nft_conf"], "w") as fh:
        fh.write('#!/usr/sbin/nft -f\ninclude "%s"\n' % spec["nft_file"])
    tools = FakeTools(["nft", "systemctl"], {
        ("/usr/sbin/nft", "list", "table", "inet", "quorum_etcd"): (0, "table inet quorum_etcd {}\n"),
        ("/usr/sbin/systemctl", "is-enabled", "nftables.service"): (0, "enabled\n"),
    })
    info = ni.firewall_info(tools.run, tools.which, spec)
    digest = hashlib.sha1(b"table inet quorum_etcd {}\n").hexdigest()
    owner, group = pwd.getpwuid(os.getuid())[0], grp.getgrgid(os.getgid())[0]
    assert info["nft"] == "present" and info["nft_table"] == "present" and info["nft_dir"] == "present"
    # "sha1 mode owner group", the form etcd_firewall compares with what it would write
    assert info["nft_file"] == "%s 644 %s %s" % (digest, owner, group)
    assert info["nft_include"] == "present" and info["nft_service"] == "enabled"
    assert info["asked"] == {key: spec[key] for key in ("zone", "nft_table", "nft_dir", "nft_file", "nft_conf")}


def test_firewall_include_must_be_the_whole_line_and_table_may_be_missing(tmp_path):
    spec = _firewall_spec(tmp_path)
    with open(spec["nft_conf"], "w") as fh:
        fh.write('# include "%s"\n' % spec["nft_file"])
    tools = FakeTools(["nft", "systemctl"], {
        ("/usr/sbin/systemctl", "is-enabled", "nftables.service"): (1, "disabled\n")})
    info = ni.firewall_info(tools.run, tools.which, spec)
    assert info["nft"] == "present" and info["nft_table"] == "absent"  # nft list table failed
    assert info["nft_include"] == "absent" and info["nft_service"] == "disabled"


def test_firewall_firewalld_rich_rules_of_the_zone(tmp_path):
    rule = 'rule priority="-1" family="ipv4" port port="2379" protocol="tcp" drop'
    tools = FakeTools(["firewall-cmd"], {
        ("/usr/sbin/firewall-cmd", "--state"): (0, "running\n"),
        ("/usr/sbin/firewall-cmd", "--zone=internal", "--list-rich-rules"): (0, rule + "\n"),
        ("/usr/sbin/firewall-cmd", "--permanent", "--zone=internal", "--list-rich-rules"): (0, "\n"),
    })
    info = ni.firewall_info(tools.run, tools.which, _firewall_spec(tmp_path, zone="internal"))
    assert info["firewalld"] == "running" and info["rich"] == [rule] and info["rich_permanent"] == []
    stopped = FakeTools(["firewall-cmd"], {("/usr/sbin/firewall-cmd", "--state"): (252, "not running\n")})
    info = ni.firewall_info(stopped.run, stopped.which, _firewall_spec(tmp_path))
    assert info["firewalld"] == "stopped" and info["rich"] == []
    assert len(stopped.calls) == 1  # no rule listing from a stopped firewalld


def test_firewall_ufw_state_and_rule_tuples(tmp_path):
    rules = tmp_path / "user.rules"
    rules.write_text("*filter\n### tuple ### allow tcp 2380 0.0.0.0/0 any 10.0.0.2 in comment=71756f72756d2d65746364\n"
                     "-A ufw-user-input -p tcp --dport 2380 -s 10.0.0.2 -j ACCEPT\n")
    tools = FakeTools(["ufw"], {("/usr/sbin/ufw", "status"): (0, "Status: active\n\nTo Action From\n")})
    info = ni.firewall_info(tools.run, tools.which, _firewall_spec(tmp_path),
                            ufw_rules=(str(rules), str(tmp_path / "user6.rules")))  # the second is missing
    assert info["ufw"] == "active"
    assert info["ufw_rules"] == ["allow tcp 2380 0.0.0.0/0 any 10.0.0.2 in comment=71756f72756d2d65746364"]
    inactive = FakeTools(["ufw"], {("/usr/sbin/ufw", "status"): (0, "Status: inactive\n")})
    assert ni.firewall_info(inactive.run, inactive.which, _firewall_spec(tmp_path), ufw_rules=())["ufw"] == "inactive"


def test_firewall_names_resolved_addresses_skipped(tmp_path):
    spec = _firewall_spec(tmp_path, names=["10.0.0.1", "fd00::1", "[fd00::2]", "localhost", "no-such-host.invalid",
                                           "localhost"])
    info = ni.firewall_info(FakeTools([], {}).run, FakeTools([], {}).which, spec)
    assert set(info["resolved"]) == {"localhost"}  # addresses are not names; each name once
    assert "127.0.0.1" in info["resolved"]["localhost"]
    assert info["resolved"]["localhost"] == sorted(set(info["resolved"]["localhost"]))
    assert info["unresolved"] == ["no-such-host.invalid"]


def test_host_facts_name_the_routed_source_address_and_the_machine(monkeypatch):
    # The address is the one the kernel picks for a public destination (the
    # same as `ip -4 route get 8.8.8.8`); no packet is sent by a UDP connect.
    seen = {}

    class Sock:
        def __init__(self, family, kind):
            seen["socket"] = (family, kind)

        def connect(self, addr):
            seen["connect"] = addr

        def getsockname(self):
            return ("10.1.2.3", 40000)

        def close(self):
            seen["closed"] = True

    monkeypatch.setattr(ni.socket, "socket", Sock)
    facts = ni.host_facts()
    assert facts == {"default_ipv4": "10.1.2.3", "architecture": os.uname().machine}
    assert seen == {"socket": (ni.socket.AF_INET, ni.socket.SOCK_DGRAM), "connect": ("8.8.8.8", 53), "closed": True}


def test_host_facts_without_a_default_route(monkeypatch):
    class Unroutable:
        def __init__(self, *args):
            pass

        def connect(self, addr):
            raise OSError(101, "Network is unreachable")

        def close(self):
            pass

    monkeypatch.setattr(ni.socket, "socket", Unroutable)
    assert ni.host_facts()["default_ipv4"] is None


def test_host_facts_on_this_machine_match_the_kernel_route():
    # A real read on the test machine: the address is one of its own.
    address = ni.host_facts()["default_ipv4"]
    if address is None:
        pytest.skip("this machine has no IPv4 default route")
    route = subprocess.run(["ip", "-4", "route", "get", "8.8.8.8"], capture_output=True, text=True, check=False)
    if route.returncode != 0:
        pytest.skip("no ip command here")
    assert f"src {address} " in route.stdout + " "


def test_peer_probe_tells_a_listening_port_from_a_closed_one(tmp_path):
    # Real sockets on loopback (SAFETY-1): one listening, one bound but not.
    with socket.socket() as listening, socket.socket() as closed:
        listening.bind(("127.0.0.1", 0))
        listening.listen(16)
        closed.bind(("127.0.0.1", 0))
        spec = {"host": "127.0.0.1", "unless": None, "timeout": 2}
        assert ni.peer_probe(dict(spec, port=listening.getsockname()[1])) == {"answers": True}
        assert ni.peer_probe(dict(spec, port=closed.getsockname()[1])) == {"answers": False}
        assert ni.answers("[127.0.0.1]", listening.getsockname()[1], 2) is True
        # A member with a WAL is not connected to: its etcd answers there.
        wal = tmp_path / "member" / "wal"
        wal.mkdir(parents=True)
        assert ni.peer_probe(dict(spec, port=listening.getsockname()[1], unless=str(wal))) == {"answers": None}
        assert ni.peer_probe(dict(spec, port=listening.getsockname()[1],
                                  unless=str(tmp_path / "none"))) == {"answers": True}
