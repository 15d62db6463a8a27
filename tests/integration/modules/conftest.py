# -*- coding: utf-8 -*-
"""Session fixture: a real three-member TLS etcd cluster on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import etcd_lab  # noqa: E402


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    etcd_lab.require_etcd()
    cluster = etcd_lab.Lab(tmp_path_factory.mktemp("etcd"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
