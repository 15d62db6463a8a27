# -*- coding: utf-8 -*-
"""`ansible-galaxy collection build` works and ships the collection, not the lab."""
from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_build_ships_the_collection_without_lab_files(tmp_path):
    galaxy = Path(sys.executable).with_name("ansible-galaxy")
    subprocess.run([str(galaxy), "collection", "build", "--output-path", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, text=True)
    (tarball,) = tmp_path.glob("quorum-etcd-*.tar.gz")
    with tarfile.open(tarball) as tf:
        names = tf.getnames()
        manifest = json.load(tf.extractfile("MANIFEST.json"))
    for wanted in ("playbooks/site.yml", "roles/etcd_service/tasks/main.yml", "plugins/modules/etcd_member.py",
                   "plugins/module_utils/etcd_client.py", "meta/runtime.yml", "README.md"):
        assert wanted in names, wanted
    for unwanted in (".lab", ".venv", ".ci", "molecule", "tools", "tests/integration", "tests/matrix", ".git"):
        assert not [n for n in names if n == unwanted or n.startswith(unwanted + "/")], unwanted
    # The matrix venvs (.venv-2.19, ...) too: hundreds of MB each.
    assert not [n for n in names if n.startswith(".venv")], sorted({n.split("/")[0] for n in names})
    deps = manifest["collection_info"]["dependencies"]
    assert {"community.crypto", "community.general", "ansible.posix"} <= set(deps)
