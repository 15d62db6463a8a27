# -*- coding: utf-8 -*-
"""Debian trixie's Python 3.13 as the controller of the lab's venvs.

ansible-core 2.20 and 2.21 need Python 3.12 or newer on the controller;
Debian bookworm (these machines) has 3.11, and pyenv's builds here are
compiled without profile-guided and link-time optimisation (CONFIG_ARGS has
neither). Debian builds its python3.13 with both. Measured on the lab
machine (2026-12-07): a Jinja-compile and JSON workload took 1.70 CPU-s
against 2.38 on pyenv's 3.13.0; a converged 3-member site.yml re-run
10 to 15 % less user CPU on the controller. Most of the suite is such
controller work (ansible-playbook, Molecule, ansible-lint, pylint).

trixie's interpreter needs trixie's C library (2.41; bookworm has 2.36), so
it is unpacked with the libraries it links against into a directory of its
own, and the binary is pointed at that directory's loader and libraries
(patchelf --set-interpreter, --set-rpath). Nothing is installed on the
host but patchelf; programs it starts (docker, git) run as they always do.
The packages come from the Debian mirror the machine uses: the suite's
InRelease is verified with gpgv against the machine's Debian archive
keyring, Packages.xz against its SHA-256 there, each .deb against its
SHA-256 in Packages. Kept machine-wide, keyed by the package versions.

Debian ships ensurepip apart (python3.13-venv, with its own wheels), so
venvs of this interpreter are made --without-pip and get pip unpacked from
its wheel (see venvs.build_venv). When anything here fails (no mirror, no
patchelf, a checksum), ``ensure`` logs why and returns None, and the lab
takes the other Pythons it finds, as before.

Standard library only: the lab runs before its venv exists."""

from __future__ import annotations

import fcntl
import hashlib
import lzma
import os
import shutil
import subprocess
import tempfile
import urllib.request

from .base import apt_install, log, system_env
from .engine import debian_mirror

SUITE = "trixie"
# python3.13-minimal's and libpython3.13-stdlib's dependencies that the
# interpreter and the standard library's extension modules load.
PACKAGES = (
    "python3.13-minimal", "libpython3.13-minimal", "libpython3.13-stdlib", "libc6", "libexpat1", "zlib1g",
    "libssl3t64", "libffi8", "libbz2-1.0", "liblzma5", "libsqlite3-0", "libmpdec4", "libuuid1", "libzstd1",
    "libcrypt1", "libtinfo6", "libncursesw6",
)
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
INDEX = "main/binary-amd64/Packages.xz"
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                     "quorum-etcd-lab", "python-" + SUITE)
LIBDIR = "usr/lib/x86_64-linux-gnu"
BINARY = "usr/bin/python3.13"
# What a controller needs from the standard library: a failed import here
# means a missing library, and the interpreter is not used.
SMOKE = "import bz2, ctypes, hashlib, lzma, pyexpat, sqlite3, ssl, sys, uuid, venv, zlib; print(*sys.version_info[:2])"


class DebPythonError(Exception):
    pass


def release_sha256(signed: str, path: str) -> str:
    """The SHA-256 an (already verified) Release text gives for ``path``."""
    section = False
    for line in signed.splitlines():
        if not line.startswith(" "):
            section = line.rstrip() == "SHA256:"
            continue
        words = line.split()
        if section and len(words) == 3 and words[2] == path:
            return words[0]
    raise DebPythonError(f"{path} is not listed in the Release file's SHA256 section")


def parse_packages(text: str, wanted) -> dict:
    """name -> (Filename, SHA256, Version) for the ``wanted`` packages of a
    Packages index; every one must be there."""
    found = {}
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line and not line.startswith(" ") and ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        if fields.get("Package") in wanted and fields.get("Architecture") in ("amd64", "all"):
            found[fields["Package"]] = (fields["Filename"], fields["SHA256"], fields["Version"])
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise DebPythonError(f"not in {SUITE}'s Packages index: {', '.join(missing)}")
    return found


def checked(data: bytes, sha256: str, what: str) -> bytes:
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise DebPythonError(f"{what} has SHA-256 {got}, expected {sha256}")
    return data


def _fetch(base: str, rel: str) -> bytes:
    with urllib.request.urlopen(f"{base.rstrip('/')}/{rel}", timeout=300) as resp:
        return resp.read()


def _verified_release(base: str) -> str:
    with tempfile.TemporaryDirectory(prefix="inrelease-") as tmp:
        path = os.path.join(tmp, "InRelease")
        with open(path, "wb") as fh:
            fh.write(_fetch(base, f"dists/{SUITE}/InRelease"))
        res = subprocess.run(["gpgv", "--keyring", KEYRING, "--output", "-", path], capture_output=True,
                             check=False, env=system_env())
        if res.returncode != 0:
            raise DebPythonError(f"gpgv refused {SUITE}'s InRelease: {res.stderr.decode(errors='replace').strip()}")
        return res.stdout.decode()


def _build(base: str) -> str:
    release = _verified_release(base)
    index = lzma.decompress(checked(_fetch(base, f"dists/{SUITE}/{INDEX}"), release_sha256(release, INDEX),
                                    INDEX)).decode()
    debs = parse_packages(index, PACKAGES)
    key = hashlib.sha256(" ".join(f"{name}={debs[name][2]}" for name in sorted(debs)).encode()).hexdigest()[:12]
    dest = os.path.join(CACHE, key)
    if not shutil.which("patchelf"):
        apt_install("patchelf")
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name in PACKAGES:
        filename, sha256, _version = debs[name]
        deb = os.path.join(tmp, os.path.basename(filename))
        with open(deb, "wb") as fh:
            fh.write(checked(_fetch(base, filename), sha256, filename))
        subprocess.run(["dpkg-deb", "-x", deb, tmp], check=True, env=system_env())
        os.remove(deb)
    binary = os.path.join(tmp, BINARY)
    libdir = os.path.join(dest, LIBDIR)  # the final place: the paths are written into the binary
    subprocess.run(["patchelf", "--set-interpreter", os.path.join(libdir, "ld-linux-x86-64.so.2"),
                    "--set-rpath", libdir, "--force-rpath", binary], check=True, env=system_env())
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    binary = os.path.join(dest, BINARY)
    res = subprocess.run([binary, "-c", SMOKE], capture_output=True, text=True, check=False, env=system_env())
    if res.returncode != 0 or res.stdout.split() != ["3", "13"]:
        raise DebPythonError(f"{binary} does not run: {(res.stderr or res.stdout).strip()[-300:]}")
    with open(os.path.join(dest, "ready"), "w") as fh:
        fh.write(" ".join(f"{name}={debs[name][2]}" for name in PACKAGES) + "\n")
    log(f"controller Python: Debian {SUITE}'s python3.13 {debs['python3.13-minimal'][2]} in {dest}")
    return binary


_CHOSEN: list = []  # this process's answer: one interpreter for every venv it makes


def ensure():
    """Path of the patched python3.13, made once per machine (a made one is
    used as it is, without asking the mirror again); None, with the reason
    logged, when it cannot be had here."""
    if not _CHOSEN:
        _CHOSEN.append(_ensure())
    return _CHOSEN[0]


def _ensure():
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the matrix venvs are made side by side
        ready = sorted((os.path.getmtime(os.path.join(CACHE, d, "ready")), d) for d in os.listdir(CACHE)
                       if os.path.exists(os.path.join(CACHE, d, "ready")))
        if ready:
            return os.path.join(CACHE, ready[-1][1], BINARY)
        errors = []
        for base in dict.fromkeys([debian_mirror().rstrip("/"), "http://deb.debian.org/debian"]):
            try:
                return _build(base)
            except (OSError, DebPythonError, subprocess.CalledProcessError, lzma.LZMAError, SystemExit) as exc:
                errors.append(f"{base}: {exc}")
        log(f"controller Python: Debian {SUITE}'s python3.13 not available ({'; '.join(errors)}); "
            "using the other Pythons found")
        return None
