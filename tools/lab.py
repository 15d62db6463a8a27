"""The quorum.etcd lab: everything a fresh Debian/Ubuntu machine needs to run
the collection against local systemd containers, and the project's commands.

    python3 tools/lab.py demo     # set up, deploy a 3-node cluster, print status
    python3 tools/lab.py test     # the whole test suite (what CI runs)
    python3 tools/lab.py bench    # first converge and idempotent re-run, timed

Set-up steps are idempotent and skip what already exists: the Python venv
(pinned requirements.txt), the Docker engine (installed and started only when
none answers), the systemd base image, the lab network, and the HTTP mirror of
upstream-layout etcd archives that the install role downloads from.

Standard library only: this file runs before the venv exists.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
]
# The tag follows the package list, so a changed list builds a new image.
IMAGE = os.environ.get(
    "LAB_IMAGE",
    "quorum-etcd-lab:bookworm-" + hashlib.sha256(" ".join(IMAGE_PACKAGES).encode()).hexdigest()[:8])
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
    the newest of python3.N on PATH, /usr/bin, /usr/local/bin and pyenv's
    versions (ansible-core 2.20+ need 3.12+, Debian bookworm's python3 is
    3.11). A Debian python3.N without ensurepip gets python3.N-venv."""
    low, high = supported
    wanted = f"Python {low[0]}.{low[1]} to {high[0]}.{high[1]}"
    if os.environ.get("LAB_PYTHON"):
        exe = os.environ["LAB_PYTHON"]
        if not low <= (python_version(exe) or (0, 0)) <= high:
            raise SystemExit(f"lab: LAB_PYTHON={exe} is not a {wanted} with venv (ansible-core {core})")
        return exe
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


# The test command builds venvs and the lab side by side (threads); dpkg
# takes one install at a time.
_APT_LOCK = threading.Lock()


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise SystemExit(f"lab: missing packages {', '.join(packages)}; install them (root needed)")
    with _APT_LOCK:
        if not glob.glob("/var/lib/apt/lists/*Packages*"):
            run(["apt-get", "update", "-qq"])
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        log(f"apt-get install {' '.join(packages)}")
        run(["apt-get", "install", "-y", "-qq", *packages], env=env)


def build_venv(core: str) -> str:
    """Create or refresh the venv of one ansible-core line; return its python."""
    requirements, supported = next((r, p) for c, r, p in MATRIX if c == core)
    venv = venv_dir(core)
    py = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, ".requirements.sha256")
    have = open(stamp).read().strip() if os.path.exists(stamp) else ""
    # A venv on a Python outside the line's range is rebuilt, not patched.
    version = python_version(py) if os.path.exists(py) else None
    if version is None or not supported[0] <= version <= supported[1]:
        shutil.rmtree(venv, ignore_errors=True)
        base = find_python(core, supported)
        log(f"creating {os.path.relpath(venv, ROOT)} with {base} (ansible-core {core})")
        run([base, "-m", "venv", venv])
        have = ""
    want = _stamp_text(requirements)
    if have != want:
        log(f"installing pinned Python packages into {os.path.relpath(venv, ROOT)} ({requirements})")
        run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "-r", os.path.join(ROOT, requirements)])
        with open(stamp, "w") as fh:
            fh.write(want + "\n")
    ensure_ansible_test_pip(venv)
    return py


# ansible-test bootstraps pip in each of its sanity venvs with a get-pip.py
# that it downloads from its own CI host (not a package registry, so not
# reachable here) unless ~/.ansible/test/cache/get_pip_<version>.py exists.
# Ours installs the same pip from the configured index instead. ensurepip
# runs in a subprocess: in-process it sets PIP_CONFIG_FILE=/dev/null, which
# would drop the machine's pip configuration (its index and CA bundle).
GET_PIP = '''"""ansible-test's pip bootstrap, offline-safe (written by quorum.etcd tools/lab.py).

Called as get-pip.py [pip options] <packages> [--no-setuptools] [--no-wheel]:
seed pip from the interpreter's own ensurepip, then let that pip install the
requested packages from the configured index.
"""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True,
               stdout=subprocess.DEVNULL)
subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)
'''


def ensure_ansible_test_pip(venv: str) -> None:
    """Write the bootstrap for every pip version this venv's ansible-test asks for."""
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
        if current != GET_PIP:
            os.makedirs(cache, exist_ok=True)
            tmp = f"{target}.{os.getpid()}.{threading.get_ident()}.tmp"  # venvs are built side by side
            with open(tmp, "w") as fh:
                fh.write(GET_PIP)
            os.replace(tmp, target)


def ensure_venv() -> None:
    """Create .venv (ansible-core NEWEST) and re-exec this script inside it."""
    build_venv(NEWEST)
    if os.path.realpath(sys.prefix) != os.path.realpath(VENV):
        py = os.path.join(VENV, "bin", "python")
        os.execv(py, [py, os.path.abspath(__file__), *sys.argv[1:]])


def venv_env() -> dict:
    env = dict(os.environ)
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


# --------------------------------------------------------------------------
# Docker engine

# Where dockerd and the containerd it starts leave their pid files. When the
# engine is killed (a session's processes are ended before CI runs on the
# same machine) the files stay. dockerd refuses to start while its pid file
# names a live process, and reuses "its" containerd while that file does, so
# a pid number that a new, unrelated process happens to hold kept CI's
# engine from ever answering. Removed when they name no such program.
DOCKER_PID_FILES = (
    ("/var/run/docker.pid", "dockerd"),
    ("/var/run/docker/containerd/containerd.pid", "containerd"),
)
DOCKERD_TIMEOUT = 180


def _proc_name(pid: int, proc: str = "/proc") -> str:
    """The program name of a live process, or '' when there is none."""
    try:
        with open(os.path.join(proc, str(pid), "comm")) as fh:
            return fh.read().strip()
    except OSError:
        return ""


def stale_pid_files(files=DOCKER_PID_FILES, proc: str = "/proc"):
    """The pid files whose process is gone or is another program, each with
    why, e.g. ('/var/run/docker.pid', 'pid 9764 is pip, not dockerd')."""
    stale = []
    for path, program in files:
        try:
            with open(path) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if not text.isdigit():
            stale.append((path, f"it holds {text!r}, not a pid"))
            continue
        name = _proc_name(int(text), proc)
        if not name:
            stale.append((path, f"pid {text} is not running"))
        elif name != program:
            stale.append((path, f"pid {text} is {name}, not {program}"))
    return stale


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError as exc:
        return f"({exc})"


def ensure_docker() -> None:
    if ok(["docker", "info"]):
        return
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        apt_install("docker.io")
    if ok(["docker", "info"]):
        return
    for path, why in stale_pid_files():
        log(f"removing the stale pid file {path} ({why})")
        os.unlink(path)
    os.makedirs(LAB, exist_ok=True)
    logfile = os.path.join(LAB, "dockerd.log")
    log(f"starting dockerd (log: {logfile})")
    with open(logfile, "ab") as fh:
        proc = subprocess.Popen(["dockerd"], stdout=fh, stderr=fh, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    for waited in range(DOCKERD_TIMEOUT):
        if ok(["docker", "info"]):
            return
        if proc.poll() is not None:
            raise SystemExit(f"lab: dockerd exited with code {proc.returncode} before answering; "
                             f"the end of {logfile}:\n{_tail(logfile)}")
        if waited and waited % 30 == 0:
            log(f"dockerd (pid {proc.pid}) has not answered after {waited} s; still waiting")
        time.sleep(1)
    raise SystemExit(f"lab: dockerd (pid {proc.pid}, still running) did not answer within "
                     f"{DOCKERD_TIMEOUT} s; the end of {logfile}:\n{_tail(logfile)}")


# --------------------------------------------------------------------------
# Base image

def debian_mirror() -> str:
    """The machine's own Debian mirror (LAB_DEBIAN_MIRROR overrides)."""
    if os.environ.get("LAB_DEBIAN_MIRROR"):
        return os.environ["LAB_DEBIAN_MIRROR"]
    files = sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) + ["/etc/apt/sources.list"]
    for path in files:
        try:
            text = open(path).read()
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split()
            if not words or line.lstrip().startswith("#"):
                continue
            if words[0] == "URIs:":
                for uri in words[1:]:
                    if "security" not in uri:
                        return uri
            if words[0] == "deb":
                for word in words[1:]:
                    if "://" in word and "security" not in word:
                        return word
    raise SystemExit("lab: no Debian mirror found in apt sources; set LAB_DEBIAN_MIRROR")


IMAGE_ALIAS = "quorum-etcd-lab:current"  # what Molecule's platforms name


def ensure_image() -> None:
    if not ok(["docker", "image", "inspect", IMAGE]):
        build_image()
    run(["docker", "tag", IMAGE, IMAGE_ALIAS], capture=True)


def build_image() -> None:
    if shutil.which("debootstrap") is None:
        apt_install("debootstrap")
    mirror = debian_mirror()
    rootfs = tempfile.mkdtemp(prefix="rootfs-", dir=LAB if os.path.isdir(LAB) else None)
    log(f"building {IMAGE} with debootstrap from {mirror} (about a minute)")
    try:
        res = run(["debootstrap", "--variant=minbase", "--include=" + ",".join(IMAGE_PACKAGES),
                   "bookworm", rootfs, mirror], capture=True, check=False)
        if res.returncode != 0:
            tail = ""
            with contextlib.suppress(OSError):
                tail = "".join(open(os.path.join(rootfs, "debootstrap/debootstrap.log")).readlines()[-15:])
            raise SystemExit(f"lab: debootstrap failed ({res.returncode}):\n{res.stderr[-2000:]}\n{tail}")
        # Trim what a container never uses, keep apt usable for the roles.
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            path = os.path.join(rootfs, sub)
            for entry in glob.glob(os.path.join(path, "*")):
                if os.path.isdir(entry) and not os.path.islink(entry):
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    try:
                        os.remove(entry)
                    except OSError:
                        pass
        # firewalld's package enables its unit: in a container it would start at
        # boot and own the firewall (auto backend, nftables tests). The lab
        # starts it only where a test asks for it (molecule/firewall prepare).
        # ufw.service stays enabled: it does nothing while ufw.conf has ENABLED=no.
        run(["chroot", rootfs, "systemctl", "disable", "--quiet", "firewalld.service"], capture=True)
        # A machine-id is created at first boot of each container.
        open(os.path.join(rootfs, "etc/machine-id"), "w").close()
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        run(["docker", "import", "-c", 'CMD ["/lib/systemd/systemd"]', "-c", "ENV container=docker",
             "-", IMAGE], stdin=tar.stdout, capture=True)
        if tar.wait() != 0:
            raise SystemExit(f"lab: tar of {rootfs} failed; the image may be incomplete")
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    log(f"image {IMAGE} ready")


# --------------------------------------------------------------------------
# etcd mirror

def _binaries_from_pool(version: str, cache: str) -> dict:
    dest = os.path.join(cache, f"pool-{version}")
    tree = os.path.join(dest, "tree")
    if not os.path.isdir(tree):
        os.makedirs(dest, exist_ok=True)
        # The machine's mirror first, then Debian's own (the pool is shared
        # by every release; the pinned SHA-256 makes any source safe).
        bases = list(dict.fromkeys([debian_mirror().rstrip("/"), "http://deb.debian.org/debian"]))
        for rel, sha in POOL_DEBS[version]:
            deb = os.path.join(dest, os.path.basename(rel))
            if not os.path.exists(deb):
                data, errors = None, []
                for base in bases:
                    try:
                        with urllib.request.urlopen(f"{base}/{rel}", timeout=300) as resp:
                            data = resp.read()
                        break
                    except OSError as exc:
                        errors.append(f"{base}: {exc}")
                if data is None:
                    raise SystemExit(f"lab: cannot download {rel}: {'; '.join(errors)}")
                got = hashlib.sha256(data).hexdigest()
                if got != sha:
                    raise SystemExit(f"lab: {rel} has SHA-256 {got}, expected {sha}")
                with open(deb + ".tmp", "wb") as fh:
                    fh.write(data)
                os.replace(deb + ".tmp", deb)
        for rel, _sha in POOL_DEBS[version]:
            run(["dpkg-deb", "-x", os.path.join(dest, os.path.basename(rel)), tree + ".tmp"])
        os.replace(tree + ".tmp", tree)
    out = {}
    for name in ("etcd", "etcdctl", "etcdutl"):
        with open(os.path.join(tree, "usr/bin", name), "rb") as fh:
            out[name] = fh.read()
    return out


# Go-built releases are kept machine-wide, keyed by version, so a fresh clone
# on the same machine (CI) does not build them again.
GO_CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                        "quorum-etcd-lab", "etcd-go")
# The three commands and the Go module each one's main package is in.
GO_MODULES = (("etcd", "server"), ("etcdctl", "etcdctl"), ("etcdutl", "etcdutl"))
# Both the `replace ( ... )` block and single `replace a => b` lines.
_GO_REPLACE = re.compile(r"^replace\s*\((?:.|\n)*?^\)\s*$|^replace\s+[^\n]*$", re.M)


def _go() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else "")
    if not go:
        raise SystemExit("lab: cannot build etcd: no `go` command on this machine (the lab builds etcd's "
                         "release binaries from the Go module proxy; see docs/LAB.md)")
    return go


def _go_step(cmd, cwd: str, env: dict, what: str) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        detail = (res.stderr or res.stdout).strip().splitlines()
        raise SystemExit(f"lab: cannot build etcd: {what} failed: {detail[-1] if detail else res.returncode}"
                         f" (GOPROXY={env.get('GOPROXY') or 'default'})")
    return res.stdout


def build_etcd_with_go(version: str, dest: str) -> None:
    """Build etcd, etcdctl and etcdutl at release ``version`` from etcd's own
    modules on the Go module proxy into ``dest`` (docs/LAB.md): the module
    at the exact tag is copied out of the module cache, its replace
    directives (paths inside etcd's repository) are dropped so that the
    sibling modules come from the proxy at the versions the release pins,
    and the copy is built with CGO off and -trimpath."""
    go = _go()
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod", GOWORK="off")
    os.makedirs(dest, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="etcd-go-") as tmp:
        for name, module in GO_MODULES:
            path = f"go.etcd.io/etcd/{module}/v3@v{version}"
            info = json.loads(_go_step([go, "mod", "download", "-json", path], tmp, env,
                                       f"downloading {path} from the Go module proxy"))
            work = os.path.join(tmp, module)
            shutil.copytree(info["Dir"], work)
            for top, dirs, files in os.walk(work):
                for entry in dirs + files:
                    full = os.path.join(top, entry)
                    os.chmod(full, os.stat(full).st_mode | 0o200)
            gomod = os.path.join(work, "go.mod")
            with open(gomod) as fh:
                text = fh.read()
            with open(gomod, "w") as fh:
                fh.write(_GO_REPLACE.sub("", text))
            _go_step([go, "mod", "tidy"], work, env, f"go mod tidy in {path}")
            _go_step([go, "build", "-trimpath", "-o", os.path.join(dest, name + ".tmp"), "."], work, env,
                     f"go build of {path}")
            flag = "--version" if name == "etcd" else "version"
            out = _go_step([os.path.join(dest, name + ".tmp"), flag], tmp, env, f"{name} {flag}")
            if not re.search(rf"(?im)^{name} version:\s*{re.escape(version)}\s*$", out):
                raise SystemExit(f"lab: the {name} built from {path} does not report {version}: {out.strip()!r}")
            os.replace(os.path.join(dest, name + ".tmp"), os.path.join(dest, name))


def _binaries_from_go(version: str, cache: str) -> dict:
    del cache  # machine-wide, see GO_CACHE
    dest = os.path.join(GO_CACHE, version)
    os.makedirs(GO_CACHE, exist_ok=True)
    with open(os.path.join(GO_CACHE, "build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another clone may be building it
        if not all(os.path.exists(os.path.join(dest, name)) for name, _module in GO_MODULES):
            log(f"mirror: building etcd {version} from the Go module proxy (a few minutes the first "
                f"time on a machine; kept in {GO_CACHE})")
            started = time.monotonic()
            build_etcd_with_go(version, dest)
            log(f"mirror: etcd {version} built in {time.monotonic() - started:.0f} s")
    out = {}
    for name, _module in GO_MODULES:
        with open(os.path.join(dest, name), "rb") as fh:
            out[name] = fh.read()
    return out


def _write_archive(path: str, version: str, binaries: dict) -> None:
    """Upstream layout, reproducible bytes (fixed mtimes, gzip mtime 0)."""
    top = f"etcd-v{version}-linux-amd64"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tf:
        info = tarfile.TarInfo(top)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1600000000
        tf.addfile(info)
        for name in sorted(binaries):
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode, info.mtime = len(binaries[name]), 0o755, 1600000000
            tf.addfile(info, io.BytesIO(binaries[name]))
        readme = f"etcd {version} repackaged for the quorum.etcd lab mirror\n".encode()
        info = tarfile.TarInfo(f"{top}/README.md")
        info.size, info.mode, info.mtime = len(readme), 0o644, 1600000000
        tf.addfile(info, io.BytesIO(readme))
    with open(path + ".tmp", "wb") as fh:
        with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
            gz.write(raw.getvalue())
    os.replace(path + ".tmp", path)


def ensure_mirror_files() -> str:
    mirror = os.path.join(LAB, "mirror")
    cache = os.path.join(LAB, "cache")
    for version, source in MIRROR_VERSIONS:
        vdir = os.path.join(mirror, f"v{version}")
        archive = f"etcd-v{version}-linux-amd64.tar.gz"
        sums = os.path.join(vdir, "SHA256SUMS")
        if os.path.exists(sums):
            continue
        log(f"mirror: packaging etcd {version} from {source}")
        os.makedirs(vdir, exist_ok=True)
        fetch = {"pool": _binaries_from_pool, "go": _binaries_from_go}[source]
        binaries = fetch(version, cache)
        _write_archive(os.path.join(vdir, archive), version, binaries)
        with open(os.path.join(vdir, archive), "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        with open(sums + ".tmp", "w") as fh:
            fh.write(f"{digest}  {archive}\n")
        os.replace(sums + ".tmp", sums)
    return mirror


def ensure_network() -> None:
    if not ok(["docker", "network", "inspect", NETWORK]):
        run(["docker", "network", "create", "--label", "project=quorum-etcd", NETWORK], capture=True)


def container_state(name: str) -> str:
    res = run(["docker", "inspect", "-f", "{{.State.Status}}", name], check=False, capture=True)
    return res.stdout.strip() if res.returncode == 0 else ""


def ensure_mirror() -> None:
    mirror = ensure_mirror_files()
    ensure_network()
    state = container_state(MIRROR_NAME)
    source = run(["docker", "inspect", "-f", "{{range .Mounts}}{{.Source}}{{end}}", MIRROR_NAME],
                 check=False, capture=True).stdout.strip() if state else ""
    # Same path is not enough: a checkout deleted and cloned again at the
    # same place leaves the container serving the deleted directory (404s).
    # Asked up to three times: a busy engine may fail one exec, and re-making
    # the mirror would break a download another test worker has under way.
    wanted = [f"/srv/mirror/v{version}/SHA256SUMS" for version, _source in MIRROR_VERSIONS]
    probe = ["docker", "exec", MIRROR_NAME, "sh", "-c", " && ".join(f"test -f {w}" for w in wanted)]
    if state == "running" and source == mirror:
        for _attempt in range(3):
            if ok(probe):
                return
            time.sleep(1)
    # Stopped, or serving another checkout's files: start it on this one.
    if state:
        run(["docker", "rm", "-f", MIRROR_NAME], capture=True)
    run(["docker", "run", "-d", "--name", MIRROR_NAME, "--network", NETWORK,
         "--label", "project=quorum-etcd", "-v", f"{mirror}:/srv/mirror:ro",
         "--entrypoint", "python3", IMAGE, "-m", "http.server", str(MIRROR_PORT),
         "--directory", "/srv/mirror"], capture=True)
    log(f"mirror serving {mirror} at {MIRROR_URL}")


# Every systemd container takes about seven inotify instances (systemd,
# journald, logind, dbus), all counted against root's one host-wide limit.
# At the kernel's default of 128, the 19th container's systemd cannot start:
# it exits with code 255 and prints nothing (what the integration suite hit
# with five test modules' clusters alive at once). Raised here, never lowered.
HOST_LIMITS = {
    "fs/inotify/max_user_instances": 8192,
    "fs/inotify/max_user_watches": 524288,
}


def ensure_host_limits() -> None:
    for key, want in HOST_LIMITS.items():
        path = os.path.join("/proc/sys", key)
        try:
            with open(path) as fh:
                have = int(fh.read().split()[0])
            if have < want:
                with open(path, "w") as fh:
                    fh.write(str(want))
                log(f"raised {key.replace('/', '.')} from {have} to {want} (systemd containers)")
        except (OSError, ValueError) as exc:
            log(f"warning: cannot raise {key.replace('/', '.')} to {want} ({exc}); "
                "with many lab containers at once, new ones may exit with code 255")


def setup() -> None:
    """Everything the demo, the tests and Molecule need, reusing what exists.

    Serialised with a lock file: two commands started together (a user's two
    terminals, parallel test jobs) wait for one build instead of racing."""
    os.makedirs(LAB, exist_ok=True)
    with open(os.path.join(LAB, "setup.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ensure_host_limits()
        ensure_docker()
        ensure_image()
        ensure_mirror()


# --------------------------------------------------------------------------
# Member containers

# How long systemd in a new container may take to settle. Generous on
# purpose (a loaded 2-core machine); an exited container is reported at once.
SYSTEMD_TIMEOUT = 300


def _sh_out(cmd) -> str:
    res = run(cmd, check=False, capture=True)
    return ((res.stdout or "") + (res.stderr or "")).strip()


def inotify_usage() -> str:
    used = 0
    for fd in glob.glob("/proc/[0-9]*/fd/*"):
        with contextlib.suppress(OSError):
            if os.readlink(fd) == "anon_inode:inotify":
                used += 1
    try:
        with open("/proc/sys/fs/inotify/max_user_instances") as fh:
            limit = fh.read().strip()
    except OSError:
        limit = "?"
    return f"inotify instances in use on the host: {used} (limit per user: {limit})"


def diagnose(name: str, why: str) -> str:
    """Everything that tells why a container's systemd is not running."""
    state = _sh_out(["docker", "inspect", "-f",
                     "status={{.State.Status}} exit_code={{.State.ExitCode}} oom_killed={{.State.OOMKilled}} "
                     "error={{.State.Error}}", name])
    parts = [f"lab: {name}: {why}", f"  docker state: {state}",
             "  docker logs (last 40 lines):", _sh_out(["docker", "logs", "--tail", "40", name]) or "  (empty)"]
    if container_state(name) == "running":
        parts += ["  systemctl --failed:",
                  _sh_out(["docker", "exec", name, "systemctl", "--failed", "--no-pager", "--no-legend"]) or "  (none)",
                  "  journal (last 40 lines):",
                  _sh_out(["docker", "exec", name, "journalctl", "-b", "-n", "40", "--no-pager"])]
    parts.append("  " + inotify_usage())
    running = _sh_out(["docker", "ps", "-q"]).split()
    parts.append(f"  containers running on the engine: {len(running)}")
    return "\n".join(parts)


def wait_for_systemd(names, timeout: int = SYSTEMD_TIMEOUT) -> None:
    """Poll every container until systemd is running (or degraded).

    A container that exits fails at once with its exit code, logs and the
    host's inotify use; one still starting after ``timeout`` seconds fails
    with what systemd said so far."""
    pending = {name: "" for name in names}
    deadline = time.monotonic() + timeout
    while pending:
        for name in list(pending):
            state = container_state(name)
            if state in ("exited", "dead", ""):
                raise SystemExit(diagnose(name, f"the container is {state or 'gone'} before systemd reached running"))
            res = run(["docker", "exec", name, "systemctl", "is-system-running"], check=False, capture=True)
            pending[name] = (res.stdout or res.stderr or "").strip()
            if pending[name] in ("running", "degraded"):
                del pending[name]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise SystemExit("\n".join(
                diagnose(name, f"systemd still says '{said}' after {timeout} s") for name, said in pending.items()))
        time.sleep(0.5)


def start_containers(names) -> None:
    for name in names:
        state = container_state(name)
        if state == "running":
            continue
        if state:
            run(["docker", "start", name], capture=True)
            continue
        run(["docker", "run", "-d", "--name", name, "--hostname", name, "--network", NETWORK,
             "--label", "project=quorum-etcd", *CONTAINER_FLAGS, IMAGE, "/lib/systemd/systemd"],
            capture=True)
    wait_for_systemd(names)


def write_inventory(prefix: str, names, extra_vars=None) -> str:
    path = os.path.join(LAB, prefix, "inventory.yml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lab_vars = {
        "etcd_install_base_url": MIRROR_URL,
        "etcd_install_version": DEFAULT_VERSION,
        "etcd_cluster_name": prefix,
    }
    lab_vars.update(extra_vars or {})
    inv = {"all": {"children": {"etcd": {
        "hosts": {n: {"ansible_connection": "community.docker.docker", "ansible_host": n,
                      "ansible_python_interpreter": "/usr/bin/python3"} for n in names},
        "vars": lab_vars}}}}
    with open(path, "w") as fh:
        json.dump(inv, fh, indent=2)  # JSON is valid YAML
    return path


def member_names(prefix: str, count: int):
    return [f"{prefix}-{i}" for i in range(1, count + 1)]


def up(prefix: str, count: int, extra_vars=None) -> str:
    setup()
    names = member_names(prefix, count)
    start_containers(names)
    inv = write_inventory(prefix, names, extra_vars)
    log(f"{count} containers up; inventory {inv}")
    return inv


def down(prefix: str) -> None:
    if not ok(["docker", "info"]):
        return
    res = run(["docker", "ps", "-aq", "--filter", f"name=^{prefix}-[0-9]+$"], capture=True, check=False)
    ids = res.stdout.split()
    if ids:
        run(["docker", "rm", "-f", *ids], capture=True)
    shutil.rmtree(os.path.join(LAB, prefix), ignore_errors=True)
    log(f"removed {len(ids)} containers with prefix {prefix}")


def ansible_playbook(inventory: str, playbook: str, *args: str, capture=False):
    cmd = ["ansible-playbook", "-i", inventory, os.path.join(ROOT, playbook), *args]
    return run(cmd, env=venv_env(), check=not capture, capture=capture, cwd=ROOT)


# --------------------------------------------------------------------------
# Commands

def cmd_demo(args) -> None:
    inv = up("demo", 3)
    ansible_playbook(inv, "playbooks/site.yml")
    ansible_playbook(inv, "playbooks/status.yml")


def cmd_up(args) -> None:
    up(args.prefix, args.count)


def cmd_down(args) -> None:
    down(args.prefix)


def cmd_setup(args) -> None:
    setup()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="venv, Docker engine, base image, network, etcd mirror").set_defaults(func=cmd_setup)
    sub.add_parser("demo", help="3-node TLS cluster in local containers, then its status").set_defaults(func=cmd_demo)
    p = sub.add_parser("up", help="start N member containers and write .lab/PREFIX/inventory.yml")
    p.add_argument("--prefix", default="lab")
    p.add_argument("--count", type=int, default=3)
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("down", help="remove the containers of PREFIX")
    p.add_argument("--prefix", default="lab")
    p.set_defaults(func=cmd_down)
    import labtest  # the test and bench commands, beside this file
    labtest.register(sub)
    args = parser.parse_args(argv)
    # When the command began, kept across ensure_venv's re-exec (the test
    # summary counts the set-up from here).
    os.environ.setdefault("LAB_STARTED", str(time.time()))
    ensure_venv()
    args.func(args)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
