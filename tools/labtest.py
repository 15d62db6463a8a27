"""The `test` and `bench` commands of tools/lab.py.

test: every check the project has, in order of cost, each stage reported,
      one closing line "N passed, N failed" (stages).
bench: first converge of blank containers and the idempotent re-run, timed
       with the same docker connection Molecule uses.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import lab

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def _stage(name: str, cmd, results: list, env=None, cwd=None) -> bool:
    print(f"\n=== {name}: {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    res = subprocess.run(cmd, env=env or lab.venv_env(), cwd=cwd or lab.ROOT, check=False)
    secs = time.monotonic() - start
    passed = res.returncode == 0
    results.append((name, passed, secs))
    print(f"=== {name}: {'passed' if passed else 'FAILED (exit %d)' % res.returncode} in {secs:.0f} s", flush=True)
    return passed


def sanity_tree() -> str:
    """ansible-test needs the collection at ansible_collections/quorum/etcd
    (a real directory, not a symlink); copy the tracked plugin sources."""
    dest = os.path.join(lab.LAB, "sanity", "ansible_collections", "quorum", "etcd")
    shutil.rmtree(dest, ignore_errors=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=lab.ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        if rel.startswith(("plugins/", "tests/sanity/", "meta/")) or rel in ("galaxy.yml",):
            src = os.path.join(lab.ROOT, rel)
            if not os.path.isfile(src):
                continue
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    return dest


def cmd_test(args) -> None:
    lab.setup()
    results: list = []
    env = lab.venv_env()
    stages = [
        ("yamllint", ["yamllint", "-s", "."]),
        ("ansible-lint", ["ansible-lint", "--offline"]),
        ("unit", ["pytest", "-q", "-p", "no:cacheprovider", "tests/unit"]),
        ("modules", ["pytest", "-q", "-p", "no:cacheprovider", "tests/integration/modules"]),
        # Collection build and bad input against blank lab containers.
        ("integration", ["pytest", "-q", "-p", "no:cacheprovider", "tests/integration",
                         "--ignore=tests/integration/modules"]),
    ]
    only = set(args.only or [])
    for name, cmd in stages:
        if only and name not in only:
            continue
        _stage(name, cmd, results, env=env)
    if not only or "sanity" in only:
        dest = sanity_tree()
        _stage("sanity", ["ansible-test", "sanity", "--color", "no", "--python",
                          f"{sys.version_info.major}.{sys.version_info.minor}", "--local", "plugins/"],
               results, env=env, cwd=dest)
    scenarios = sorted(d for d in os.listdir(os.path.join(lab.ROOT, "molecule"))
                       if os.path.exists(os.path.join(lab.ROOT, "molecule", d, "molecule.yml")))
    for scenario in scenarios:
        name = f"molecule-{scenario}"
        if only and name not in only and "molecule" not in only:
            continue
        _stage(name, ["molecule", "test", "-s", scenario], results, env=env)
    print("\n=== summary")
    for name, passed, secs in results:
        print(f"  {name:<22} {'passed' if passed else 'FAILED':<7} {secs:6.0f} s")
    failed = sum(1 for _, p, _ in results if not p)
    print(f"stages: {len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def _timed_play(inventory: str, playbook: str, *extra: str):
    start = time.monotonic()
    res = lab.ansible_playbook(inventory, playbook, *extra, capture=True)
    secs = time.monotonic() - start
    if res.returncode != 0:
        sys.stdout.write(res.stdout[-6000:])
        raise SystemExit(f"bench: {playbook} failed")
    # changed=0 on every member also means no download and no restart: both
    # report "changed" when they happen.
    return secs, {m.group(1): int(m.group(3)) for m in RECAP.finditer(res.stdout)}


def cmd_bench(args) -> None:
    prefix = "bench"
    lab.down(prefix)
    inv = lab.up(prefix, args.members)
    rows = []
    try:
        secs, recap = _timed_play(inv, "playbooks/site.yml")
        rows.append(("first converge (blank containers)", secs, sum(recap.values())))
        for i in range(args.reruns):
            secs, recap = _timed_play(inv, "playbooks/site.yml")
            members_changed = {h: c for h, c in recap.items() if h != "localhost"}
            rows.append((f"idempotent re-run #{i + 1}", secs, sum(members_changed.values())))
            if sum(members_changed.values()):
                raise SystemExit(f"bench: re-run changed something: {members_changed}")
        if args.membership:
            # One more container joins the running cluster, then leaves it
            # (the even size in between is allowed explicitly, SAFETY-9).
            names = lab.member_names(prefix, args.members + 1)
            lab.start_containers(names[-1:])
            inv = lab.write_inventory(prefix, names, {"etcd_cluster_allow_even_size": True})
            secs, recap = _timed_play(inv, "playbooks/add_member.yml")
            rows.append((f"add_member.yml, one member to {args.members}", secs, sum(recap.values())))
            secs, recap = _timed_play(inv, "playbooks/remove_member.yml", "-e", f"etcd_remove_members={names[-1]}")
            rows.append((f"remove_member.yml, one member of {args.members + 1}", secs, sum(recap.values())))
    finally:
        if not args.keep:
            lab.down(prefix)
    print(f"\n| step ({args.members} members, docker connection, pipelining) | seconds | changed |")
    print("|---|---|---|")
    for name, secs, changed in rows:
        print(f"| {name} | {secs:.1f} | {changed} |")
    with open(os.path.join(lab.LAB, "bench.json"), "w") as fh:
        json.dump([{"step": n, "seconds": round(s, 1), "changed": c} for n, s, c in rows], fh, indent=2)


def register(sub) -> None:
    p = sub.add_parser("test", help="the whole test suite: lint, unit, modules, sanity, Molecule")
    p.add_argument("--only", action="append",
                   help="run only this stage (yamllint, ansible-lint, unit, modules, integration, sanity, molecule, molecule-NAME)")
    p.set_defaults(func=cmd_test)
    p = sub.add_parser("bench", help="time a first converge and idempotent re-runs on fresh containers")
    p.add_argument("--members", type=int, default=3)
    p.add_argument("--reruns", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="keep the containers afterwards")
    p.add_argument("--no-membership", dest="membership", action="store_false",
                   help="skip timing add_member.yml and remove_member.yml")
    p.set_defaults(func=cmd_bench)
