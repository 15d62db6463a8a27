# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""File writes shared by the modules that run on the nodes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile


def atomic_write(path, data, uid, gid, mode, check=None):
    """Write ``data`` to a temporary file next to ``path`` (created 0600;
    owner, group and then mode set before it is visible, chmod last so that
    chown cannot clear set-id bits), then rename it over ``path``: a reader
    sees the old file or the new one, never a part. ``check``, when given,
    is called with the temporary file's path before the rename and may
    raise to keep the old file (etcd_nftables: ``nft -c -f``). Nothing is
    left behind on failure."""
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        if check is not None:
            check(tmp)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
