# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: every bad setting of the etcd_install role, one sentence each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_install_problems
short_description: Name every bad setting of the etcd_install role
version_added: "0.4.0"
description:
  - The etcd_install role's input check (SAFETY-16, SAFETY-20), run on the controller before any host changes.
  - The release version, the checksum, the architecture (set, or the host's), the mirror URL, the two install
    directories, how many releases to keep, and for an air-gapped install the archive and its SHA256SUMS on the
    controller.
options:
  _input:
    description: C(etcd_install_version).
    type: raw
    required: true
  checksum:
    description: C(etcd_install_checksum) (empty to use the release's SHA256SUMS).
    type: str
    default: ''
  arch:
    description: C(etcd_install_arch) (empty to use the host's).
    type: str
    default: ''
  host_arch:
    description: The host's architecture fact, or none when facts were not gathered.
    type: str
  arch_map:
    description: Host architecture name to etcd release architecture.
    type: dict
    required: true
  base_url:
    description: C(etcd_install_base_url).
    type: str
    required: true
  prefix:
    description: C(etcd_install_prefix).
    type: str
    required: true
  bin_dir:
    description: C(etcd_install_bin_dir).
    type: str
    required: true
  keep_versions:
    description: C(etcd_install_keep_versions).
    type: raw
    required: true
  local_archive:
    description: C(etcd_install_local_archive) as set (empty when the archive is downloaded).
    type: str
    default: ''
  local_archive_path:
    description: That archive's path on the controller.
    type: str
    default: ''
  local_sha256sums:
    description: C(etcd_install_local_sha256sums) as set.
    type: str
    default: ''
  local_sums_path:
    description: The SHA256SUMS file's path on the controller.
    type: str
    default: ''
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Check the install settings
  ansible.builtin.assert:
    that: _bad | length == 0
    fail_msg: "{{ _bad | join(' ') }}"
  vars:
    _bad: >-
      {{ etcd_install_version | quorum.etcd.etcd_install_problems(
           arch_map={'x86_64': 'amd64'}, base_url=etcd_install_base_url, prefix='/opt/etcd',
           bin_dir='/usr/local/bin', keep_versions=2, host_arch=ansible_facts['architecture']) }}
'''

RETURN = r'''
_value:
  description: One sentence per bad setting, each naming its value; empty when every setting is good.
  type: list
  elements: str
'''

import os
import re

from ansible_collections.quorum.etcd.plugins.plugin_utils.etcd_values import shown


def _strip_slashes(path):
    return re.sub(r"(.)/+$", r"\1", path)


def install_problems(version, arch_map, base_url, prefix, bin_dir, keep_versions, checksum="", arch="",
                     host_arch=None, local_archive="", local_archive_path="", local_sha256sums="",
                     local_sums_path=""):
    bad = []
    if not re.match(r"^\d+\.\d+\.\d+$", str(version)):
        bad.append('etcd_install_version=%s is not a release version: expected X.Y.Z with digits only and no'
                   ' leading "v" (for example "3.6.16").' % shown(version))
    if checksum and not re.match(r"^[0-9A-Fa-f]{64}$", checksum):
        bad.append("etcd_install_checksum=%s is not a SHA-256 (64 hex characters); leave it empty to use the"
                   " release's SHA256SUMS." % shown(checksum))
    choices = []
    for value in arch_map.values():
        if value not in choices:
            choices.append(value)
    if arch and arch not in choices:
        bad.append("etcd_install_arch=%s is not supported: use one of %s." % (shown(arch), ", ".join(choices)))
    elif not arch and host_arch is not None and host_arch not in arch_map:
        bad.append("Host architecture %s has no etcd release: use one of %s." % (shown(host_arch), ", ".join(choices)))
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", base_url):
        bad.append("etcd_install_base_url=%s is not an http:// or https:// URL (the archive is fetched from"
                   " <base>/v<version>/etcd-v<version>-linux-<arch>.tar.gz)." % shown(base_url))
    if not (re.match(r"^/.*[^/]", prefix) and re.match(r"^/.*[^/]", bin_dir)
            and _strip_slashes(prefix) != _strip_slashes(bin_dir)):
        bad.append("etcd_install_prefix=%s and etcd_install_bin_dir=%s must be two different absolute directories"
                   " other than /." % (shown(prefix), shown(bin_dir)))
    if not re.match(r"^\d+$", str(keep_versions)):
        bad.append("etcd_install_keep_versions=%s must be a whole number, 0 or more." % shown(keep_versions))
    if local_archive:
        # An air-gapped install: the files are on the controller, where filters run.
        if not os.path.isfile(local_archive_path):
            bad.append("etcd_install_local_archive=%s: no such file on the controller (%s)."
                       % (shown(local_archive), local_archive_path))
        if not checksum and not os.path.isfile(local_sums_path):
            if local_sha256sums:
                bad.append("etcd_install_local_sha256sums=%s: no such file on the controller (%s)."
                           % (shown(local_sha256sums), local_sums_path))
            else:
                bad.append("etcd_install_local_archive=%s has nothing to be verified against: no SHA256SUMS next to"
                           " it (%s); set etcd_install_checksum or etcd_install_local_sha256sums."
                           % (shown(local_archive), local_sums_path))
    return bad


class FilterModule(object):
    def filters(self):
        return {"etcd_install_problems": install_problems}
