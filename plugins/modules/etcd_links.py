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

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_links import LinkError, apply


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
