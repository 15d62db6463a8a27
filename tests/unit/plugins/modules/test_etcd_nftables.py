# -*- coding: utf-8 -*-
"""etcd_nftables: the table file checked by nft before it replaces the old
one, loaded when written or missing from the live ruleset, persisted by an
include line and an enabled (never restarted) nftables.service. Real files in
tmp_path and fake nft/systemctl; Molecule default and firewall run it on the
containers with the real nft."""
from __future__ import annotations

import os

import pytest

from ansible_collections.quorum.etcd.plugins.modules import etcd_nftables as en

TABLE = "table inet quorum_etcd\ndelete table inet quorum_etcd\ntable inet quorum_etcd {\n}\n"


class Node:
    """A fake nft and systemctl: the live tables, what nft refuses, whether
    the service is enabled; every call recorded."""

    def __init__(self, live=(), enabled=False, refuse=None):
        self.live, self.enabled, self.refuse, self.calls = set(live), enabled, refuse, []

    def nft(self, args):
        self.calls.append(("nft",) + tuple(args))
        if args[:2] == ["list", "table"]:
            return (0, "table %s %s {}\n" % (args[2], args[3]), "") if args[3] in self.live else (1, "", "No such file")
        path = args[-1]
        with open(path) as fh:
            text = fh.read()
        if self.refuse and self.refuse in text:
            return 1, "", "%s:1:1-5: Error: syntax error" % path
        if args[0] == "-f" and "quorum_etcd" in text:
            self.live.add("quorum_etcd")
        return 0, "", ""

    def systemctl(self, args):
        self.calls.append(("systemctl",) + tuple(args))
        if args[0] == "is-enabled":
            return (0, "enabled\n", "") if self.enabled else (1, "disabled\n", "")
        self.enabled = True
        return 0, "", ""


def params(tmp_path, **extra):
    base = {"file": str(tmp_path / "nftables.d" / "quorum-etcd.nft"), "content": TABLE, "table": "quorum_etcd",
            "family": "inet", "persist": True, "conf": str(tmp_path / "nftables.conf")}
    base.update(extra)
    return base


def test_first_run_writes_loads_includes_and_enables_then_nothing(tmp_path):
    (tmp_path / "nftables.conf").write_text("#!/usr/sbin/nft -f\nflush ruleset\n")
    os.chmod(tmp_path / "nftables.conf", 0o755)
    node = Node()
    result = en.apply(params(tmp_path), node.nft, node.systemctl)
    assert result == {"written": True, "loaded": True, "included": True, "enabled": True}
    assert (tmp_path / "nftables.d" / "quorum-etcd.nft").read_text() == TABLE
    assert oct(os.stat(tmp_path / "nftables.d" / "quorum-etcd.nft").st_mode & 0o777) == "0o644"
    conf = (tmp_path / "nftables.conf").read_text()
    assert conf == '#!/usr/sbin/nft -f\nflush ruleset\ninclude "%s"\n' % params(tmp_path)["file"]
    assert oct(os.stat(tmp_path / "nftables.conf").st_mode & 0o777) == "0o755"
    assert "quorum_etcd" in node.live and node.enabled
    # nftables.service is enabled, never started or restarted.
    assert not any(c[:2] == ("systemctl", "start") or c[:2] == ("systemctl", "restart") for c in node.calls)
    node.calls.clear()
    assert en.apply(params(tmp_path), node.nft, node.systemctl) == dict.fromkeys(result, False)
    assert all(c[1] in ("list", "is-enabled") for c in node.calls)  # reads only
    assert sorted(os.listdir(tmp_path / "nftables.d")) == ["quorum-etcd.nft"]  # no temporary file left


def test_a_flushed_ruleset_is_loaded_again_without_a_write(tmp_path):
    node = Node()
    en.apply(params(tmp_path, persist=False), node.nft, node.systemctl)
    node.live.clear()  # nft flush ruleset
    result = en.apply(params(tmp_path, persist=False), node.nft, node.systemctl)
    assert result == {"written": False, "loaded": True, "included": False, "enabled": False}
    assert "quorum_etcd" in node.live


def test_content_nft_refuses_changes_nothing(tmp_path):
    node = Node()
    en.apply(params(tmp_path, persist=False), node.nft, node.systemctl)
    node.refuse = "bogus"
    with pytest.raises(en.NftError, match="nft refused .*quorum-etcd.nft .*nothing was changed.*syntax error"):
        en.apply(params(tmp_path, persist=False, content=TABLE + "bogus\n"), node.nft, node.systemctl)
    assert (tmp_path / "nftables.d" / "quorum-etcd.nft").read_text() == TABLE
    assert sorted(os.listdir(tmp_path / "nftables.d")) == ["quorum-etcd.nft"]
    assert not any(c[:2] == ("nft", "-f") and "bogus" in c[-1] for c in node.calls)


def test_a_missing_conf_is_created_and_a_commented_include_does_not_count(tmp_path):
    node = Node(enabled=True)
    result = en.apply(params(tmp_path), node.nft, node.systemctl)
    assert result["included"] and not result["enabled"]
    conf = tmp_path / "nftables.conf"
    assert conf.read_text().splitlines()[-1] == 'include "%s"' % params(tmp_path)["file"]
    assert oct(os.stat(conf).st_mode & 0o777) == "0o755"
    conf.write_text('# include "%s"\n' % params(tmp_path)["file"])
    assert en.apply(params(tmp_path), node.nft, node.systemctl)["included"] is True


def test_check_mode_reads_and_changes_nothing(tmp_path):
    node = Node()
    result = en.apply(params(tmp_path), node.nft, node.systemctl, check_mode=True)
    assert result == {"written": True, "loaded": True, "included": True, "enabled": True}
    assert not (tmp_path / "nftables.d").exists() and not (tmp_path / "nftables.conf").exists()
    assert not node.live and not node.enabled


def test_a_bad_table_name_is_refused_before_anything(tmp_path):
    node = Node()
    with pytest.raises(en.NftError, match="'quorum etcd'"):
        en.apply(params(tmp_path, table="quorum etcd"), node.nft, node.systemctl)
    assert node.calls == [] and not (tmp_path / "nftables.d").exists()
