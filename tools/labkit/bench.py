# -*- coding: utf-8 -*-
"""The `bench` command of tools/lab.py: the first converge of blank
containers and idempotent re-runs (and one member added and removed),
timed with the same docker connection Molecule uses."""

from __future__ import annotations

import json
import os
import re
import sys
import time

from .base import LAB
from .nodes import ansible_playbook, down, member_names, start_containers, up, write_inventory

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def _timed_play(inventory: str, playbook: str, *extra: str):
    start = time.monotonic()
    res = ansible_playbook(inventory, playbook, *extra, capture=True)
    secs = time.monotonic() - start
    if res.returncode != 0:
        sys.stdout.write(res.stdout[-6000:])
        raise SystemExit(f"bench: {playbook} failed")
    # changed=0 on every member also means no download and no restart: both
    # report "changed" when they happen.
    return secs, {m.group(1): int(m.group(3)) for m in RECAP.finditer(res.stdout)}


def cmd_bench(args) -> None:
    prefix = "bench"
    down(prefix)
    inv = up(prefix, args.members)
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
            names = member_names(prefix, args.members + 1)
            start_containers(names[-1:])
            inv = write_inventory(prefix, names, {"etcd_cluster_allow_even_size": True})
            secs, recap = _timed_play(inv, "playbooks/add_member.yml")
            rows.append((f"add_member.yml, one member to {args.members}", secs, sum(recap.values())))
            secs, recap = _timed_play(inv, "playbooks/remove_member.yml", "-e", f"etcd_remove_members={names[-1]}")
            rows.append((f"remove_member.yml, one member of {args.members + 1}", secs, sum(recap.values())))
    finally:
        if not args.keep:
            down(prefix)
    print(f"\n| step ({args.members} members, docker connection, pipelining) | seconds | changed |")
    print("|---|---|---|")
    for name, secs, changed in rows:
        print(f"| {name} | {secs:.1f} | {changed} |")
    with open(os.path.join(LAB, "bench.json"), "w") as fh:
        json.dump([{"step": n, "seconds": round(s, 1), "changed": c} for n, s, c in rows], fh, indent=2)


def register(sub) -> None:
    p = sub.add_parser("bench", help="time a first converge and idempotent re-runs on fresh containers")
    p.add_argument("--members", type=int, default=3)
    p.add_argument("--reruns", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="keep the containers afterwards")
    p.add_argument("--no-membership", dest="membership", action="store_false",
                   help="skip timing add_member.yml and remove_member.yml")
    p.set_defaults(func=cmd_bench)
