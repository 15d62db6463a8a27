# -*- coding: utf-8 -*-
"""The `test` command of tools/lab.py: every check the project has, on two
workers, longest first, each stage reported, one closing line
"N passed, N failed" (stages)."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import sys
import threading
import time

from .base import LAB, LINES, ROOT
from .mirror import GO_CACHE
from .prepare import setup
from .venvs import MATRIX, NEWEST, build_venv, collections_path, python_version, venv_dir, venv_env


def sanity_tree(core: str, name: str = "sanity") -> str:
    """ansible-test needs the collection at ansible_collections/quorum/etcd
    (a real directory, not a symlink): copy every tracked file, so sanity sees
    the whole collection (plugins, roles' Python, tests/, tools/, molecule/)
    as a user's ``ansible-test sanity`` in a checkout would."""
    dest = os.path.join(LAB, f"{name}-{core}", "ansible_collections", "quorum", "etcd")
    shutil.rmtree(dest, ignore_errors=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    for rel in files:
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src) or os.path.islink(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel))
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    return dest


class Stage:
    """One command of the suite, run in its own process with its log kept."""

    def __init__(self, name, cmd, core=NEWEST, prepare=None, est=60, group=None, always=None, extra_env=None):
        # cmd: one command, or a list of commands run in order until one fails;
        # always: a command run at the end whatever happened (a clean-up);
        # prepare: makes the directory the stage runs in (the repo root without it)
        self.name, self.core, self.prepare = name, core, prepare
        self.cmds = list(cmd) if cmd and isinstance(cmd[0], list) else [cmd]
        self.always, self.extra_env = always, extra_env or {}
        # est: seconds it took alone in the last measured run (the queue's
        # order); group: stages that share container names never overlap.
        self.est, self.group = est, group or name
        self.passed, self.secs, self.rc = None, 0.0, None
        self.needs_lab = name.split("@")[0] not in STATIC
        self.log = os.path.join(LAB, "test-logs", f"{name.replace('@', '-')}.log")

    def env(self) -> dict:
        env = venv_env()
        venv = venv_dir(self.core)
        env["PATH"] = os.path.join(venv, "bin") + os.pathsep + env["PATH"]
        env["VIRTUAL_ENV"] = venv
        env.update(self.extra_env)
        return env

    def _step(self, cmd, cwd, out, start) -> int:
        out.write(f"$ {' '.join(cmd)}  (in {cwd}, ansible-core {self.core})\n")
        out.flush()
        return _run_stamped(cmd, self.env(), cwd, out, start)

    def fail_without_running(self, reason: str) -> None:
        os.makedirs(os.path.dirname(self.log), exist_ok=True)
        with open(self.log, "w") as out:
            out.write(f"lab: stage not run: {reason}\n")
        self.rc, self.passed = -1, False
        with PRINT_LOCK:
            print(f"=== {self.name}: FAILED (not run: {reason})", flush=True)

    def run(self) -> None:
        start = time.monotonic()
        os.makedirs(os.path.dirname(self.log), exist_ok=True)
        with open(self.log, "w") as out:
            try:
                cwd = self.prepare() if self.prepare else ROOT
                try:
                    for cmd in self.cmds:
                        self.rc = self._step(cmd, cwd, out, start)
                        if self.rc:
                            break
                finally:
                    if self.always:
                        rc = self._step(self.always, cwd, out, start)
                        self.rc = self.rc or rc
            except (Exception, SystemExit) as exc:  # pylint: disable=broad-exception-caught
                # Whatever happens, the stage ends as failed with the reason
                # in its log, and its worker goes on with the next stage.
                out.write(f"\nlab: stage could not run: {exc!r}\n")
                self.rc = -1
        self.secs = time.monotonic() - start
        self.passed = self.rc == 0
        with PRINT_LOCK:
            print(f"=== {self.name}: {'passed' if self.passed else f'FAILED (exit {self.rc})'} "
                  f"in {self.secs:.0f} s (log: {os.path.relpath(self.log, ROOT)})", flush=True)
            if not self.passed:
                with open(self.log, errors="replace") as fh:
                    tail = fh.readlines()[-120:]
                print(f"--- last {len(tail)} lines of {self.name} ---", flush=True)
                sys.stdout.write("".join(tail))
                print(f"--- end of {self.name} ---", flush=True)


PRINT_LOCK = threading.Lock()


def _run_stamped(cmd, env, cwd, out, start) -> int:
    """Run ``cmd`` with each line of its output written to ``out`` behind the
    seconds since the stage began, so a log shows where a stage spends its
    time (which playbook, which task) without a profiler."""
    with subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, errors="replace", bufsize=1) as proc:
        for line in proc.stdout:
            out.write(f"[{time.monotonic() - start:7.1f}] {line}")
        return proc.wait()


def _pytest(*args: str):
    return ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=10", *args]


# Integration test modules that get a stage of their own (the largest), with
# the seconds each took (see build_stages); the other modules share one
# stage. Each module has its own container prefix.
INTEGRATION_SPLIT = {"test_membership.py": 445, "test_service_safety.py": 620}


def build_stages():
    """Every stage of the suite, longest first (see run_queue).

    Seconds are what each stage took on the 2-core lab machine while another
    stage ran beside it (the cold run of 478dbcb, 2026-12-07); only the
    order depends on them. Both Molecule default runs (ansible-core 2.21
    and the oldest line) use the same container names, so they share a
    group and never overlap."""
    scenarios = sorted(d for d in os.listdir(os.path.join(ROOT, "molecule"))
                       if os.path.exists(os.path.join(ROOT, "molecule", d, "molecule.yml")))
    oldest = MATRIX[0][0]
    integ = "tests/integration"
    stages = [
        Stage("yamllint", ["yamllint", "-s", "."], est=5),
        Stage("ansible-lint", ["ansible-lint", "--offline"], est=45),
        # The documentation of every module, filter and role entry point, as
        # docs.ansible.com would render it (semantic markup references too).
        Stage("antsibull-docs", ["antsibull-docs", "lint-collection-docs", "--plugin-docs", "."],
              prepare=lambda: sanity_tree(NEWEST, "docs"), est=15),
        # What is published (tools/publish_check.py): Galaxy's importer on the
        # built tarball, and ansible-builder's build context of the execution
        # environment with the requirements the collection declares for it.
        # Measured 2026-12-06: the importer 33 s on a quiet machine, 118 to
        # 123 s beside a full suite run (load average 6 to 8; ansible-lint 86
        # s of it, 48 core-seconds); ee 6 to 10 s.
        Stage("galaxy-importer", ["python", "tools/publish_check.py", "galaxy-importer"], est=60),
        Stage("ee", ["python", "tools/publish_check.py", "ee"], est=8),
    ]
    # The modules against a real cluster of each supported minor line.
    for line, version in LINES.items():
        stages.append(Stage(f"modules@{line}", _pytest(f"{integ}/modules"), est=90,
                            extra_env={"ETCD_BIN": os.path.join(GO_CACHE, version, "etcd"),
                                       "ETCD_VERSION": version}))
    for module, seconds in INTEGRATION_SPLIT.items():
        name = "integration-" + module[len("test_"):-len(".py")].replace("_", "-")
        stages.append(Stage(name, _pytest(f"{integ}/{module}"), est=seconds))
    stages.append(Stage("integration", _pytest(integ, "--ignore", f"{integ}/modules",
                                               *[f"--ignore={integ}/{m}" for m in INTEGRATION_SPLIT]), est=680))
    for core, _req, _pythons in MATRIX:
        py = ".".join(str(n) for n in _python_of(core))
        stages.append(Stage(f"unit@{core}", _pytest("tests/unit"), core=core, est=5))
        # One sanity stage at a time: each ansible-test builds its test venvs
        # under ~/.ansible/test/venv, named by their requirements, and two
        # ansible-core lines can need the same one (one run deleted the venv
        # another was using; sanity@2.20 failed with "does not have pip").
        stages.append(Stage(f"sanity@{core}", ["ansible-test", "sanity", "--color", "no", "--python", py, "--local"],
                            core=core, prepare=lambda c=core: sanity_tree(c), est=50, group="sanity"))
    est = {"default": 220, "upgrade": 490, "restore": 205, "recover": 170, "firewall": 75}
    stages += [Stage(f"molecule-{sc}", ["molecule", "test", "-s", sc], est=est.get(sc, 300),
                     group=f"molecule-{sc}") for sc in scenarios]
    if oldest != NEWEST and "default" in scenarios:
        # The oldest line proves the main path: converge, idempotence, verify
        # (check mode and the side effect run on the newest line above).
        steps = ("destroy", "converge", "idempotence", "verify")
        stages.append(Stage(f"molecule-default@{oldest}", [["molecule", step, "-s", "default"] for step in steps],
                            always=["molecule", "destroy", "-s", "default"], core=oldest, est=120,
                            group="molecule-default"))
    return stages


def run_queue(stages, jobs: int, lab=None) -> None:
    """Run the stages on ``jobs`` workers, longest first (a classic way to
    finish a batch early), skipping over a stage whose group is running.

    ``lab``: a LabSetUp still under way. Stages that need no lab (STATIC)
    run meanwhile; the others wait for it and, when it failed, end as failed
    with its error instead of running."""
    pending = sorted(stages, key=lambda st: -st.est)
    running = set()
    cond = threading.Condition()
    if lab is not None:
        lab.on_done(lambda: _notify(cond))

    def ready(stage):
        return stage.group not in running and (lab is None or lab.done or not stage.needs_lab)

    def worker():
        while True:
            with cond:
                while True:
                    stage = next((st for st in pending if ready(st)), None)
                    if stage or not pending:
                        break
                    cond.wait()
                if stage is None:
                    return
                pending.remove(stage)
                running.add(stage.group)
            try:
                if stage.needs_lab and lab is not None and lab.error:
                    stage.fail_without_running(f"the lab set-up failed: {lab.error}")
                else:
                    stage.run()
            finally:
                with cond:
                    running.discard(stage.group)
                    cond.notify_all()

    # Daemon threads: Ctrl-C ends the run (and the summary still prints).
    threads = [threading.Thread(target=worker, daemon=True) for _worker in range(jobs)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        print("\nlab: interrupted; stages still running are cut short", flush=True)


def _notify(cond) -> None:
    with cond:
        cond.notify_all()


class LabSetUp:
    """prepare.setup() (Docker engine, node image, network, etcd mirror) on a
    thread of its own, so the static stages run while it builds: on a new
    machine it builds four etcd releases with Go and the node image."""

    def __init__(self):
        self.done, self.error, self.secs = False, None, 0.0
        self._callbacks, self._lock = [], threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "LabSetUp":
        self._thread.start()
        return self

    def _run(self) -> None:
        start = time.monotonic()
        try:
            setup()
        except (Exception, SystemExit) as exc:  # pylint: disable=broad-exception-caught
            self.error = str(exc) or repr(exc)
            with PRINT_LOCK:
                print(f"=== lab set-up FAILED: {self.error}", flush=True)
        self.secs = time.monotonic() - start
        with self._lock:
            self.done = True
            callbacks = list(self._callbacks)
        with PRINT_LOCK:
            if not self.error:
                print(f"=== lab set-up: ready in {self.secs:.0f} s", flush=True)
        for callback in callbacks:
            callback()

    def on_done(self, callback) -> None:
        with self._lock:
            if not self.done:
                self._callbacks.append(callback)
                return
        callback()

    def wait(self) -> None:
        self._thread.join()


def _python_of(core: str):
    py = os.path.join(venv_dir(core), "bin", "python")
    return python_version(py, need_venv=False)


# Stages that need neither the Docker lab nor a venv of another line.
STATIC = ("yamllint", "ansible-lint", "antsibull-docs", "galaxy-importer", "ee", "unit", "sanity")


def _select(stages, only):
    def base(stage):
        return stage.name.split("@")[0]

    def wanted(stage):
        return stage.name in only or base(stage) in only or (
            base(stage).startswith("molecule-") and "molecule" in only) or (
            base(stage).startswith("integration") and "integration" in only)

    known = {st.name for st in stages} | {base(st) for st in stages} | {"molecule"}
    unknown = sorted(only - known)
    if unknown:
        raise SystemExit(f"lab: no stage named {', '.join(unknown)}; stages: {', '.join(sorted(known))}")
    return [st for st in stages if wanted(st)]


def cmd_test(args) -> None:
    only = set(args.only or [])
    began = float(os.environ.get("LAB_STARTED", time.time()))
    # The matrix venvs first, side by side (mostly waiting on the network).
    # Then the lab (Docker engine, node image, network, etcd mirror) is made
    # on a thread of its own while the static stages (lint, unit, sanity,
    # docs, publishing), which need no lab, already run.
    needs_lab = not only or any(name.split("@")[0] not in STATIC for name in only)
    with concurrent.futures.ThreadPoolExecutor(len(MATRIX)) as pool:
        for future in [pool.submit(build_venv, core) for core, _req, _pythons in MATRIX]:
            future.result()  # re-raises a failed step's SystemExit here
    venvs_ready = time.time()
    collections_path()  # made once, before the workers start
    lab = LabSetUp().start() if needs_lab else None
    stages = build_stages()
    if only:
        stages = _select(stages, only)
    print(f"{len(stages)} stages on {args.jobs} workers, longest first"
          f"{' (those that need no lab while the lab is set up)' if lab else ''}: "
          f"{', '.join(st.name for st in sorted(stages, key=lambda st: -st.est))}", flush=True)
    start = time.time()
    run_queue(stages, args.jobs, lab)
    if lab is not None:
        lab.wait()  # a run of static stages only still reports its set-up
    end = time.time()
    print("\n=== summary (stage, ansible-core, result, seconds)")
    for st in stages:
        result = "not run" if st.passed is None else "passed" if st.passed else "FAILED"
        print(f"  {st.name:<34} {st.core:<6} {result:<7} {st.secs:6.0f} s")
    print(f"  {'set-up: venvs':<49} {venvs_ready - began:6.0f} s")
    if lab is not None:
        print(f"  {'set-up: lab (engine, image, mirror), beside stages':<49} {lab.secs:6.0f} s"
              f"{'  FAILED' if lab.error else ''}")
    print(f"  {'stages, wall clock':<49} {end - start:6.0f} s")
    print(f"  {'total':<49} {end - began:6.0f} s")
    failed = sum(1 for st in stages if not st.passed)
    print(f"stages: {len(stages) - failed} passed, {failed} failed")
    sys.exit(1 if failed or not stages or (lab is not None and lab.error) else 0)


def register(sub) -> None:
    p = sub.add_parser("test", help="the whole test suite: lint, unit, modules, sanity, Molecule")
    p.add_argument("--only", action="append",
                   help="run only this stage (yamllint, ansible-lint, antsibull-docs, galaxy-importer, ee, unit, sanity, "
                        "modules, integration, molecule, "
                        "molecule-NAME; a name without @VERSION takes every ansible-core, e.g. sanity or sanity@2.20)")
    p.add_argument("--jobs", type=int, default=2,
                   help="stages run side by side (default 2, the lab machine's cores; 1 runs one at a time)")
    p.set_defaults(func=cmd_test)
