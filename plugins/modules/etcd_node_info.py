#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_node_info
short_description: Read the state of paths, users, groups and systemd units on an etcd node in one call
version_added: "0.1.0"
description:
  - One read-only round trip that tells the collection's roles what is already in place on a node
    (owners, modes and checksums of paths, optionally small files' contents, users, groups, and
    whether systemd units are active and enabled), so that they compare on the controller and
    write only what differs.
  - Uses only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
    support: full
  diff_mode:
    description: Read-only; there is nothing to diff.
    support: none
options:
  paths:
    description: Paths to stat (not followed if they are links).
    type: list
    elements: path
    default: []
  contents:
    description: Paths of text files whose content is returned too (at most 1 MiB each).
    type: list
    elements: path
    default: []
  users:
    description: User names to look up.
    type: list
    elements: str
    default: []
  groups:
    description: Group names to look up.
    type: list
    elements: str
    default: []
  units:
    description:
      - systemd unit names whose active and enabled states, automatic restart count, main process and the
        binary it runs are read.
    type: list
    elements: str
    default: []
  wal:
    description:
      - A member's write-ahead log directory (C(<data dir>/member/wal)) to read. The result says which raft
        entries the member replays when it starts, and how many of them are requests in the format etcd 3.5
        wrote for its v2 store, which etcd 3.7 can no longer decode.
      - Reading is safe while etcd runs; a record still being written ends the read.
    type: path
    version_added: "0.2.0"
'''

EXAMPLES = r'''
- name: Read what the etcd service role manages
  quorum.etcd.etcd_node_info:
    paths: [/var/lib/etcd/member/wal, /etc/systemd/system/etcd.service]
    contents: [/etc/etcd/etcd.conf.yml]
    units: [etcd.service]
  register: node

- name: Read what a member replays from its WAL before it may run etcd 3.7
  quorum.etcd.etcd_node_info:
    wal: /var/lib/etcd/member/wal
  register: node
'''

RETURN = r'''
paths:
  description:
    - One entry per path in O(paths) and O(contents), keyed by the path.
    - A link has C(target) (what it points at) and C(resolved) (the path after every link is followed).
  returned: always
  type: dict
  sample:
    /etc/etcd/etcd.conf.yml:
      exists: true
      type: file
      mode: "0640"
      owner: root
      group: etcd
      checksum: 5b2a4c3c8d1ef0a8b9b1d2b7f5a3e1c0d9f8e7a6
      content: "name: etcd1\n"
contents_truncated:
  description: Paths in O(contents) not read because they are larger than 1 MiB.
  returned: always
  type: list
  elements: str
users:
  description: One entry per user, keyed by name.
  returned: always
  type: dict
  sample: {etcd: {exists: true, uid: 999, gid: 999, group: etcd, home: /var/lib/etcd, shell: /usr/sbin/nologin}}
groups:
  description: One entry per group, keyed by name.
  returned: always
  type: dict
  sample: {etcd: {exists: true, gid: 999}}
units:
  description:
    - One entry per unit, keyed by the name given; C(active) and C(enabled) are systemctl's words.
    - C(restarts) is systemd's C(NRestarts), the automatic restarts (C(Restart=)) since the unit was last started
      on purpose; a unit that fails at start and is restarted counts up while C(active) stays C(activating).
    - C(main_pid) is the service's main process (0 when none runs), C(exe) the binary that process was
      started from. It ends with the word deleted in brackets when that file is gone, and is empty when
      unknown or not readable (root in a container without C(CAP_SYS_PTRACE)).
  returned: always
  type: dict
  sample: {etcd.service: {active: active, enabled: enabled, restarts: 0, main_pid: 812, exe: /opt/etcd/v3.6.6/etcd}}
wal:
  description:
    - What the member replays from O(wal) when it starts; only C(exists) when the directory does not exist,
      and C(error) instead of the counts when the log cannot be read as etcd's format.
    - C(snapshot_index) is the newest committed raft snapshot in the log (replay starts after it),
      C(entries) the entries after it, C(v2_entries) how many of those are bare etcd v2 store requests,
      with the first and last such index.
  returned: when O(wal) is set
  type: dict
  sample: {exists: true, files: 1, snapshot_index: 0, commit_index: 10, last_index: 10, entries: 10,
           v2_entries: 2, v2_first_index: 3, v2_last_index: 4}
'''

import grp
import hashlib
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_wal import WalError, scan

MAX_CONTENT = 1024 * 1024
TYPES = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"), (stat.S_ISLNK, "link"))


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def path_info(path, want_content):
    """Stat one path; checksum (and content) for regular files."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False}, False
    kind = next((name for test, name in TYPES if test(st.st_mode)), "other")
    info = {
        "exists": True,
        "type": kind,
        "mode": "%04o" % stat.S_IMODE(st.st_mode),
        "owner": _name(pwd.getpwuid, st.st_uid),
        "group": _name(grp.getgrgid, st.st_gid),
    }
    truncated = False
    if kind == "link":
        info["target"] = os.readlink(path)
        info["resolved"] = os.path.realpath(path)
    elif kind == "file":
        with open(path, "rb") as fh:
            data = fh.read()
        info["checksum"] = hashlib.sha1(data).hexdigest()
        if want_content:
            if len(data) > MAX_CONTENT:
                truncated = True
            else:
                info["content"] = data.decode("utf-8", "replace")
    return info, truncated


def user_info(name):
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return {"exists": False}
    return {"exists": True, "uid": pw.pw_uid, "gid": pw.pw_gid, "group": _name(grp.getgrgid, pw.pw_gid),
            "home": pw.pw_dir, "shell": pw.pw_shell}


def group_info(name):
    try:
        return {"exists": True, "gid": grp.getgrnam(name).gr_gid}
    except KeyError:
        return {"exists": False}


def process_exe(pid):
    """The binary a running process was started from (Linux /proc), with
    " (deleted)" at the end when that file is gone; "" when unknown."""
    if not pid:
        return ""
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return ""


def unit_info(module, systemctl, name):
    if not systemctl:
        return {"active": "unknown", "enabled": "unknown", "restarts": 0, "main_pid": 0, "exe": ""}
    out = {}
    for key, verb in (("active", "is-active"), ("enabled", "is-enabled")):
        rc, stdout, stderr = module.run_command([systemctl, verb, name])
        out[key] = (stdout.strip() or stderr.strip() or "unknown").splitlines()[0]
    rc, stdout, stderr = module.run_command([systemctl, "show", "--property=NRestarts", "--property=MainPID", name])
    props = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line) if rc == 0 else {}
    out["restarts"] = int(props["NRestarts"]) if props.get("NRestarts", "").isdigit() else 0
    out["main_pid"] = int(props["MainPID"]) if props.get("MainPID", "").isdigit() else 0
    # SAFETY-23: what runs, not what a link points at now.
    out["exe"] = process_exe(out["main_pid"])
    return out


def wal_info(wal_dir):
    """What a member replays from its WAL (module_utils/etcd_wal.py)."""
    if not os.path.isdir(wal_dir):
        return {"exists": False}
    try:
        info = scan(wal_dir)
    except (WalError, OSError) as exc:
        return {"exists": True, "error": "cannot read the WAL in %s: %s" % (wal_dir, exc)}
    info["exists"] = True
    return info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", default=[]),
            contents=dict(type="list", elements="path", default=[]),
            users=dict(type="list", elements="str", default=[]),
            groups=dict(type="list", elements="str", default=[]),
            units=dict(type="list", elements="str", default=[]),
            wal=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    paths, truncated = {}, []
    try:
        for path in p["paths"] + p["contents"]:
            info, cut = path_info(path, path in p["contents"])
            paths[path] = info
            if cut:
                truncated.append(path)
    except OSError as exc:
        module.fail_json(msg="cannot read %s: %s" % (exc.filename, exc.strerror))
    systemctl = module.get_bin_path("systemctl") if p["units"] else None
    result = dict(
        changed=False,
        paths=paths,
        contents_truncated=truncated,
        users=dict((name, user_info(name)) for name in p["users"]),
        groups=dict((name, group_info(name)) for name in p["groups"]),
        units=dict((name, unit_info(module, systemctl, name)) for name in p["units"]),
    )
    if p["wal"]:
        result["wal"] = wal_info(p["wal"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
