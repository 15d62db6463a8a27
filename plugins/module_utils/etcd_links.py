# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pointing the etcd binaries' links at one installed release and removing
older releases (SAFETY-16): shared by the etcd_links module and by
etcd_release, which links in the same call as a first install."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil

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
