# -*- coding: utf-8 -*-
"""Paths, names and versions the lab is built on, and how it runs commands.

Standard library only: the lab runs before its venv exists."""

from __future__ import annotations

import glob
import hashlib
import os
import subprocess
import threading


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(ROOT, ".lab")
VENV = os.path.join(ROOT, ".venv")
NETWORK = "quorum-etcd-lab"
MIRROR_NAME = "quorum-etcd-mirror"
MIRROR_PORT = 8080
MIRROR_URL = f"http://{MIRROR_NAME}:{MIRROR_PORT}"
# Versions the mirror serves: (version, source). "go" versions are built from
# etcd's own modules on the Go module proxy (build_etcd_with_go): the newest
# patch of each line the collection supports, and 3.7.2 for the Molecule
# upgrade scenario's patch rollback. "pool" is the pinned Debian build of
# 3.5.16 (POOL_DEBS): a 3.5 below 3.5.32, which may not go to 3.6, where the
# upgrade scenario starts.
MIRROR_VERSIONS = [("3.6.16", "go"), ("3.7.3", "go"), ("3.5.35", "go"), ("3.7.2", "go"), ("3.5.16", "pool")]
# The newest patch of each supported minor line: the modules stage runs
# against a cluster of each.
LINES = {"3.5": "3.5.35", "3.6": "3.6.16", "3.7": "3.7.3"}
# Debian trixie's etcd 3.5.16 packages: pool path and SHA-256 (from trixie's
# Packages index), checked before anything is extracted.
POOL_DEBS = {
    "3.5.16": [
        ("pool/main/e/etcd/etcd-server_3.5.16-4_amd64.deb",
         "0875921bb0d023f2af9b8e15cdfbe417a03e65731345fb832c40f9c2dd72967b"),
        ("pool/main/e/etcd/etcd-client_3.5.16-4_amd64.deb",
         "7eb67e305ba2ce523a5a0b29bf88750ded3f724769c7111a83382b7909f9977b"),
    ],
}
# What the demo and the tests deploy unless they say otherwise: the role's
# default (the newest 3.6 patch).
DEFAULT_VERSION = "3.6.16"
IMAGE_PACKAGES = [
    "systemd", "systemd-sysv", "dbus", "python3", "python3-apt",
    "python3-cryptography", "python3-cffi-backend", "nftables", "iproute2", "procps", "curl",
    "openssl", "ca-certificates", "ufw", "firewalld", "libpam-systemd",
    # The lab's DNS server (nodes.dns_up) for etcd's DNS discovery.
    "dnsmasq-base",
]
# How engine.build_image makes it; a new recipe builds a new image.
# 2: built without the lab's bytecode prefix (base.system_env), so dpkg's
# byte-compiling of Debian's Python packages lands in the image.
IMAGE_RECIPE = "2"
# The tag follows the package list and the recipe, so a change builds a new image.
IMAGE = os.environ.get(
    "LAB_IMAGE",
    "quorum-etcd-lab:bookworm-"
    + hashlib.sha256((" ".join(IMAGE_PACKAGES) + " recipe-" + IMAGE_RECIPE).encode()).hexdigest()[:8])
# What systemd needs to reach "running" in a container here (LAB.md): no
# --privileged (the sandbox lacks CAP_SYS_RESOURCE), explicit caps instead.
CONTAINER_FLAGS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
]


def log(msg: str) -> None:
    print(f"lab: {msg}", flush=True)


def system_env(**extra) -> dict:
    """The environment for the machine's own tools (apt, dpkg, debootstrap,
    chroot): without the lab's bytecode prefix (venvs.bytecode_env), which
    would send the bytecode dpkg compiles for Debian's Python packages into
    the lab's cache instead of their __pycache__ (an image built that way
    on 2026-12-07 had none, and each container's first module run wrote
    some under /usr)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    env.update(extra)
    return env


def run(cmd, check=True, capture=False, env=None, **kw):
    res = subprocess.run(
        cmd, check=False, text=True, env=env,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None, **kw)
    if check and res.returncode != 0:
        detail = (res.stderr or "").strip() if capture else ""
        raise SystemExit(f"lab: command failed ({res.returncode}): {' '.join(cmd)}\n{detail}")
    return res


def ok(cmd) -> bool:
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0


# The test command builds venvs and the lab side by side (threads); dpkg
# takes one install at a time.
_APT_LOCK = threading.Lock()


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise SystemExit(f"lab: missing packages {', '.join(packages)}; install them (root needed)")
    with _APT_LOCK:
        if not glob.glob("/var/lib/apt/lists/*Packages*"):
            run(["apt-get", "update", "-qq"])
        env = system_env(DEBIAN_FRONTEND="noninteractive")
        log(f"apt-get install {' '.join(packages)}")
        run(["apt-get", "install", "-y", "-qq", *packages], env=env)
