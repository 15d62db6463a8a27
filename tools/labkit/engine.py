# -*- coding: utf-8 -*-
"""The Docker engine, the systemd base image, the lab network and the host limits.

Standard library only: the lab runs before its venv exists."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time

from .base import IMAGE, IMAGE_PACKAGES, LAB, NETWORK, apt_install, log, ok, run, system_env


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
                   "bookworm", rootfs, mirror], capture=True, check=False, env=system_env())
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
        run(["chroot", rootfs, "systemctl", "disable", "--quiet", "firewalld.service"], capture=True,
            env=system_env())
        # dpkg byte-compiled Debian's Python packages (py3compile): without
        # it, the first module run in each container writes bytecode under
        # /usr, which the bad-input tests see as a file a refused run changed.
        if not glob.glob(os.path.join(rootfs, "usr/lib/python3/dist-packages/*/__pycache__/*.pyc")):
            raise SystemExit("lab: the image's Python packages were not byte-compiled by dpkg (py3compile)")
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


def ensure_network() -> None:
    if not ok(["docker", "network", "inspect", NETWORK]):
        run(["docker", "network", "create", "--label", "project=quorum-etcd", NETWORK], capture=True)


def container_state(name: str) -> str:
    res = run(["docker", "inspect", "-f", "{{.State.Status}}", name], check=False, capture=True)
    return res.stdout.strip() if res.returncode == 0 else ""


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
