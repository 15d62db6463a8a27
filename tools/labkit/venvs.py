# -*- coding: utf-8 -*-
"""The Python venvs: the main controller and the ansible-core matrix.

Standard library only: the lab runs before its venv exists."""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile

from . import debpython
from .base import LAB, ROOT, VENV, apt_install, log, run


# --------------------------------------------------------------------------
# Python venvs: the main controller and the ansible-core matrix

# The ansible-core releases the collection claims (meta/runtime.yml), oldest
# first. The newest is the main venv (.venv, requirements.txt): the demo, the
# lint stages, the integration tests and every Molecule scenario run on it.
# Each older one gets a venv of its own (.venv-<version>, tests/matrix/) for
# sanity and unit tests, and the oldest runs Molecule default as well.
MATRIX = [
    # (ansible-core line, requirements file, controller Pythons it supports)
    ("2.19", "tests/matrix/ansible-core-2.19.txt", ((3, 11), (3, 13))),
    ("2.20", "tests/matrix/ansible-core-2.20.txt", ((3, 12), (3, 14))),
    ("2.21", "requirements.txt", ((3, 12), (3, 14))),
]
NEWEST = MATRIX[-1][0]


def venv_dir(core: str) -> str:
    return VENV if core == NEWEST else f"{VENV}-{core}"


def python_version(exe: str, need_venv: bool = True):
    """(major, minor) of an interpreter, else None; with ``need_venv`` only
    if it also has venv and ensurepip (Debian ships those apart)."""
    modules = "sys, ensurepip, venv" if need_venv else "sys"
    try:
        res = subprocess.run([exe, "-c", f"import {modules}; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=120, check=False)
        major, minor = res.stdout.split()
        return (int(major), int(minor)) if res.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None  # e.g. a pyenv shim for a version that is not the active one


def find_python(core: str, supported) -> str:
    """A controller Python in the line's supported range: $LAB_PYTHON, else
    Debian trixie's python3.13 (debpython: built with PGO and LTO, unlike
    pyenv's here), else the newest of python3.N on PATH, /usr/bin,
    /usr/local/bin and pyenv's versions (ansible-core 2.20+ need 3.12+,
    Debian bookworm's python3 is 3.11). A Debian python3.N without
    ensurepip gets python3.N-venv."""
    low, high = supported
    wanted = f"Python {low[0]}.{low[1]} to {high[0]}.{high[1]}"
    if os.environ.get("LAB_PYTHON"):
        exe = os.environ["LAB_PYTHON"]
        if not low <= (python_version(exe) or (0, 0)) <= high:
            raise SystemExit(f"lab: LAB_PYTHON={exe} is not a {wanted} with venv (ansible-core {core})")
        return exe
    if low <= (3, 13) <= high:
        deb = debpython.ensure()
        if deb:
            return deb
    # Inside a venv, the interpreter it was made from (a venv is no base).
    candidates = [os.path.join(sys.base_prefix, "bin", "python3"), shutil.which("python3") or ""]
    for minor in range(high[1], low[1] - 1, -1):
        candidates += [shutil.which(f"python3.{minor}") or "", f"/usr/bin/python3.{minor}",
                       f"/usr/local/bin/python3.{minor}"]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += glob.glob(os.path.join(pyenv_root, "versions", "3.*", "bin", "python3"))
    candidates = list(dict.fromkeys(c for c in candidates if c and os.path.exists(c)))
    found = [(v, exe) for exe in candidates for v in [python_version(exe)] if v and low <= v <= high]
    if not found:
        # Debian and Ubuntu ship ensurepip apart, in python3.N-venv.
        bare = sorted(((v, exe) for exe in candidates for v in [python_version(exe, need_venv=False)]
                       if v and low <= v <= high and exe.startswith("/usr/bin/")), reverse=True)
        if bare:
            apt_install(f"python3.{bare[0][0][1]}-venv")
            found = [(v, exe) for v, exe in bare if python_version(exe)]
    if not found:
        raise SystemExit(
            f"lab: ansible-core {core} needs a {wanted} with venv/ensurepip on the controller and none was found; "
            "install one (e.g. Debian trixie's python3.13 with python3.13-venv) or point LAB_PYTHON at it")
    return max(found)[1]  # the newest that qualifies


def _stamp_text(requirements: str) -> str:
    with open(os.path.join(ROOT, requirements), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


# The pip a venv gets when its interpreter has no ensurepip (Debian's).
VENV_PIP = "25.2"


def build_venv(core: str) -> str:
    """Create or refresh the venv of one ansible-core line; return its python."""
    requirements, supported = next((r, p) for c, r, p in MATRIX if c == core)
    venv = venv_dir(core)
    py = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, ".requirements.sha256")
    have = open(stamp).read().strip() if os.path.exists(stamp) else ""
    base = find_python(core, supported)
    # A venv made from another interpreter (an earlier choice, a Python
    # outside the line's range) is rebuilt, not patched.
    made_from = os.path.join(venv, ".base-python")
    if not os.path.exists(py) or not os.path.exists(made_from) or open(made_from).read().strip() != base:
        shutil.rmtree(venv, ignore_errors=True)
        log(f"creating {os.path.relpath(venv, ROOT)} with {base} (ansible-core {core})")
        if python_version(base):
            run([base, "-m", "venv", venv])
        else:  # no ensurepip (Debian's): pip unpacked from its wheel
            run([base, "-m", "venv", "--without-pip", venv])
            unpack_wheels(py, [pip_wheel(VENV_PIP)])
        with open(made_from, "w") as fh:
            fh.write(base + "\n")
        have = ""
    want = _stamp_text(requirements)
    if have != want:
        log(f"installing pinned Python packages into {os.path.relpath(venv, ROOT)} ({requirements})")
        # --no-compile: pip's byte-compiling of every installed file (the
        # ansible package's collections are most of them) was about 30 of
        # the 45 CPU-seconds of an install from pip's cache; Python compiles
        # the modules a run imports on first use instead (measured: 45 s ->
        # 16.5 s for requirements.txt); they are cached as they are
        # imported, under .lab/pycache (bytecode_env).
        run([py, "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check",
             "-r", os.path.join(ROOT, requirements)])
        with open(stamp, "w") as fh:
            fh.write(want + "\n")
    ensure_ansible_test_pip(venv)
    return py


# ansible-test bootstraps pip in each of its sanity venvs with a get-pip.py
# that it downloads from its own CI host (not a package registry, so not
# reachable here) unless ~/.ansible/test/cache/get_pip_<version>.py exists.
# Ours puts the same pip in from the configured index instead, with no
# byte-compiling at install (on a new machine ansible-test makes about eight
# such venvs per ansible-core line). The set-up downloads each pip wheel
# ansible-test asks for once per machine (pip_wheel); the bootstrap then
# unpacks it into the new venv, 0.2 s, where running pip twice (seed from
# the bundled wheel, install the pinned pip from the index) took 4.6 s
# and 2.3 CPU-s per venv on the loaded lab machine. Without the wheel it
# falls back to those two pip runs, each in a subprocess: ensurepip
# in-process sets PIP_CONFIG_FILE=/dev/null, which would drop the
# machine's pip configuration (its index and CA bundle).
GET_PIP = '''"""ansible-test's pip bootstrap, offline-safe (written by quorum.etcd tools/lab.py).

Called as get-pip.py [pip options] <packages> [--no-setuptools] [--no-wheel]
with the new sanity venv's interpreter. When every requested package is a
pinned name==version whose wheel the lab's set-up left in the wheels/
directory next to this script, the wheels are unpacked into the venv (a
wheel is a zip laid out for site-packages; its RECORD lets pip uninstall it
later). Otherwise pip is seeded from the interpreter's own bundled wheel
(ensurepip's, without byte-compiling; ensurepip itself when the wheel is
not there) and installs the requested packages from the configured index.
Either way a pip.conf in the venv keeps ansible-test's later installs into
it from byte-compiling (Python compiles what a test imports, once).
"""
import glob
import os
import subprocess
import sys
import sysconfig
import zipfile

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
with open(os.path.join(sys.prefix, "pip.conf"), "w") as conf:
    conf.write("[install]\\nno-compile = true\\n")
here = os.path.join(os.path.dirname(os.path.abspath(os.environ.get("GET_PIP") or __file__)), "wheels")
packages = [a for a in args if not a.startswith("-")]
found = [os.path.join(here, "%s-%s-py3-none-any.whl" % tuple(p.split("==", 1))) if p.count("==") == 1 else ""
         for p in packages]
if packages and all(os.path.isfile(path) for path in found):
    for path in found:
        with zipfile.ZipFile(path) as wheel:
            wheel.extractall(sysconfig.get_paths()["purelib"])
    sys.exit(0)
try:
    import ensurepip
    wheels = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl"))
except ImportError:
    wheels = []
if wheels:
    subprocess.run([sys.executable, os.path.join(wheels[0], "pip"), "install", "--quiet", "--no-compile",
                    "--no-index", "--disable-pip-version-check", wheels[0]], check=True)
else:
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True,
                   stdout=subprocess.DEVNULL)
subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", *args], check=True)
'''


def ensure_ansible_test_pip(venv: str) -> None:
    """Write the bootstrap for every pip version this venv's ansible-test
    asks for, and have that pip's wheel downloaded once per machine
    (pip_wheel) for the bootstrap to unpack."""
    sources = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages", "ansible_test",
                                     "_internal", "python_requirements.py"))
    versions = set()
    for path in sources:
        with open(path) as fh:
            versions.update(re.findall(r"pip='([0-9][0-9.]*)'", fh.read()))
    cache = os.path.expanduser("~/.ansible/test/cache")
    for version in sorted(versions):
        target = os.path.join(cache, f"get_pip_{version.replace('.', '_')}.py")
        current = open(target).read() if os.path.exists(target) else None
        unique = f"{os.getpid()}.{threading.get_ident()}"  # venvs are built side by side
        if current != GET_PIP:
            os.makedirs(cache, exist_ok=True)
            tmp = f"{target}.{unique}.tmp"
            with open(tmp, "w") as fh:
                fh.write(GET_PIP)
            os.replace(tmp, target)
        pip_wheel(version)


def pip_wheel(version: str) -> str:
    """pip's wheel of ``version``, downloaded once per machine (with the
    Python running the lab, from the configured index) into ansible-test's
    cache, where its pip bootstrap (GET_PIP) looks for it too."""
    wheels = os.path.join(os.path.expanduser("~/.ansible/test/cache"), "wheels")
    wheel = os.path.join(wheels, f"pip-{version}-py3-none-any.whl")
    if not os.path.exists(wheel):
        tmp = os.path.join(wheels, f".download-{os.getpid()}.{threading.get_ident()}")  # venvs are built side by side
        os.makedirs(tmp, exist_ok=True)
        try:
            run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                 "--disable-pip-version-check", "-d", tmp, f"pip=={version}"])
            os.replace(os.path.join(tmp, os.path.basename(wheel)), wheel)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return wheel


def unpack_wheels(py: str, wheels) -> None:
    """Install pure-Python wheels into the venv of ``py`` by unpacking them
    into its site-packages (what GET_PIP does in ansible-test's venvs)."""
    purelib = run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  capture=True).stdout.strip()
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as whl:
            whl.extractall(purelib)


def bytecode_env(env) -> None:
    """Let every Python process of the lab keep its compiled modules, under
    .lab/pycache: ansible-playbook, each of its forked workers, Molecule,
    pytest and the linters would otherwise compile ansible-core and the
    plugins they load from source at each start. The venvs are installed
    without pip's byte-compiling (see build_venv) and a machine may set
    PYTHONDONTWRITEBYTECODE (these do), so without this nothing is ever
    cached (measured on a converged 3-member re-run: 17.2 to 20.3 CPU-s of
    controller with no bytecode, 13.6 to 14.3 with it). Only for the
    processes run in a venv: the machine's own tools (dpkg byte-compiling
    Debian's packages in the image) keep their settings (base.system_env)."""
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(LAB, "pycache")


def ensure_venv(script: str) -> None:
    """Create .venv (ansible-core NEWEST) and re-exec ``script`` (the
    command's own file) inside it."""
    build_venv(NEWEST)
    if os.path.realpath(sys.prefix) != os.path.realpath(VENV):
        py = os.path.join(VENV, "bin", "python")
        os.execv(py, [py, os.path.abspath(script), *sys.argv[1:]])


def venv_env() -> dict:
    env = dict(os.environ)
    bytecode_env(env)
    env["PATH"] = os.path.join(VENV, "bin") + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = VENV
    env["ANSIBLE_CONFIG"] = os.path.join(ROOT, "ansible.cfg")
    env["ANSIBLE_COLLECTIONS_PATH"] = collections_path()
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    env.setdefault("PY_COLORS", "0")
    return env


def collections_path() -> str:
    """A collections dir where quorum.etcd is this checkout (a symlink)."""
    base = os.path.join(LAB, "collections")
    link = os.path.join(base, "ansible_collections", "quorum", "etcd")
    if not os.path.islink(link) or os.readlink(link) != ROOT:
        os.makedirs(os.path.dirname(link), exist_ok=True)
        # Made under a temporary name and renamed over the link: two stages
        # starting at once (the test workers) never see a half-made path.
        tmp = f"{link}.{os.getpid()}.{threading.get_ident()}"
        os.symlink(ROOT, tmp)
        if os.path.isdir(link) and not os.path.islink(link):
            shutil.rmtree(link)
        os.replace(tmp, link)
    return base
