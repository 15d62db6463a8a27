# -*- coding: utf-8 -*-
"""Shared helpers for lab tests: real playbooks against real lab containers.

Generic on purpose (any lab test module can use it):

- the ``lab`` marker (``-m lab`` / ``-m "not lab"``) for tests that need the
  Docker lab of tools/lab.py;
- ``shared_cluster``: one deployed 3-member cluster for the whole session,
  for the modules whose tests hand it back healthy (backup, maintenance);
- ``lab_containers``: a factory that starts a fresh set of member
  containers (``lab_containers("badin", 4)`` -> ["badin-1", ...]) and removes
  every set it started when the test module ends;
- ``write_inventory``: a JSON inventory (JSON is YAML) for those containers,
  with the lab's mirror settings, in any layout of groups;
- ``ansible_playbook``: runs ansible-playbook with the lab environment and
  returns a ``PlaybookRun`` (exit code, output, parsed PLAY RECAP, failures);
- ``lab_vars``: the variables every lab inventory needs (mirror, version);
- ``host_sh``: runs a shell command in a container.

Nothing here contacts anything but the lab containers (and the controller).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from labkit import base, nodes, venvs  # noqa: E402  (tools/labkit, standard library only)

PLAYBOOK_TIMEOUT = 900  # seconds; a bound so a hung run fails instead of blocking the suite

_RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.M,
)
_TASK = re.compile(r"^TASK \[(?P<name>.*)\] \**$")
_FATAL = re.compile(r"^fatal: \[(?P<host>[^\]]+)\]: FAILED! =>\s*(?P<rest>.*)$")
_STATUS = re.compile(r"^(?P<status>ok|changed|skipping|fatal): \[(?P<host>[^\]]+?)(?: -> [^\]]+)?\]")


def pytest_configure(config):
    config.addinivalue_line("markers", "lab: needs the Docker lab of tools/lab.py (real systemd containers)")


# (test, playbook and arguments, exit code, seconds) of every playbook run,
# printed at the end so a slow stage shows which runs its time went to.
_RUNS: list = []


def pytest_terminal_summary(terminalreporter):
    if not _RUNS:
        return
    total = sum(r[3] for r in _RUNS)
    terminalreporter.write_sep("=", f"{len(_RUNS)} playbook runs, {total:.0f} s; the slowest")
    for test, what, rc, seconds in sorted(_RUNS, key=lambda r: -r[3])[:15]:
        terminalreporter.write_line(f"{seconds:7.1f} s  rc={rc}  {what}  ({test})")


@dataclass
class Failure:
    host: str
    task: str
    result: dict

    @property
    def msg(self) -> str:
        return str(self.result.get("msg", ""))


@dataclass
class PlaybookRun:
    cmd: list
    rc: int
    output: str
    recap: dict = field(default_factory=dict)  # host -> {"ok": n, "changed": n, ...}
    failures: list = field(default_factory=list)  # [Failure]

    def __str__(self) -> str:  # what pytest shows when an assertion on the run fails
        return f"$ {' '.join(self.cmd)}\nexit {self.rc}\n{self.output}"

    def statuses(self, task: str) -> dict:
        """host -> status (ok, changed, skipping, fatal) of every run of the
        task named ``task`` (with its role prefix, e.g. "quorum.etcd.etcd_user
        : Read ..."); a host listed by several runs keeps every status."""
        found: dict = {}
        current = None
        for line in self.output.splitlines():
            m = _TASK.match(line)
            if m:
                current = m["name"]
                continue
            m = _STATUS.match(line)
            if m and current == task:
                found.setdefault(m["host"], []).append(m["status"])
        return found


def parse_output(output: str):
    """PLAY RECAP counts per host, and every ``fatal:`` result with its task.

    Needs the default stdout callback with callback_result_format=yaml (what
    ansible.cfg sets and ``ansible_playbook`` forces)."""
    recap = {m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"}
             for m in _RECAP.finditer(output.split("PLAY RECAP", 1)[-1])} if "PLAY RECAP" in output else {}
    failures = []
    lines = output.splitlines()
    task = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _TASK.match(line)
        if m:
            task = m["name"]
        m = _FATAL.match(line)
        if m:
            rest = m["rest"].strip()
            if rest:  # one-line JSON result
                try:
                    result = json.loads(rest)
                except ValueError:
                    result = {"msg": rest}
            else:  # indented YAML block
                block = []
                while i + 1 < len(lines) and (lines[i + 1].startswith((" ", "\t")) or not lines[i + 1].strip()):
                    i += 1
                    block.append(lines[i])
                try:
                    result = yaml.safe_load("\n".join(block)) or {}
                except yaml.YAMLError:
                    result = {"msg": "\n".join(block)}
                if not isinstance(result, dict):
                    result = {"msg": str(result)}
            failures.append(Failure(m["host"], task, result))
        i += 1
    return recap, failures


def run_playbook(inventory, *args, playbook="playbooks/site.yml", extra_env=None) -> PlaybookRun:
    env = venvs.venv_env()
    env.update({
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
    })
    env.update(extra_env or {})
    cmd = ["ansible-playbook", "-i", str(inventory), str(ROOT / playbook), *map(str, args)]
    started = time.monotonic()
    res = subprocess.run(cmd, env=env, cwd=str(ROOT), capture_output=True, text=True,
                         timeout=PLAYBOOK_TIMEOUT, check=False)
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0].split("::")[-1]
    _RUNS.append((test, " ".join([playbook, *map(str, args)])[:120], res.returncode, time.monotonic() - started))
    output = res.stdout + ("\n--- stderr ---\n" + res.stderr if res.stderr.strip() else "")
    recap, failures = parse_output(res.stdout + "\n" + res.stderr)
    return PlaybookRun(cmd, res.returncode, output, recap, failures)


def host_entry(name: str) -> dict:
    """How the lab reaches a member container (same as tools/lab.py's inventory)."""
    return {"ansible_connection": "community.docker.docker", "ansible_host": name,
            "ansible_python_interpreter": "/usr/bin/python3"}


def lab_vars(**overrides) -> dict:
    """The settings every lab inventory needs: the local mirror, a pinned version."""
    out = {"etcd_install_base_url": base.MIRROR_URL, "etcd_install_version": base.DEFAULT_VERSION}
    out.update(overrides)
    return out


def make_inventory(path, groups: dict, all_vars=None, host_vars=None) -> Path:
    """Write a JSON inventory: ``groups`` maps a group name to its hosts (a
    list; [] defines the group with no hosts). ``all_vars`` go to ``all``;
    ``host_vars`` maps a host to extra variables."""
    host_vars = host_vars or {}
    children = {}
    for group, hosts in groups.items():
        children[group] = {"hosts": {h: {**host_entry(h), **host_vars.get(h, {})} for h in hosts}}
    inv = {"all": {"vars": dict(all_vars or {}), "children": children}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(inv, indent=2))
    return path


def sh(container: str, script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", container, "sh", "-c", script],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def lab_containers():
    """Factory: ``lab_containers(prefix, count)`` -> container names.

    Each prefix starts from fresh containers (any left over from an earlier
    run are removed first; a repeated call with the same prefix and count in
    the same module returns the same containers). Every set is removed when
    the test module ends, passed or failed, so clusters of finished modules
    do not pile up on the engine (each systemd container holds host-wide
    inotify instances; see tools/lab.py HOST_LIMITS)."""
    started = {}  # prefix -> count

    def start(prefix: str, count: int):
        if started.get(prefix) != count:  # a second call with the same set shares it
            nodes.down(prefix)
            started[prefix] = count  # recorded first: a failed start is cleaned up too
            nodes.up(prefix, count)
        return nodes.member_names(prefix, count)

    yield start
    for prefix in started:
        nodes.down(prefix)


SHARED_PREFIX = "shr"
# The shared cluster's backend quota: small enough for the maintenance tests
# to fill it (NOSPACE) in a few seconds, far above what the others write.
SHARED_QUOTA = 16 * 1024 * 1024


@dataclass
class SharedCluster:
    hosts: list
    inventory: Path
    base: Path  # the inventory's directory (backup.yml stores under it)
    name: str  # etcd_cluster_name
    quota: int  # etcd_service_quota_backend_bytes


@pytest.fixture(scope="session")
def shared_cluster(tmp_path_factory):
    """One healthy 3-member cluster (TLS, firewall, systemd), deployed once for
    every test module of the run that asks for it instead of once per module.

    The contract of its users: each test hands it back healthy, every member
    running, the configuration as deployed (a test that stops a member starts
    it again in a ``finally``); keys they write stay under their own prefix.
    Removed when the session ends, passed or failed."""
    nodes.down(SHARED_PREFIX)
    try:
        nodes.up(SHARED_PREFIX, 3)
        hosts = nodes.member_names(SHARED_PREFIX, 3)
        base = tmp_path_factory.mktemp(SHARED_PREFIX)
        inv = make_inventory(base / "inventory.json", {"etcd": hosts},
                             all_vars=lab_vars(etcd_cluster_name=SHARED_PREFIX,
                                               etcd_service_quota_backend_bytes=SHARED_QUOTA))
        run = run_playbook(inv)
        assert run.rc == 0, run
        yield SharedCluster(hosts, inv, base, SHARED_PREFIX, SHARED_QUOTA)
    finally:
        nodes.down(SHARED_PREFIX)


@pytest.fixture(scope="session")
def write_inventory():
    return make_inventory


@pytest.fixture(scope="session", name="lab_vars")
def lab_vars_fixture():
    return lab_vars


@pytest.fixture(scope="session")
def ansible_playbook():
    return run_playbook


@pytest.fixture(scope="session")
def host_sh():
    return sh


def docker_cp(src: str, dest: str) -> None:
    """Copy a file between the controller and a container (``name:/path``)."""
    subprocess.run(["docker", "cp", src, dest], capture_output=True, text=True, timeout=120, check=True)


@pytest.fixture(scope="session", name="docker_cp")
def docker_cp_fixture():
    return docker_cp
