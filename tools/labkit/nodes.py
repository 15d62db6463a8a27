# -*- coding: utf-8 -*-
"""Member containers: start, wait for systemd (saying why when it does not run), inventory, removal.

Standard library only: the lab runs before its venv exists."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import time

from .base import CONTAINER_FLAGS, DEFAULT_VERSION, IMAGE, LAB, MIRROR_URL, NETWORK, ROOT, log, ok, run
from .engine import container_state
from .prepare import setup
from .venvs import venv_env


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


def remove_containers(names) -> None:
    present = [n for n in names if container_state(n)]
    if present:
        run(["docker", "rm", "-f", *present], capture=True)


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
# A DNS server for etcd's DNS discovery (SRV records)

def dns_up(name: str, hosts: dict, srv: dict, domain: str) -> str:
    """Start ``name``: Debian's dnsmasq (from the node image) answering for
    ``domain`` from ``hosts`` (DNS name -> IPv4) and ``srv`` (SRV name ->
    [(target, port)]), and sending every other question on to the engine's
    DNS (so the members still find the mirror). A container left from an
    earlier run is replaced. Returns its IPv4 address, for point_resolvers."""
    remove_containers([name])
    args = ["--keep-in-foreground", "--log-queries", "--log-facility=-", "--user=root", "--no-hosts",
            f"--local=/{domain}/"]
    args += [f"--host-record={host},{ip}" for host, ip in sorted(hosts.items())]
    args += [f"--srv-host={service},{target},{port}" for service, records in sorted(srv.items())
             for target, port in records]
    run(["docker", "run", "-d", "--name", name, "--hostname", name, "--network", NETWORK,
         "--label", "project=quorum-etcd", "--entrypoint", "/usr/sbin/dnsmasq", IMAGE, *args], capture=True)
    deadline = time.monotonic() + 60
    while True:
        state = container_state(name)
        address = container_address(name)
        if state == "running" and address:
            return address
        if state in ("exited", "dead", "") or time.monotonic() > deadline:
            raise SystemExit(diagnose(name, f"dnsmasq is {state or 'gone'}, not running"))
        time.sleep(0.2)


def point_resolvers(names, address: str) -> None:
    """Make ``address`` the only resolver of each container (its
    /etc/resolv.conf, which the engine mounts and a restart rewrites)."""
    for name in names:
        run(["docker", "exec", name, "sh", "-c", f"printf 'nameserver {address}\\noptions ndots:0\\n' > /etc/resolv.conf"],
            capture=True)


def container_address(name: str) -> str:
    return _sh_out(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name])
