# -*- coding: utf-8 -*-
from __future__ import annotations

import grp
import os
import pwd

import pytest

from ansible_collections.quorum.etcd.plugins.modules import etcd_files as ef

ME = pwd.getpwuid(os.getuid())[0]
MY_GROUP = grp.getgrgid(os.getgid())[0]


def spec(path, content="pem\n", mode="0644"):
    return {"path": str(path), "content": content, "owner": ME, "group": MY_GROUP, "mode": mode}


def test_writes_new_and_changed_files_and_leaves_equal_ones(tmp_path):
    same = tmp_path / "ca.crt"
    same.write_text("pem\n")
    os.chmod(same, 0o644)
    changed = tmp_path / "member.crt"
    changed.write_text("old\n")
    os.chmod(changed, 0o644)
    new = tmp_path / "client.crt"
    written, fixed = ef.run([spec(same), spec(changed, "new\n"), spec(new, "client\n")], check_mode=False)
    assert written == [str(changed), str(new)] and fixed == []
    assert changed.read_text() == "new\n" and new.read_text() == "client\n"
    assert oct(os.stat(new).st_mode & 0o7777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.crt", "client.crt", "member.crt"]  # no temp file left
    assert ef.run([spec(same), spec(changed, "new\n"), spec(new, "client\n")], check_mode=False) == ([], [])


def test_a_mode_drift_is_fixed_without_a_write(tmp_path):
    path = tmp_path / "member.crt"
    path.write_text("pem\n")
    os.chmod(path, 0o600)
    inode = os.stat(path).st_ino
    assert ef.run([spec(path)], check_mode=False) == ([], [str(path)])
    assert oct(os.stat(path).st_mode & 0o7777) == "0o644" and os.stat(path).st_ino == inode


def test_check_mode_reports_and_writes_nothing(tmp_path):
    path = tmp_path / "member.crt"
    path.write_text("old\n")
    assert ef.run([spec(path, "new\n"), spec(tmp_path / "x.crt")], check_mode=True) == (
        [str(path), str(tmp_path / "x.crt")], [])
    assert path.read_text() == "old\n" and not (tmp_path / "x.crt").exists()


@pytest.mark.parametrize("field,value,words", [
    ("owner", "no-such-user-quorum", "no user 'no-such-user-quorum'"),
    ("group", "no-such-group-quorum", "no group 'no-such-group-quorum'"),
    ("mode", "rw-r--r--", "not an octal number"),
])
def test_a_bad_file_stops_the_call_before_any_write(tmp_path, field, value, words):
    first = tmp_path / "ca.crt"
    bad = spec(tmp_path / "member.crt")
    bad[field] = value
    with pytest.raises(ef.FilesError) as info:
        ef.run([spec(first), bad], check_mode=False)
    assert words in str(info.value)
    assert not first.exists()


def test_a_directory_in_the_way_is_refused(tmp_path):
    (tmp_path / "member.crt").mkdir()
    with pytest.raises(ef.FilesError) as info:
        ef.run([spec(tmp_path / "member.crt")], check_mode=False)
    assert "not a regular file" in str(info.value)


def test_diff_mode_shows_old_and_new_content_of_written_files_only(tmp_path):
    same = tmp_path / "ca.crt"
    same.write_text("pem\n")
    os.chmod(same, 0o644)
    changed = tmp_path / "etcd.conf.yml"
    changed.write_text("name: a\n")
    diffs = []
    assert ef.run([spec(same), spec(changed, "name: b\n"), spec(tmp_path / "new")], check_mode=True, diffs=diffs) == (
        [str(changed), str(tmp_path / "new")], [])
    assert diffs == [
        {"before_header": str(changed), "after_header": str(changed), "before": "name: a\n", "after": "name: b\n"},
        {"before_header": str(tmp_path / "new"), "after_header": str(tmp_path / "new"), "before": "", "after": "pem\n"},
    ]


# directories: etcd_user's data, configuration and PKI dirs in one call.

def dspec(path, mode="0700", owner=ME, group=MY_GROUP):
    return {"path": str(path), "owner": owner, "group": group, "mode": mode}


def test_directories_are_made_parents_first_then_nothing(tmp_path):
    dirs = [dspec(tmp_path / "etc" / "etcd", "0755"), dspec(tmp_path / "etc" / "etcd" / "pki", "0750"),
            dspec(tmp_path / "data", "0700")]
    assert ef.run_directories(dirs, check_mode=False) == [d["path"] for d in dirs]
    assert oct(os.stat(tmp_path / "etc" / "etcd").st_mode & 0o7777) == "0o755"
    assert oct(os.stat(tmp_path / "etc" / "etcd" / "pki").st_mode & 0o7777) == "0o750"
    assert oct(os.stat(tmp_path / "data").st_mode & 0o7777) == "0o700"
    assert ef.run_directories(dirs, check_mode=False) == []


def test_a_drifted_directory_mode_is_put_back_and_its_content_kept(tmp_path):
    data = tmp_path / "data"
    (data / "member").mkdir(parents=True)
    (data / "member" / "wal").write_text("keep me")
    os.chmod(data, 0o755)
    assert ef.run_directories([dspec(data)], check_mode=False) == [str(data)]
    assert oct(os.stat(data).st_mode & 0o7777) == "0o700"
    assert (data / "member" / "wal").read_text() == "keep me"  # SAFETY-3


def test_directories_in_check_mode_change_nothing_even_for_a_user_not_made_yet(tmp_path):
    data = tmp_path / "data"
    assert ef.run_directories([dspec(data, owner="no-such-user-yet")], check_mode=True) == [str(data)]
    assert not data.exists()
    with pytest.raises(ef.FilesError, match="no user 'no-such-user-yet'"):
        ef.run_directories([dspec(data, owner="no-such-user-yet")], check_mode=False)
    assert not data.exists()


def test_a_file_where_a_directory_goes_stops_the_call_before_any_change(tmp_path):
    (tmp_path / "pki").write_text("not a dir")
    dirs = [dspec(tmp_path / "data"), dspec(tmp_path / "pki", "0750")]
    with pytest.raises(ef.FilesError, match="pki exists and is not a directory"):
        ef.run_directories(dirs, check_mode=False)
    assert not (tmp_path / "data").exists()


# --- account (the etcd_user role's group and user, in the same call) ---

class _Pw:
    def __init__(self, name, uid, gid, home, shell):
        self.pw_name, self.pw_uid, self.pw_gid, self.pw_dir, self.pw_shell = name, uid, gid, home, shell


class _Gr:
    def __init__(self, name, gid):
        self.gr_name, self.gr_gid = name, gid


def _lookups(users, groups):
    def getpwnam(name):
        return users[name]

    def getgrnam(name):
        return groups[name]

    def getgrgid(gid):
        return next(g for g in groups.values() if g.gr_gid == gid)

    return {"getpwnam": getpwnam, "getgrnam": getgrnam, "getgrgid": getgrgid}


SPEC = {"name": "etcd", "group": "etcd", "uid": None, "gid": None, "home": "/var/lib/etcd",
        "shell": "/usr/sbin/nologin", "comment": "etcd"}


def test_a_missing_account_is_made_group_first_as_system_accounts_without_a_home():
    steps = ef.account_steps(SPEC, **_lookups({}, {}))
    assert steps == [
        (["groupadd", "--system", "etcd"], "group etcd made"),
        (["useradd", "--system", "--gid", "etcd", "--comment", "etcd", "--home-dir", "/var/lib/etcd",
          "--no-create-home", "--shell", "/usr/sbin/nologin", "etcd"], "user etcd made"),
    ]


def test_pinned_ids_are_passed_and_a_right_account_needs_nothing():
    spec = dict(SPEC, uid=990, gid=991)
    made = ef.account_steps(spec, **_lookups({}, {}))
    assert made[0][0] == ["groupadd", "--system", "--gid", "991", "etcd"]
    assert made[1][0][-3:] == ["--uid", "990", "etcd"]
    right = _lookups({"etcd": _Pw("etcd", 990, 991, "/var/lib/etcd", "/usr/sbin/nologin")}, {"etcd": _Gr("etcd", 991)})
    assert ef.account_steps(spec, **right) == []
    # without pinned IDs, whatever IDs the account has are kept
    assert ef.account_steps(SPEC, **right) == []


def test_a_drifted_user_and_group_are_put_back_with_what_changed_named():
    drifted = _lookups({"etcd": _Pw("etcd", 990, 100, "/home/etcd", "/bin/bash")},
                       {"etcd": _Gr("etcd", 991), "users": _Gr("users", 100)})
    steps = ef.account_steps(dict(SPEC, gid=995, uid=996), **drifted)
    assert steps == [
        (["groupmod", "--gid", "995", "etcd"], "group etcd: gid 991 -> 995"),
        (["usermod", "--gid", "etcd", "--home", "/var/lib/etcd", "--shell", "/usr/sbin/nologin", "--uid", "996", "etcd"],
         "user etcd: group users -> etcd, home /home/etcd -> /var/lib/etcd, shell /bin/bash -> /usr/sbin/nologin, "
         "uid 990 -> 996"),
    ]


class _Module:
    def __init__(self, check_mode, rc=0):
        self.check_mode, self.rc, self.ran = check_mode, rc, []

    def get_bin_path(self, name, required=False):
        return "/usr/sbin/" + name

    def run_command(self, argv):
        self.ran.append(argv)
        return self.rc, "", "useradd: boom" if self.rc else ""


def test_check_mode_names_the_account_changes_and_runs_nothing(monkeypatch):
    monkeypatch.setattr(ef, "account_steps", lambda spec: [(["groupadd", "--system", "etcd"], "group etcd made")])
    module = _Module(check_mode=True)
    assert ef.run_account(module, SPEC) == ["group etcd made"]
    assert module.ran == []
    assert ef.run_account(module, None) == []


def test_a_failed_account_command_stops_the_call_naming_it(monkeypatch):
    monkeypatch.setattr(ef, "account_steps", lambda spec: [(["useradd", "etcd"], "user etcd made")])
    module = _Module(check_mode=False, rc=9)
    with pytest.raises(ef.FilesError, match="useradd etcd failed \\(rc 9\\): useradd: boom"):
        ef.run_account(module, SPEC)
    assert module.ran == [["/usr/sbin/useradd", "etcd"]]
