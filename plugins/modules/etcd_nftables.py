#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_nftables
short_description: Write, load and persist one nftables table file of its own, in one call
version_added: "0.4.0"
description:
  - Writes O(content) to O(file) (root, 0644) when it differs, after C(nft -c -f) accepted it under a
    temporary name in the same directory, which is then renamed over the old file. A content nft refuses
    changes nothing.
  - Loads the file with C(nft -f) when it was written or when table O(family) O(table) is not in the live
    ruleset (someone ran C(nft flush ruleset)). The file is expected to replace its own table in one
    transaction; no other table is touched, and C(nftables.service) is never started or restarted, since its
    configuration usually begins with C(flush ruleset), which would drop every other rule on the host.
  - With O(persist), makes the table load at boot, adding the line C(include "<file>") to O(conf) (checked
    with C(nft -c -f) before it replaces the old one) and enabling, not starting, C(nftables.service).
  - One remote call where the etcd_firewall role used five tasks and a handler.
  - Uses only the Python standard library and the node's nft and systemctl.
author:
  - quorum.etcd maintainers (@quorum)
attributes:
  check_mode:
    description: Reports what would change; writes, loads and enables nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  file:
    description: The table file. Its directory is created (root, 0755) when missing.
    type: path
    required: true
  content:
    description: The whole content of O(file).
    type: str
    required: true
  table:
    description: The name of the table the file defines.
    type: str
    required: true
  family:
    description: The family of the table.
    type: str
    default: inet
  persist:
    description: Whether the table is loaded at boot (the include line in O(conf), C(nftables.service) enabled).
    type: bool
    default: true
  conf:
    description: The configuration C(nftables.service) loads at boot. Created (root, 0755) when missing.
    type: path
    default: /etc/nftables.conf
'''

EXAMPLES = r'''
- name: Open the etcd ports with a table of our own
  quorum.etcd.etcd_nftables:
    file: /etc/nftables.d/quorum-etcd.nft
    content: "{{ lookup('ansible.builtin.template', 'quorum-etcd.nft.j2') }}"
    table: quorum_etcd
'''

RETURN = r'''
written:
  description: Whether O(file) was (or would be) written.
  type: bool
  returned: always
loaded:
  description: Whether the table was (or would be) loaded into the live ruleset.
  type: bool
  returned: always
included:
  description: Whether the include line was (or would be) added to O(conf).
  type: bool
  returned: always
enabled:
  description: Whether C(nftables.service) was (or would be) enabled.
  type: bool
  returned: always
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_fs import atomic_write

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class NftError(Exception):
    pass


def _same_file(path, content, mode):
    """Whether ``path`` holds ``content`` with ``mode`` (and, run as root,
    owned by root:root)."""
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            same = fh.read() == content.encode("utf-8")
    except (IOError, OSError):
        return False
    if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
        return False
    return same and st.st_mode & 0o7777 == mode


def _write_checked(path, content, mode, nft):
    """Write ``content`` over ``path`` (root-owned when run as root) once
    ``nft -c -f`` accepted it under a temporary name beside it."""
    def nft_check(tmp):
        rc, out, err = nft(["-c", "-f", tmp])
        if rc != 0:
            raise NftError("nft refused %s (checked as %s, nothing was changed): %s"
                           % (path, tmp, (err or out).strip()))

    owner = 0 if os.geteuid() == 0 else os.geteuid()
    group = 0 if os.geteuid() == 0 else os.getegid()
    atomic_write(path, content.encode("utf-8"), owner, group, mode, check=nft_check)


def apply(params, nft, systemctl, check_mode=False):
    """Bring the file, the live table, the include line and the service
    right; return the result dict. ``nft`` and ``systemctl`` run the tool
    with the given arguments and return (rc, stdout, stderr)."""
    if not NAME.match(params["table"]) or not NAME.match(params["family"]):
        raise NftError("table %r or family %r is not an nftables name" % (params["table"], params["family"]))
    path, conf = params["file"], params["conf"]
    include = 'include "%s"' % path
    result = {"written": not _same_file(path, params["content"], 0o644), "loaded": False,
              "included": False, "enabled": False}
    live = nft(["list", "table", params["family"], params["table"]])[0] == 0
    result["loaded"] = result["written"] or not live
    if params["persist"]:
        try:
            with open(conf) as fh:
                lines = fh.read().splitlines()
        except (IOError, OSError):
            lines = None
        result["included"] = lines is None or include not in [line.rstrip() for line in lines]
        result["enabled"] = systemctl(["is-enabled", "nftables.service"])[1].strip() != "enabled"
    if check_mode:
        return result
    if result["written"]:
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
            os.chmod(directory, 0o755)
            if os.geteuid() == 0:
                os.chown(directory, 0, 0)
        _write_checked(path, params["content"], 0o644, nft)
    if result["loaded"]:
        rc, out, err = nft(["-f", path])
        if rc != 0:
            raise NftError("nft -f %s failed: %s" % (path, (err or out).strip()))
    if result["included"]:
        text = "\n".join(lines or ["#!/usr/sbin/nft -f"]) + "\n" + include + "\n"
        mode = os.stat(conf).st_mode & 0o7777 if lines is not None else 0o755
        _write_checked(conf, text, mode, nft)
    if result["enabled"]:
        rc, out, err = systemctl(["enable", "nftables.service"])
        if rc != 0:
            raise NftError("systemctl enable nftables.service failed: %s" % (err or out).strip())
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            file=dict(type="path", required=True),
            content=dict(type="str", required=True),
            table=dict(type="str", required=True),
            family=dict(type="str", default="inet"),
            persist=dict(type="bool", default=True),
            conf=dict(type="path", default="/etc/nftables.conf"),
        ),
        supports_check_mode=True,
    )
    nft_bin = module.get_bin_path("nft", required=not module.check_mode)
    if nft_bin is None:  # check mode before the package install
        persist = module.params["persist"]
        module.exit_json(changed=True, written=True, loaded=True, included=persist, enabled=persist)

    def nft(args):
        return module.run_command([nft_bin] + args)

    def systemctl(args):
        return module.run_command([module.get_bin_path("systemctl", required=True)] + args)

    try:
        result = apply(module.params, nft, systemctl, module.check_mode)
    except (NftError, OSError, IOError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=any(result.values()), **result)


if __name__ == "__main__":
    main()
