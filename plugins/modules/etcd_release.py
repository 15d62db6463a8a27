#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_release
short_description: Install one etcd release archive into a versioned directory, verified, in one call
version_added: "0.3.0"
description:
  - Fetches an upstream-layout etcd archive (C(etcd-v<version>-linux-<arch>.tar.gz)) into a private staging
    directory inside O(prefix), checks its SHA-256 before anything is extracted, extracts only the release
    directory's regular files and directories (owned by root, modes normalised), checks that the etcd and
    etcdctl binaries are there, and renames the release directory to C(<prefix>/v<version>) in one step.
  - The staging directory is removed whatever happens, so a failure leaves no version directory and the
    next run starts over (SAFETY-16 in the collection's docs/SAFETY.md). The links in the bin directory are
    only touched when O(link) is given, and then only after the release is in place.
  - When C(<prefix>/v<version>) already holds etcd and etcdctl, nothing is fetched and nothing changes.
    Any other content there is refused, since this module only ever creates that directory in one rename.
  - The expected SHA-256 is given (O(checksum)) or read by the node from the release's checksum list
    (O(checksum_url), only when the release must be installed), as M(ansible.builtin.get_url) does with
    a checksum URL.
  - One remote call where a chain of uri, tempfile, get_url, stat, unarchive and command tasks made eight.
    Uses only the Python standard library and Ansible's own URL helpers.
author:
  - quorum.etcd maintainers (@quorum)
attributes:
  check_mode:
    description: Reports whether the release would be installed; fetches and writes nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  prefix:
    description: Directory that holds one sub-directory per installed version. Created (root, 0755) if missing.
    type: path
    required: true
  version:
    description: The etcd version, without a leading C(v) (for example C(3.6.16)).
    type: str
    required: true
  top:
    description: Name of the release directory inside the archive (for example C(etcd-v3.6.16-linux-amd64)).
    type: str
    required: true
  url:
    description:
      - HTTP(S) address of the archive. Proxies come from the task's environment, as for M(ansible.builtin.get_url).
      - Exactly one of O(url) and O(src) is given.
    type: str
  src:
    description: Path of the archive on the managed node (for example one copied from the controller). It is not removed.
    type: path
  checksum:
    description:
      - The expected SHA-256 of the archive, 64 hexadecimal digits.
      - Exactly one of O(checksum) and O(checksum_url) is given.
    type: str
  checksum_url:
    description:
      - HTTP(S) address of a checksum list in C(sha256sum) format (the release's C(SHA256SUMS)), fetched on the
        node only when the release must be installed. The line for the archive's file name (the last part of
        O(url)) gives the expected SHA-256; a list without that line is refused before the archive is fetched.
      - Needs O(url).
    type: str
    version_added: "0.4.0"
  checksum_from:
    description:
      - Where O(checksum) came from, for the error message when the archive does not match.
      - With O(checksum_url), that address is named instead.
    type: str
    default: the given checksum
  validate_certs:
    description: Verify the server's TLS certificate for an C(https) O(url).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the server to answer.
    type: int
    default: 60
  link:
    description:
      - Once the release is in place (installed now or found), point the links of O(link.binaries) at it and
        make the removals, in the same call, exactly as M(quorum.etcd.etcd_links) does with
        C(release_dir=<prefix>/v<version>). A first install is then one remote call instead of two.
      - Its names are checked before anything is fetched; a failed install links nothing.
    type: dict
    version_added: "0.4.0"
    suboptions:
      bin_dir:
        description: The directory of the links (for example C(/usr/local/bin)).
        type: path
        required: true
      binaries:
        description:
          - The binaries to link. Those the release does not have (C(etcdutl) before etcd 3.5) are unlinked
            instead, as if named in O(link.unlink).
        type: list
        elements: str
        required: true
      unlink:
        description: Binaries whose link in O(link.bin_dir) is removed when it is a symbolic link.
        type: list
        elements: str
        default: []
      remove:
        description: Names of entries of O(prefix) to remove, each C(v<version>) or C(.etcd-install-...).
        type: list
        elements: str
        default: []
'''

EXAMPLES = r'''
- name: Install etcd 3.6.16 from the upstream release page
  quorum.etcd.etcd_release:
    prefix: /opt/etcd
    version: 3.6.16
    top: etcd-v3.6.16-linux-amd64
    url: https://github.com/etcd-io/etcd/releases/download/v3.6.16/etcd-v3.6.16-linux-amd64.tar.gz
    checksum: "{{ expected_sha256 }}"

- name: Install etcd 3.6.16, checked against the release's own checksum list
  quorum.etcd.etcd_release:
    prefix: /opt/etcd
    version: 3.6.16
    top: etcd-v3.6.16-linux-amd64
    url: https://github.com/etcd-io/etcd/releases/download/v3.6.16/etcd-v3.6.16-linux-amd64.tar.gz
    checksum_url: https://github.com/etcd-io/etcd/releases/download/v3.6.16/SHA256SUMS
'''

RETURN = r'''
path:
  description: The version directory, C(<prefix>/v<version>).
  type: str
  returned: always
binaries:
  description: Which of etcd, etcdctl and etcdutl the version directory holds (after the install).
  type: list
  elements: str
  returned: always
sha256:
  description: The SHA-256 of the fetched archive (empty when nothing was fetched).
  type: str
  returned: always
links:
  description: What O(link) changed (or in check mode would change), as M(quorum.etcd.etcd_links) returns it.
  type: dict
  returned: when O(link) is given
  sample: {linked: [/usr/local/bin/etcd, /usr/local/bin/etcdctl], unlinked: [], removed: []}
checksum_from:
  description: Where the expected SHA-256 came from (O(checksum_from), or O(checksum_url) when it was read there).
  type: str
  returned: always
'''

import hashlib
import os
import re
import shutil
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_links import LinkError
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_links import apply as apply_links
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_links import check as check_links

BINARIES = ("etcd", "etcdctl", "etcdutl")
REQUIRED = ("etcd", "etcdctl")
CHUNK = 1 << 16


class ReleaseError(Exception):
    pass


def binaries_in(path):
    return [b for b in BINARIES if os.path.isfile(os.path.join(path, b)) and os.access(os.path.join(path, b), os.X_OK)]


def copy_and_hash(source, dest):
    """Copy a readable stream to a new file ``dest`` (0600) and return its SHA-256."""
    digest = hashlib.sha256()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while True:
            block = source.read(CHUNK)
            if not block:
                break
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def extract(archive, staging, top):
    """Extract the members under ``top/`` of a verified archive into
    ``staging``: regular files and directories only, nothing outside ``top``,
    root-owned when run as root, files 0755 if executable else 0644, and
    directories 0755. Anything else in the archive is refused."""
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            name = member.name.rstrip("/")
            while name.startswith("./"):
                name = name[2:]
            parts = name.split("/")
            if name != top and (parts[0] != top or ".." in parts or "" in parts or name.startswith("/")):
                raise ReleaseError("the archive has %r, outside %s/" % (member.name, top))
            dest = os.path.join(staging, *parts)
            if member.isdir():
                if not os.path.isdir(dest):
                    os.makedirs(dest, 0o755)
                os.chmod(dest, 0o755)
            elif member.isfile():
                parent = os.path.dirname(dest)
                if not os.path.isdir(parent):
                    os.makedirs(parent, 0o755)
                mode = 0o755 if member.mode & 0o111 else 0o644
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(tar.extractfile(member), out, CHUNK)
                os.chmod(dest, mode)
            else:
                raise ReleaseError("the archive has %r, which is neither a file nor a directory" % member.name)
            if os.geteuid() == 0:
                os.chown(dest, 0, 0)


def archive_name(params):
    """The archive's file name, as a checksum list names it."""
    where = params["url"] or params["src"] or ""
    return where.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def checksum_from_list(text, name, version, where):
    """The SHA-256 that a sha256sum-format list ``text`` gives for ``name``
    (``<64 hex> <space or *><name>`` lines), else ReleaseError (SAFETY-16)."""
    for line in text.splitlines():
        match = re.match(r"^([0-9A-Fa-f]{64}) [ *](.+)$", line.strip())
        if match and match.group(2) == name:
            return match.group(1).lower()
    raise ReleaseError("etcd %s: %s has no SHA-256 line for %s, so the archive cannot be verified; nothing was "
                       "downloaded or changed (SAFETY-16)." % (version, where, name))


def install(params, open_source, check_mode=False, read_sums=None):
    """Install the release; return (changed, result dict). ``open_source``
    returns a readable stream of the archive (the URL or the node's file);
    ``read_sums`` returns the text of the checksum list at
    ``params["checksum_url"]``, read only when the release is installed."""
    version, prefix, top = params["version"], params["prefix"], params["top"]
    expected = (params.get("checksum") or "").lower()
    if params.get("checksum_url"):
        if expected:
            raise ReleaseError("give checksum or checksum_url, not both")
    elif not re.match(r"^[0-9a-f]{64}$", expected):
        raise ReleaseError("checksum %r is not a SHA-256 (64 hexadecimal digits)" % params.get("checksum"))
    if not re.match(r"^[A-Za-z0-9._-]+$", top) or top in (".", ".."):
        raise ReleaseError("top %r is not a plain directory name" % top)
    final = os.path.join(prefix, "v" + version)
    checksum_from = params["checksum_url"] if params.get("checksum_url") else params["checksum_from"]
    result = {"path": final, "binaries": [], "sha256": "", "checksum_from": checksum_from}
    if os.path.lexists(final):
        present = binaries_in(final) if os.path.isdir(final) and not os.path.islink(final) else []
        if "etcd" in present and "etcdctl" in present:
            result["binaries"] = present
            return False, result
        raise ReleaseError(
            "%s exists but has no etcd and etcdctl binaries. The version directory is only ever created in one "
            "rename, so that one is not ours: inspect it, remove it, and run again." % final)
    if check_mode:
        return True, result
    if not expected:
        # Read before anything is fetched or made: a list without the
        # archive's line stops here with nothing changed.
        expected = checksum_from_list(read_sums(), archive_name(params), version, checksum_from)
    if not os.path.isdir(prefix):
        os.makedirs(prefix, 0o755)
        os.chmod(prefix, 0o755)
        if os.geteuid() == 0:
            os.chown(prefix, 0, 0)
    # In the prefix, so the final move is a rename on one file system; the
    # leading dot keeps it out of the role's version list, and the role
    # removes a staging dir left by a killed run.
    staging = tempfile.mkdtemp(prefix=".etcd-install-v%s-" % version, dir=prefix)
    try:
        archive = os.path.join(staging, top + ".tar.gz")
        source = open_source()
        try:
            got = copy_and_hash(source, archive)
        finally:
            source.close()
        result["sha256"] = got
        if got != expected:
            raise ReleaseError(
                "etcd %s: SHA-256 mismatch for %s: expected %s (from %s), got %s. Nothing was extracted; the links "
                "and the running etcd are unchanged (SAFETY-16)."
                % (version, params["url"] or params["src"], expected, checksum_from, got))
        extract(archive, staging, top)
        present = binaries_in(os.path.join(staging, top))
        if "etcd" not in present or "etcdctl" not in present:
            raise ReleaseError(
                "etcd %s: %s passed its checksum but has no %s/etcd and %s/etcdctl (is it the archive of another "
                "version or architecture?). Nothing was installed." % (version, params["url"] or params["src"], top, top))
        os.rename(os.path.join(staging, top), final)
        result["binaries"] = present
        return True, result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install_and_link(params, open_source, check_mode=False, read_sums=None):
    """install(), then the links of ``params["link"]`` when given (SAFETY-16:
    their names are refused before anything is fetched; a failed install
    raises before any link changes)."""
    link = params.get("link")
    if link:
        link = dict(link, release_dir=os.path.join(params["prefix"], "v" + params["version"]),
                    prefix=params["prefix"])
        # The release may not exist yet: check names only (check_mode=True
        # skips the binaries, which are looked for again in apply()).
        check_links(link, check_mode=True)
    changed, result = install(params, open_source, check_mode, read_sums)
    if link:
        present = result["binaries"]
        if present:
            # A binary the release lacks (etcdutl before etcd 3.5) is
            # unlinked, not linked, as etcd_install decides for etcd_links.
            link["unlink"] = list(link["unlink"]) + [b for b in link["binaries"] if b not in present]
            link["binaries"] = [b for b in link["binaries"] if b in present]
        result["links"] = apply_links(link, check_mode)
        changed = changed or any(result["links"].values())
    return changed, result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            prefix=dict(type="path", required=True),
            version=dict(type="str", required=True),
            top=dict(type="str", required=True),
            url=dict(type="str"),
            src=dict(type="path"),
            checksum=dict(type="str"),
            checksum_url=dict(type="str"),
            checksum_from=dict(type="str", default="the given checksum"),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=60),
            link=dict(type="dict", options=dict(
                bin_dir=dict(type="path", required=True),
                binaries=dict(type="list", elements="str", required=True),
                unlink=dict(type="list", elements="str", default=[]),
                remove=dict(type="list", elements="str", default=[]),
            )),
        ),
        mutually_exclusive=[("url", "src"), ("checksum", "checksum_url")],
        required_one_of=[("url", "src"), ("checksum", "checksum_url")],
        required_by={"checksum_url": "url"},
        supports_check_mode=True,
    )
    params = module.params

    def open_source():
        if params["src"]:
            return open(params["src"], "rb")
        response, info = fetch_url(module, params["url"], timeout=params["timeout"])
        if response is None or info.get("status") != 200:
            raise ReleaseError("etcd %s: downloading %s failed: HTTP %s %s. Nothing was installed."
                               % (params["version"], params["url"], info.get("status"), info.get("msg", "")))
        return response

    def read_sums():
        response, info = fetch_url(module, params["checksum_url"], timeout=params["timeout"])
        if response is None or info.get("status") != 200:
            raise ReleaseError("etcd %s: reading the checksum list %s failed: HTTP %s %s. Nothing was downloaded or "
                               "changed." % (params["version"], params["checksum_url"], info.get("status"),
                                             info.get("msg", "")))
        try:
            return response.read().decode("utf-8", "replace")
        finally:
            response.close()

    try:
        changed, result = install_and_link(params, open_source, module.check_mode, read_sums)
    except (ReleaseError, LinkError, OSError, IOError, tarfile.TarError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
