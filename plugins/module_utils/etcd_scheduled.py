# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""What the programs of the members' timers share (the scheduled backup,
roles/etcd_backup/files/etcd_backup_run.py, and the scheduled maintenance,
roles/etcd_maintenance/files/etcd_maintenance_run.py; each role installs a
copy of this file next to its program): running etcdctl and etcdutl,
reading their JSON, one exception that names a failed step, and writing a
state file atomically, 0600.

Standard library only; no Ansible import (the programs run with the
member's Python)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import tempfile


class Refused(Exception):
    """A step that failed, with the sentence that names it."""


def run(argv):
    """(exit code, standard output, the last line of standard error)."""
    # Not run_command: no AnsibleModule exists here; the timers' programs
    # import this file with the member's plain Python (see the docstring).
    res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                         universal_newlines=True, check=False)
    return res.returncode, res.stdout, (res.stderr.strip().splitlines() or [""])[-1]


def run_json(argv, what, allow_rc=(0,)):
    """The JSON ``argv`` prints; Refused naming ``what`` when it exits with
    another code than ``allow_rc`` or prints no JSON."""
    rc, out, err = run(argv)
    if rc not in allow_rc:
        raise Refused("%s failed (exit %d): %s" % (what, rc, err))
    try:
        return json.loads(out)
    except ValueError:
        raise Refused("%s printed no JSON: %s" % (what, (out or err)[:300]))


def write_json(path, data):
    """Replace ``path`` with ``data`` as JSON, mode 0600, synced first, so a
    reader sees the old file or the new one, never part of one."""
    fd, tmp = tempfile.mkstemp(prefix=".state.", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
