"""The quorum.etcd lab: everything a fresh Debian/Ubuntu machine needs to run
the collection against local systemd containers, and the project's commands.

    python3 tools/lab.py demo     # set up, deploy a 3-node cluster, print status
    python3 tools/lab.py test     # the whole test suite (what CI runs)
    python3 tools/lab.py bench    # first converge and idempotent re-run, timed

Set-up steps are idempotent and skip what already exists: the Python venv
(pinned requirements.txt), the Docker engine (installed and started only when
none answers), the systemd base image, the lab network, and the HTTP mirror of
upstream-layout etcd archives that the install role downloads from.

The command line only; the lab itself is the package tools/labkit/.
Standard library only: this file runs before the venv exists.
"""

from __future__ import annotations

import argparse
import os
import time

from labkit import bench, suite
from labkit.nodes import ansible_playbook, down, remove_containers, start_containers, up
from labkit.prepare import setup
from labkit.venvs import ensure_venv


def cmd_demo(args) -> None:
    inv = up("demo", 3)
    ansible_playbook(inv, "playbooks/site.yml")
    ansible_playbook(inv, "playbooks/status.yml")


def cmd_up(args) -> None:
    up(args.prefix, args.count)


def cmd_down(args) -> None:
    down(args.prefix)


def cmd_start(args) -> None:
    start_containers(args.names)


def cmd_rm(args) -> None:
    remove_containers(args.names)


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
    # Molecule's create and destroy playbooks (molecule/shared) call these two.
    p = sub.add_parser("start", help="start the named systemd containers on the lab network and wait for systemd")
    p.add_argument("names", nargs="+")
    p.set_defaults(func=cmd_start)
    p = sub.add_parser("rm", help="remove the named containers (those that exist)")
    p.add_argument("names", nargs="+")
    p.set_defaults(func=cmd_rm)
    suite.register(sub)
    bench.register(sub)
    args = parser.parse_args(argv)
    # When the command began, kept across ensure_venv's re-exec (the test
    # summary counts the set-up from here).
    os.environ.setdefault("LAB_STARTED", str(time.time()))
    ensure_venv(__file__)
    args.func(args)


if __name__ == "__main__":
    main()
