# -*- coding: utf-8 -*-
"""The `bench` command of tools/lab.py: the first converge of blank
containers and idempotent re-runs (then one member added and removed, the
CA rotated and etcd upgraded to the next minor line),
timed with the same docker connection Molecule uses; with --peer, the same
first converge and re-runs of another etcd role (a checkout of
githubixx/ansible-role-etcd) on containers of their own, in the same run,
printed side by side."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import sys
import time

from .base import DEFAULT_VERSION, LAB, LINES, MIRROR_URL, run
from .nodes import ansible_playbook, down, member_names, start_containers, up, write_inventory

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


TASK = re.compile(r"^TASK \[", re.M)


def _timed_play(inventory: str, playbook: str, *extra: str, tasks=None):
    """Run a playbook; return (seconds, {host: changed}). ``tasks``, a list,
    receives the number of task headers the run printed."""
    start = time.monotonic()
    res = ansible_playbook(inventory, playbook, *extra, capture=True)
    secs = time.monotonic() - start
    if res.returncode != 0:
        sys.stdout.write(res.stdout[-6000:])
        raise SystemExit(f"bench: {playbook} failed")
    if tasks is not None:
        tasks.append(len(TASK.findall(res.stdout)))
    # changed=0 on every member also means no download and no restart: both
    # report "changed" when they happen.
    return secs, {m.group(1): int(m.group(3)) for m in RECAP.finditer(res.stdout)}


# ---------------------------------------------------------------------------
# The peer role (githubixx/ansible-role-etcd), run the way its README shows:
# certificates made beforehand on the controller (one CA, one server and one
# peer certificate naming every member), the release from the lab's mirror
# checked by get_url against the release's SHA256SUMS, the members' eth0.

def _container_ip(name: str) -> str:
    res = run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name],
              capture=True)
    return res.stdout.strip()


def peer_certificates(directory: str, names, ips) -> None:
    """The six files the peer role copies (its etcd_certificates list): a CA
    and one server and one peer certificate for all members, each naming
    every member's host name and address and loopback."""
    # pylint: disable=import-outside-toplevel
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def key_pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "peer-bench-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    sans = x509.SubjectAlternativeName([x509.DNSName(n) for n in names]
                                       + [x509.IPAddress(ipaddress.ip_address(i)) for i in [*ips, "127.0.0.1"]])
    files = {"ca-etcd.pem": ca.public_bytes(serialization.Encoding.PEM), "ca-etcd-key.pem": key_pem(ca_key)}
    for kind in ("server", "peer"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"etcd-{kind}")]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(sans, critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        files[f"cert-etcd-{kind}.pem"] = cert.public_bytes(serialization.Encoding.PEM)
        files[f"cert-etcd-{kind}-key.pem"] = key_pem(key)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(directory, name), "wb") as fh:
            fh.write(data)
        os.chmod(os.path.join(directory, name), 0o600)


def peer_playbook(prefix: str, role_path: str, names, version: str) -> tuple:
    """Write the peer's inventory and playbook; return their paths."""
    base = os.path.join(LAB, prefix)
    certs = os.path.join(base, "certificates")
    peer_certificates(certs, names, [_container_ip(n) for n in names])
    inv = write_inventory(prefix, names, {
        "etcd_ansible_group": "etcd", "etcd_interface": "eth0", "etcd_version": version,
        "etcd_ca_conf_directory": certs,
        "etcd_download_url": f"{MIRROR_URL}/v{version}/etcd-v{version}-linux-amd64.tar.gz",
        "etcd_download_url_checksum": f"sha256:{MIRROR_URL}/v{version}/SHA256SUMS",
    })
    playbook = os.path.join(base, "peer.yml")
    with open(playbook, "w") as fh:
        json.dump([{"name": "The peer role", "hosts": "etcd", "gather_facts": False,
                    "roles": [{"role": os.path.abspath(role_path)}]}], fh, indent=2)
    return inv, playbook


def _bench_peer(args, rows) -> None:
    prefix = "peerb"
    down(prefix)
    names = member_names(prefix, args.members)
    start_containers(names)
    try:
        inv, playbook = peer_playbook(prefix, args.peer, names, args.version)
        tasks = []
        secs, recap = _timed_play(inv, playbook, tasks=tasks)
        rows["first converge (blank containers)"]["peer"] = (secs, tasks[-1], sum(recap.values()))
        for i in range(args.reruns):
            secs, recap = _timed_play(inv, playbook, tasks=tasks)
            rows[f"idempotent re-run #{i + 1}"]["peer"] = (secs, tasks[-1], sum(recap.values()))
    finally:
        if not args.keep:
            down(prefix)


def cmd_bench(args) -> None:
    prefix = "bench"
    down(prefix)
    version_vars = {"etcd_install_version": args.version} if args.version else {}
    inv = up(prefix, args.members, version_vars)
    rows = {}  # step -> {"ours": (seconds, task headers, changed), "peer": ...}
    tasks = []

    def ours(step, secs, recap):
        rows.setdefault(step, {})["ours"] = (secs, tasks[-1], sum(recap.values()))

    try:
        ours("first converge (blank containers)", *_timed_play(inv, "playbooks/site.yml", tasks=tasks))
        for i in range(args.reruns):
            secs, recap = _timed_play(inv, "playbooks/site.yml", tasks=tasks)
            members_changed = {h: c for h, c in recap.items() if h != "localhost"}
            ours(f"idempotent re-run #{i + 1}", secs, members_changed)
            if sum(members_changed.values()):
                raise SystemExit(f"bench: re-run changed something: {members_changed}")
        if args.membership:
            # One more container joins the running cluster, then leaves it
            # (the even size in between is allowed explicitly, SAFETY-9).
            names = member_names(prefix, args.members + 1)
            start_containers(names[-1:])
            inv = write_inventory(prefix, names, {"etcd_cluster_allow_even_size": True, **version_vars})
            ours(f"add_member.yml, one member to {args.members}",
                 *_timed_play(inv, "playbooks/add_member.yml", tasks=tasks))
            ours(f"remove_member.yml, one member of {args.members + 1}",
                 *_timed_play(inv, "playbooks/remove_member.yml", "-e", f"etcd_remove_members={names[-1]}",
                              tasks=tasks))
        if args.operations:
            # The three steps of a CA rotation (three rolling restarts), then
            # the upgrade to the next minor line (a snapshot first, a rolling
            # restart): each with every health gate and check in place.
            inv = write_inventory(prefix, member_names(prefix, args.members), version_vars)
            ours(f"rotate_ca.yml, {args.members} members", *_timed_play(inv, "playbooks/rotate_ca.yml", tasks=tasks))
            target = next_line(args.version or DEFAULT_VERSION)
            if target:
                ours(f"upgrade.yml, {args.version or DEFAULT_VERSION} -> {target}",
                     *_timed_play(inv, "playbooks/upgrade.yml", "-e", f"etcd_install_version={target}", tasks=tasks))
    finally:
        if not args.keep:
            down(prefix)
    if args.peer:
        _bench_peer(args, rows)
    print(table(rows, args))
    with open(os.path.join(LAB, "bench.json"), "w") as fh:
        json.dump([{"step": step, **{who: {"seconds": round(v[0], 1), "task_headers": v[1], "changed": v[2]}
                                     for who, v in cols.items()}} for step, cols in rows.items()], fh, indent=2)


def next_line(version: str):
    """The lab's release of the next minor line after ``version``, or None."""
    minor = ".".join(version.split(".")[:2])
    lines = sorted(LINES, key=lambda line: tuple(int(n) for n in line.split(".")))
    later = [line for line in lines if tuple(int(n) for n in line.split(".")) > tuple(int(n) for n in minor.split("."))]
    return LINES[later[0]] if later else None


def table(rows, args) -> str:
    """The markdown table of a bench run: ours, and the peer's beside it."""
    version = args.version or "the role's default"
    head = f"| step ({args.members} members, etcd {version}, docker connection, pipelining) | seconds | task headers | changed |"
    lines = [head, "|---|---|---|---|"]
    if args.peer:
        lines = [head + " peer seconds | peer task headers | peer changed | ours / peer |",
                 "|---|---|---|---|---|---|---|---|"]
    for step, cols in rows.items():
        secs, tasks, changed = cols["ours"]
        line = f"| {step} | {secs:.1f} | {tasks} | {changed} |"
        if args.peer:
            if "peer" in cols:
                psecs, ptasks, pchanged = cols["peer"]
                line += f" {psecs:.1f} | {ptasks} | {pchanged} | {secs / psecs:.2f} |"
            else:
                line += " | | | |"
        lines.append(line)
    return "\n".join(lines)


def register(sub) -> None:
    p = sub.add_parser("bench", help="time a first converge and idempotent re-runs on fresh containers")
    p.add_argument("--members", type=int, default=3)
    p.add_argument("--reruns", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="keep the containers afterwards")
    p.add_argument("--no-membership", dest="membership", action="store_false",
                   help="skip timing add_member.yml and remove_member.yml")
    p.add_argument("--no-operations", dest="operations", action="store_false",
                   help="skip timing rotate_ca.yml and upgrade.yml to the next minor line")
    p.add_argument("--version", help="etcd release for every run (default: the roles' own; with --peer 3.5.35, "
                                     "since the peer passes --enable-v2, which etcd 3.6 no longer has)")
    p.add_argument("--peer", metavar="ROLE_DIR",
                   help="a checkout of githubixx/ansible-role-etcd: its first converge and re-runs on containers "
                        "of their own, printed beside ours")
    p.set_defaults(func=_check_and_bench)


def _check_and_bench(args) -> None:
    if args.peer:
        if not os.path.isfile(os.path.join(args.peer, "tasks", "main.yml")):
            raise SystemExit(f"bench: --peer {args.peer} is not a role checkout (no tasks/main.yml)")
        args.version = args.version or "3.5.35"
    cmd_bench(args)
