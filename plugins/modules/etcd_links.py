#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_links
short_description: Point the etcd binaries' links at one installed release and remove older releases, in one call
version_added: "0.4.0"
description:
  - Makes each link C(<bin_dir>/<name>) of O(binaries) point at C(<release_dir>/<name>), replacing a link to
    elsewhere or a regular file of that name (as M(ansible.builtin.file) with C(state=link) and C(force=true)
    does). Each link is made under a temporary name and renamed over the old one, so C(etcd) is never
    missing for a reader.
  - Removes the links named in O(unlink) (binaries the release does not have), only when they are symbolic
    links, never a regular file.
  - Removes the entries of O(remove) from O(prefix) (older version directories the role no longer keeps,
    and staging directories of interrupted installs). Only names of those two shapes are accepted, and never
    the release being linked; a bad name is refused before anything changes.
  - Creates O(bin_dir) (root, 0755) when it is missing.
  - One remote call where the etcd_install role used five tasks with a loop over the binaries (a call per
    binary and host).
  - Uses only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
attributes:
  check_mode:
    description: Reports what would change, changes nothing. The release may be missing then (its install was only reported).
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  release_dir:
    description: The installed release the links point into, C(<prefix>/v<version>). It must hold every binary of O(binaries).
    type: path
    required: true
  bin_dir:
    description: The directory of the links (for example C(/usr/local/bin)).
    type: path
    required: true
  binaries:
    description: The binaries to link.
    type: list
    elements: str
    required: true
  unlink:
    description: Binaries whose link in O(bin_dir) is removed when it is a symbolic link.
    type: list
    elements: str
    default: []
  prefix:
    description: The directory of the installed versions; O(remove) names entries in it. Defaults to the parent of O(release_dir).
    type: path
  remove:
    description: Names of entries of O(prefix) to remove, each C(v<version>) or C(.etcd-install-...).
    type: list
    elements: str
    default: []
'''

EXAMPLES = r'''
- name: Point the links at etcd 3.6.16 and remove 3.5.21
  quorum.etcd.etcd_links:
    release_dir: /opt/etcd/v3.6.16
    bin_dir: /usr/local/bin
    binaries: [etcd, etcdctl, etcdutl]
    remove: [v3.5.21]
'''

RETURN = r'''
linked:
  description: The links that were (or in check mode would be) made or moved.
  type: list
  elements: str
  returned: always
unlinked:
  description: The links that were (or would be) removed.
  type: list
  elements: str
  returned: always
removed:
  description: The entries of O(prefix) that were (or would be) removed.
  type: list
  elements: str
  returned: always
'''

import os
import re
import shutil

from ansible.module_utils.basic import AnsibleModule

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
REMOVABLE = re.compile(r"^(v[0-9][A-Za-z0-9.+_-]*|\.etcd-install-[A-Za-z0-9._-]+)$")


class LinkError(Exception):
    pass


def check(params, check_mode=False):
    """Refuse bad names before anything changes; return (prefix, release name).
    In check mode the release may not be installed yet (its install was
    only reported), so its binaries are not looked for then."""
    release_dir = params["release_dir"].rstrip("/")
    prefix = (params["prefix"] or os.path.dirname(release_dir)).rstrip("/") or "/"
    release = os.path.basename(release_dir)
    for name in list(params["binaries"]) + list(params["unlink"]):
        if not NAME.match(name):
            raise LinkError("%r is not a binary name" % name)
    for name in params["remove"]:
        if not REMOVABLE.match(name) or name in (".", ".."):
            raise LinkError("refusing to remove %r from %s: only v<version> and .etcd-install-* entries are "
                            "removed" % (name, prefix))
        if os.path.join(prefix, name) == release_dir:
            raise LinkError("refusing to remove %s: it is the release being linked" % release_dir)
    missing = [b for b in params["binaries"] if not os.path.isfile(os.path.join(release_dir, b))]
    if missing and not (check_mode and not os.path.exists(release_dir)):
        raise LinkError("%s has no %s: nothing was linked" % (release_dir, ", ".join(missing)))
    return prefix, release


def apply(params, check_mode=False):
    """Make the links and removals; return the result dict."""
    prefix, _release = check(params, check_mode)
    release_dir, bin_dir = params["release_dir"].rstrip("/"), params["bin_dir"]
    result = {"linked": [], "unlinked": [], "removed": []}
    for name in params["binaries"]:
        link, target = os.path.join(bin_dir, name), os.path.join(release_dir, name)
        if os.path.islink(link) and os.readlink(link) == target:
            continue
        if os.path.isdir(link) and not os.path.islink(link):
            raise LinkError("%s is a directory, not a link: move it away and run again" % link)
        result["linked"].append(link)
    for name in params["unlink"]:
        link = os.path.join(bin_dir, name)
        if name not in params["binaries"] and os.path.islink(link):
            result["unlinked"].append(link)
    for name in params["remove"]:
        if os.path.lexists(os.path.join(prefix, name)):
            result["removed"].append(os.path.join(prefix, name))
    if check_mode:
        return result
    if result["linked"] and not os.path.isdir(bin_dir):
        os.makedirs(bin_dir, 0o755)
        os.chmod(bin_dir, 0o755)
        if os.geteuid() == 0:
            os.chown(bin_dir, 0, 0)
    for link in result["linked"]:
        tmp = "%s.etcd-link-%d" % (link, os.getpid())
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.path.join(release_dir, os.path.basename(link)), tmp)
        os.rename(tmp, link)
    for link in result["unlinked"]:
        os.unlink(link)
    for path in result["removed"]:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            release_dir=dict(type="path", required=True),
            bin_dir=dict(type="path", required=True),
            binaries=dict(type="list", elements="str", required=True),
            unlink=dict(type="list", elements="str", default=[]),
            prefix=dict(type="path"),
            remove=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    try:
        result = apply(module.params, module.check_mode)
    except (LinkError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=any(result.values()), **result)


if __name__ == "__main__":
    main()
