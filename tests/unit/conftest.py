# -*- coding: utf-8 -*-
"""Make ``ansible_collections.quorum.etcd`` importable when pytest is run from
the repository root (ansible-test units already runs from inside
ansible_collections/quorum/etcd)."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

if importlib.util.find_spec("ansible_collections") is None or \
        importlib.util.find_spec("ansible_collections.quorum") is None:
    _root = Path(tempfile.mkdtemp(prefix="quorum-etcd-units-"))
    _link = _root / "ansible_collections" / "quorum" / "etcd"
    _link.parent.mkdir(parents=True)
    _link.symlink_to(Path(__file__).resolve().parents[2])
    sys.path.insert(0, str(_root))

# The lab's package and tools (tools/labkit, tools/roledocs.py), for the
# tests of the tools themselves.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
