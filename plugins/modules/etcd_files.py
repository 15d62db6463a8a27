#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_files
short_description: Make several directories and write several small text files on a node in one call
version_added: "0.3.0"
description:
  - Writes each given file whose content, owner, group or mode differs, and leaves the others alone.
    A new content goes to a temporary file in the same directory, which is renamed over the old one,
    so a reader (etcd loading its certificate at the next connection) never sees a half-written file.
  - Makes each given directory that is missing and puts back the owner, group and mode of those that
    differ, before the files; a directory's content is never removed or changed.
  - With O(account), first makes a system group and a system user without a home directory or puts back their
    IDs, primary group, home and shell, so that the directories can be given to them in the same call.
  - One round trip for all the files, where M(ansible.builtin.copy) in a loop makes three per file;
    the etcd_tls role writes a member's certificates with it.
  - Uses only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
attributes:
  check_mode:
    description: Reports what would be written, writes nothing.
    support: full
  diff_mode:
    description: Shows the old and the new content of each file written (do not pass secrets).
    support: full
options:
  account:
    description:
      - A system group and a system user to make, or to put right, before the directories and files
        (C(groupadd)/C(groupmod) and C(useradd)/C(usermod) with C(--system), no home directory is made).
      - An existing account keeps its IDs unless O(account.uid) or O(account.gid) is set and differs.
    type: dict
    version_added: "0.4.0"
    suboptions:
      name:
        description: The user name.
        type: str
        required: true
      group:
        description: The user's primary group, made when missing.
        type: str
        required: true
      uid:
        description: The user ID; an existing user is changed to it when it differs.
        type: int
      gid:
        description: The group ID; an existing group is changed to it when it differs.
        type: int
      home:
        description: The user's home directory (not made).
        type: path
        required: true
      shell:
        description: The user's login shell.
        type: path
        default: /usr/sbin/nologin
      comment:
        description: The user's comment (GECOS) for a new user.
        type: str
        default: ""
  directories:
    description:
      - The directories to make or put right, in order (a parent before what it holds). Missing parents are made
        (root, 0755).
    type: list
    elements: dict
    default: []
    version_added: "0.4.0"
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      owner:
        description: User name that owns the directory.
        type: str
        required: true
      group:
        description: Group name of the directory.
        type: str
        required: true
      mode:
        description: Octal mode of the directory, as a string (for example C("0700")).
        type: str
        required: true
  files:
    description: The files to write.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the file. Its directory must exist.
        type: path
        required: true
      content:
        description: The whole content of the file.
        type: str
        required: true
      owner:
        description: User name that owns the file.
        type: str
        required: true
      group:
        description: Group name of the file.
        type: str
        required: true
      mode:
        description: Octal mode of the file, as a string (for example C("0644")).
        type: str
        required: true
'''

EXAMPLES = r'''
- name: Make the etcd system account and its directories in one call
  quorum.etcd.etcd_files:
    account: {name: etcd, group: etcd, home: /var/lib/etcd, comment: etcd}
    directories:
      - {path: /var/lib/etcd, owner: etcd, group: etcd, mode: "0700"}
      - {path: /etc/etcd, owner: etcd, group: etcd, mode: "0755"}

- name: Write a member's certificates
  quorum.etcd.etcd_files:
    files:
      - {path: /etc/etcd/pki/member.crt, content: "{{ member_pem }}", owner: etcd, group: etcd, mode: "0644"}
      - {path: /etc/etcd/pki/client.crt, content: "{{ client_pem }}", owner: etcd, group: etcd, mode: "0644"}
'''

RETURN = r'''
account:
  description: What was (or in check mode would be) done to the account, in order, for example C(group etcd made).
  type: list
  elements: str
  returned: always
directories:
  description: The directories that were (or in check mode would be) made, or whose owner, group or mode was put back.
  type: list
  elements: str
  returned: always
written:
  description: The paths whose content was (or in check mode would be) written.
  type: list
  elements: str
  returned: always
fixed:
  description: The paths whose content was right and whose owner, group or mode was (or would be) put back.
  type: list
  elements: str
  returned: always
diff:
  description: One before/after pair per file written, in diff mode.
  type: list
  elements: dict
  returned: in diff mode, when a file is written
'''

import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_fs import atomic_write


class FilesError(Exception):
    pass


def parse_mode(text):
    try:
        mode = int(str(text), 8)
    except ValueError:
        raise FilesError("mode %r is not an octal number such as \"0644\"" % (text,))
    if mode < 0 or mode > 0o7777:
        raise FilesError("mode %r is out of range" % (text,))
    return mode


def ids(owner, group):
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise FilesError("no user %r on this host" % (owner,))
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise FilesError("no group %r on this host" % (group,))
    return uid, gid


def account_steps(spec, getpwnam=pwd.getpwnam, getgrnam=grp.getgrnam, getgrgid=grp.getgrgid):
    """The commands that make the account right, each with what it does:
    [(argv, note)], group first."""
    steps = []
    name, group = spec["name"], spec["group"]
    try:
        have_group = getgrnam(group)
    except KeyError:
        have_group = None
    if have_group is None:
        argv = ["groupadd", "--system"] + (["--gid", str(spec["gid"])] if spec.get("gid") is not None else []) + [group]
        steps.append((argv, "group %s made" % group))
    elif spec.get("gid") is not None and have_group.gr_gid != spec["gid"]:
        steps.append((["groupmod", "--gid", str(spec["gid"]), group],
                      "group %s: gid %d -> %d" % (group, have_group.gr_gid, spec["gid"])))
    try:
        user = getpwnam(name)
    except KeyError:
        user = None
    if user is None:
        argv = ["useradd", "--system", "--gid", group, "--comment", spec.get("comment") or "",
                "--home-dir", spec["home"], "--no-create-home", "--shell", spec["shell"]]
        argv += (["--uid", str(spec["uid"])] if spec.get("uid") is not None else []) + [name]
        steps.append((argv, "user %s made" % name))
        return steps
    change, notes = [], []
    try:
        primary = getgrgid(user.pw_gid).gr_name
    except KeyError:
        primary = None
    if primary != group:
        change += ["--gid", group]
        notes.append("group %s -> %s" % (primary, group))
    if user.pw_dir != spec["home"]:
        change += ["--home", spec["home"]]
        notes.append("home %s -> %s" % (user.pw_dir, spec["home"]))
    if user.pw_shell != spec["shell"]:
        change += ["--shell", spec["shell"]]
        notes.append("shell %s -> %s" % (user.pw_shell, spec["shell"]))
    if spec.get("uid") is not None and user.pw_uid != spec["uid"]:
        change += ["--uid", str(spec["uid"])]
        notes.append("uid %d -> %d" % (user.pw_uid, spec["uid"]))
    if change:
        steps.append((["usermod"] + change + [name], "user %s: %s" % (name, ", ".join(notes))))
    return steps


def run_account(module, spec):
    """Make the account right; the notes of what was (or would be) done."""
    if not spec:
        return []
    steps = account_steps(spec)
    if not module.check_mode:
        for argv, _note in steps:
            binary = module.get_bin_path(argv[0], required=True)
            rc, out, err = module.run_command([binary] + argv[1:])
            if rc != 0:
                raise FilesError("%s failed (rc %d): %s" % (" ".join(argv), rc, (err or out).strip()))
    return [note for _argv, note in steps]


def plan(spec):
    """What one file needs: 'write' (content), 'fix' (owner/group/mode) or
    '', and the old content (None when there is no file)."""
    path = spec["path"]
    want = to_bytes(spec["content"])
    uid, gid = ids(spec["owner"], spec["group"])
    mode = parse_mode(spec["mode"])
    try:
        st = os.lstat(path)
    except OSError:
        return "write", want, uid, gid, mode, None
    if not os.path.isfile(path) or os.path.islink(path):
        raise FilesError("%s exists and is not a regular file" % path)
    with open(path, "rb") as fh:
        old = fh.read()
    if old != want:
        return "write", want, uid, gid, mode, old
    if st.st_uid != uid or st.st_gid != gid or (st.st_mode & 0o7777) != mode:
        return "fix", want, uid, gid, mode, old
    return "", want, uid, gid, mode, old


def plan_directory(spec, check_mode):
    """What one directory needs: 'make', 'fix' or ''. In check mode a user or
    group that does not exist yet (made earlier in the same run) counts as
    a change, not an error."""
    path = spec["path"]
    mode = parse_mode(spec["mode"])
    try:
        uid, gid = ids(spec["owner"], spec["group"])
    except FilesError:
        if not check_mode:
            raise
        uid = gid = None
    try:
        st = os.lstat(path)
    except OSError:
        return "make", uid, gid, mode
    if not os.path.isdir(path) or os.path.islink(path):
        raise FilesError("%s exists and is not a directory" % path)
    if uid is None or st.st_uid != uid or st.st_gid != gid or (st.st_mode & 0o7777) != mode:
        return "fix", uid, gid, mode
    return "", uid, gid, mode


def run_directories(directories, check_mode):
    """Check every directory first, then make or fix them in order."""
    steps = [(spec["path"],) + plan_directory(spec, check_mode) for spec in directories]
    changed = [path for path, action, _uid, _gid, _mode in steps if action]
    if check_mode:
        return changed
    for path, action, uid, gid, mode in steps:
        if action == "make":
            parent = os.path.dirname(path.rstrip("/"))
            if parent and not os.path.isdir(parent):
                os.makedirs(parent, 0o755)
            os.mkdir(path, 0o700)
        if action:
            os.chown(path, uid, gid)
            os.chmod(path, mode)
    return changed


def run(files, check_mode, diffs=None):
    """Check every file first, so a bad owner or mode of a later file stops
    the call before the first write. ``diffs``, a list, receives a
    before/after pair per file written."""
    steps = []
    for spec in files:
        steps.append((spec["path"],) + plan(spec))
    written, fixed = [], []
    for path, action, data, uid, gid, mode, old in steps:
        if action == "write":
            written.append(path)
            if diffs is not None:
                diffs.append({"before_header": path, "after_header": path,
                              "before": to_text(old or b"", errors="surrogate_or_strict"),
                              "after": to_text(data, errors="surrogate_or_strict")})
            if not check_mode:
                atomic_write(path, data, uid, gid, mode)
        elif action == "fix":
            fixed.append(path)
            if not check_mode:
                os.chown(path, uid, gid)
                os.chmod(path, mode)
    return written, fixed


def main():
    module = AnsibleModule(
        argument_spec=dict(
            account=dict(type="dict", options=dict(
                name=dict(type="str", required=True),
                group=dict(type="str", required=True),
                uid=dict(type="int"),
                gid=dict(type="int"),
                home=dict(type="path", required=True),
                shell=dict(type="path", default="/usr/sbin/nologin"),
                comment=dict(type="str", default=""),
            )),
            directories=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                owner=dict(type="str", required=True),
                group=dict(type="str", required=True),
                mode=dict(type="str", required=True),
            )),
            files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                content=dict(type="str", required=True),
                owner=dict(type="str", required=True),
                group=dict(type="str", required=True),
                mode=dict(type="str", required=True),
            )),
        ),
        supports_check_mode=True,
    )
    diffs = [] if module._diff else None
    try:
        account = run_account(module, module.params["account"])
        directories = run_directories(module.params["directories"], module.check_mode)
        written, fixed = run(module.params["files"], module.check_mode, diffs)
    except (FilesError, OSError, IOError) as exc:
        module.fail_json(msg=str(exc))
    result = dict(changed=bool(account or directories or written or fixed), account=account, directories=directories,
                  written=written, fixed=fixed)
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
