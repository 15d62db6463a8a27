#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_node_info
short_description: Read the state of an etcd node in one call, for the roles' plans
version_added: "0.3.0"
description:
  - One read-only round trip that tells the collection's roles what is already in place on a node
    (owners, modes and checksums of paths, optionally small files' contents, users, groups, whether
    systemd units are active and enabled, what a member's WAL replays, the certificates and keys of
    the PKI directory, and the installed etcd releases), so that they decide on the controller and
    write only what differs.
  - The collection's one reader of node state; the roles run no other probe.
  - Uses only the Python standard library.
author:
  - quorum.etcd maintainers (@quorum)
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
    support: full
  diff_mode:
    description: Read-only; there is nothing to diff.
    support: none
options:
  paths:
    description: Paths to stat (not followed if they are links).
    type: list
    elements: path
    default: []
  contents:
    description: Paths of text files whose content is returned too (at most 1 MiB each).
    type: list
    elements: path
    default: []
  users:
    description: User names to look up.
    type: list
    elements: str
    default: []
  groups:
    description: Group names to look up.
    type: list
    elements: str
    default: []
  units:
    description:
      - systemd unit names whose active and enabled states, automatic restart count, main process and the
        binary it runs are read.
    type: list
    elements: str
    default: []
  wal:
    description:
      - A member's write-ahead log directory (C(<data dir>/member/wal)) to read. The result says which raft
        entries the member replays when it starts, and how many of them are requests in the format etcd 3.5
        wrote for its v2 store, which etcd 3.7 can no longer decode.
      - Reading is safe while etcd runs; a record still being written ends the read.
    type: path
  pki:
    description:
      - A PKI directory to read, for the etcd_tls role's plan. Each certificate's PEM text and each key's public
        half are returned, with owners and modes; the private keys never leave the node (SAFETY-17).
      - Reading keys needs the Python C(cryptography) library on the node; without it a key is returned without
        its public half and RV(pki.cryptography) is false.
    type: dict
    suboptions:
      dir:
        description: The directory (C(etcd_user_pki_dir)).
        type: path
        required: true
      sans:
        description:
          - Subject alternative names the member certificate should have, as C(DNS:name), C(IP:address) or a bare
            value; returned in RV(pki.sans) in the canonical form x509 parsers print.
        type: list
        elements: str
        default: []
  releases:
    description:
      - Where the etcd_install role keeps etcd releases. Returns each C(v<version>) directory under
        O(releases.prefix) with the binaries it holds, staging directories left by an interrupted install, and
        what the links in O(releases.bin_dir) point at.
    type: dict
    suboptions:
      prefix:
        description: The directory of the installed versions (C(etcd_install_prefix)).
        type: path
        required: true
      bin_dir:
        description: The directory of the links (C(etcd_install_bin_dir)).
        type: path
        required: true
  etcd_version:
    description:
      - Which etcd release the member runs or has, for etcd's upgrade rules (SAFETY-14). While O(etcd_version.unit)
        is active and O(etcd_version.record) is not empty, what that record says (the unit writes the version of
        the binary it started; an interrupted upgrade can leave the link newer than what runs, SAFETY-23);
        otherwise what O(etcd_version.binary) C(--version) prints; nothing when neither is there.
    type: dict
    version_added: "0.4.0"
    suboptions:
      binary:
        description: The etcd binary or link (C(<etcd_install_bin_dir>/etcd)).
        type: path
        required: true
      unit:
        description: The systemd unit of etcd (C(etcd.service)).
        type: str
        required: true
      record:
        description: The file the unit writes at each start with the output of C(etcd --version).
        type: path
        required: true
  host:
    description:
      - Also read the two host facts the roles use, much cheaper than C(ansible.builtin.setup) and without its
        network and platform subsets, into the host's facts as C(etcd_host) (see RV(ansible_facts)).
      - C(default_ipv4) is the IPv4 address the host would send from towards a public address (the route the kernel
        chooses, as C(ip -4 route get 8.8.8.8) tells; no packet is sent), C(null) without an IPv4 default route;
        C(architecture) is the machine type (C(x86_64), C(aarch64)) as the C(architecture) fact of
        C(ansible.builtin.setup) gives it on Linux.
      - Kept under its own name so that facts a play gathered itself are never replaced.
    type: bool
    default: false
    version_added: "0.4.0"
  srv:
    description:
      - DNS SRV names to look up as this host's resolvers (C(/etc/resolv.conf)) answer them, for etcd's DNS
        discovery (C(_etcd-server-ssl._tcp.<domain>)); each record's target is resolved to its addresses too.
      - A lookup that fails is reported with its reason in RV(srv), not as a failure of the module.
    type: list
    elements: str
    default: []
    version_added: "0.4.0"
  peer_probe:
    description:
      - Whether anything accepts a TCP connection on O(peer_probe.host) and O(peer_probe.port) from this host
        (RV(peer_probe)). C(etcd_service) asks it for the member's own peer address before a first bootstrap,
        where an answer means some etcd already serves there (SAFETY-1).
      - Tried only when O(peer_probe.unless) is not there (the member's WAL directory), so a member that has data,
        whose etcd answers on that port, is not connected to on every run. Nothing is sent; the connection is
        closed at once.
    type: dict
    version_added: "0.4.0"
    suboptions:
      host:
        description: The address (or name) to connect to.
        type: str
        required: true
      port:
        description: The TCP port.
        type: int
        required: true
      unless:
        description: A path; when it exists, nothing is tried and RV(peer_probe.answers) is C(null).
        type: path
      timeout:
        description: Seconds to wait for the connection; one that does not complete in time counts as no answer.
        type: float
        default: 2
  firewall:
    description:
      - What the etcd_firewall role compares before it writes, read with each firewall's own tools when they are
        installed. firewalld (running or not, and the rich rules of O(firewall.zone), runtime and permanent), ufw
        (active or not, and the rules in C(/etc/ufw/user.rules) and C(user6.rules)), nftables (the C(nft)
        command, whether the table O(firewall.nft_table) is loaded, the drop-in directory, the table file's
        checksum, mode and owner, whether O(firewall.nft_conf) includes it, whether C(nftables.service) is
        enabled) and the addresses this host resolves for the member names in O(firewall.names).
    type: dict
    version_added: "0.4.0"
    suboptions:
      zone:
        description: The firewalld zone whose rich rules are read.
        type: str
        default: public
      nft_table:
        description: The name of the collection's nftables table (family C(inet)).
        type: str
        default: quorum_etcd
      nft_dir:
        description: The drop-in directory of the nftables configuration.
        type: path
        default: /etc/nftables.d
      nft_file:
        description: The file that holds the table.
        type: path
        default: /etc/nftables.d/quorum-etcd.nft
      nft_conf:
        description: The nftables configuration that includes O(firewall.nft_file) at boot.
        type: path
        default: /etc/nftables.conf
      names:
        description:
          - Member addresses; each that is not an IP address is resolved as this host resolves it (all its IPv4
            and IPv6 addresses, as C(getent ahosts) lists them).
        type: list
        elements: str
        default: []
'''

EXAMPLES = r'''
- name: Read the host's default IPv4 address and machine type into its facts (etcd_host)
  quorum.etcd.etcd_node_info:
    host: true

- name: Read what the etcd service role manages
  quorum.etcd.etcd_node_info:
    paths: [/var/lib/etcd/member/wal, /etc/systemd/system/etcd.service]
    contents: [/etc/etcd/etcd.conf.yml]
    units: [etcd.service]
  register: node

- name: Read what a member replays from its WAL before it may run etcd 3.7
  quorum.etcd.etcd_node_info:
    wal: /var/lib/etcd/member/wal
  register: node

- name: Read the installed releases and the release the member runs
  quorum.etcd.etcd_node_info:
    releases:
      prefix: /opt/etcd
      bin_dir: /usr/local/bin
    etcd_version:
      binary: /usr/local/bin/etcd
      unit: etcd.service
      record: /run/etcd/loaded.version
  register: node

- name: Read the certificates and keys for the TLS plan, and the installed releases
  quorum.etcd.etcd_node_info:
    pki:
      dir: /etc/etcd/pki
      sans: [DNS:etcd1, 10.0.0.11, "IP:::1"]
    releases:
      prefix: /opt/etcd
      bin_dir: /usr/local/bin
  register: node
'''

RETURN = r'''
paths:
  description:
    - One entry per path in O(paths) and O(contents), keyed by the path.
    - A link has C(target) (what it points at) and C(resolved) (the path after every link is followed).
  returned: always
  type: dict
  sample:
    /etc/etcd/etcd.conf.yml:
      exists: true
      type: file
      mode: "0640"
      owner: root
      group: etcd
      checksum: 5b2a4c3c8d1ef0a8b9b1d2b7f5a3e1c0d9f8e7a6
      content: "name: etcd1\n"
contents_truncated:
  description: Paths in O(contents) not read because they are larger than 1 MiB.
  returned: always
  type: list
  elements: str
users:
  description: One entry per user, keyed by name.
  returned: always
  type: dict
  sample: {etcd: {exists: true, uid: 999, gid: 999, group: etcd, home: /var/lib/etcd, shell: /usr/sbin/nologin}}
groups:
  description: One entry per group, keyed by name.
  returned: always
  type: dict
  sample: {etcd: {exists: true, gid: 999}}
units:
  description:
    - One entry per unit, keyed by the name given, from one C(systemctl show) per unit; C(active) is its
      C(ActiveState), C(enabled) its C(UnitFileState) (its C(LoadState), such as C(not-found), when the unit
      has no file).
    - C(restarts) is systemd's C(NRestarts), the automatic restarts (C(Restart=)) since the unit was last started
      on purpose; a unit that fails at start and is restarted counts up while C(active) stays C(activating).
    - C(main_pid) is the service's main process (0 when none runs), C(exe) the binary that process was
      started from. It ends with the word deleted in brackets when that file is gone, and is empty when
      unknown or not readable (root in a container without C(CAP_SYS_PTRACE)).
  returned: always
  type: dict
  sample: {etcd.service: {active: active, enabled: enabled, restarts: 0, main_pid: 812, exe: /opt/etcd/v3.6.6/etcd}}
wal:
  description:
    - What the member replays from O(wal) when it starts; only C(exists) when the directory does not exist,
      and C(error) instead of the counts when the log cannot be read as etcd's format.
    - C(snapshot_index) is the newest committed raft snapshot in the log (replay starts after it),
      C(entries) the entries after it, C(v2_entries) how many of those are bare etcd v2 store requests,
      with the first and last such index.
  returned: when O(wal) is set
  type: dict
  sample: {exists: true, files: 1, snapshot_index: 0, commit_index: 10, last_index: 10, entries: 10,
           v2_entries: 2, v2_first_index: 3, v2_last_index: 4}
pki:
  description:
    - What O(pki.dir) holds. C(files) has one entry per file the etcd_tls role manages, null when absent.
    - A certificate has C(content) (its PEM text) or C(error); a key has C(public_key) (the PEM of its public half)
      or C(error), and neither when C(cryptography) is false.
  returned: when O(pki) is set
  type: dict
  contains:
    cryptography:
      description: Whether the node's Python can import the C(cryptography) library.
      type: bool
    pki_dir:
      description: Whether O(pki.dir) is a directory.
      type: bool
    files:
      description: Keyed by file name (C(ca.crt), C(member.crt), C(member.key), ...).
      type: dict
    sans:
      description: O(pki.sans) made canonical (C(IP:) for addresses, IPv6 compressed), sorted, without duplicates.
      type: list
      elements: str
  sample:
    cryptography: true
    pki_dir: true
    sans: ["DNS:etcd1", "IP:10.0.0.11", "IP:::1"]
    files:
      member.crt: {mode: "0644", owner: etcd, group: etcd, content: "-----BEGIN CERTIFICATE-----..."}
      member.key: {mode: "0600", owner: etcd, group: etcd, public_key: "-----BEGIN PUBLIC KEY-----..."}
      admin.crt: null
releases:
  description: What O(releases.prefix) and O(releases.bin_dir) hold.
  returned: when O(releases) is set
  type: dict
  contains:
    versions:
      description: Each C(v<version>) directory (not a link) under O(releases.prefix), with the executable etcd binaries in it.
      type: dict
    staging:
      description: Directories an interrupted install left in O(releases.prefix) (C(.etcd-install-*)).
      type: list
      elements: str
    bin_dir:
      description: Whether O(releases.bin_dir) is a directory.
      type: bool
    links:
      description:
        - For each of C(etcd), C(etcdctl), C(etcdutl) present in O(releases.bin_dir), what its link points at;
          an empty string for a file that is not a link.
      type: dict
    prefix_path:
      description: O(releases.prefix) as given, so a caller handed this result can tell which prefix was read.
      type: str
    bin_dir_path:
      description: O(releases.bin_dir) as given.
      type: str
  sample:
    versions: {v3.6.16: [etcd, etcdctl, etcdutl]}
    staging: []
    bin_dir: true
    links: {etcd: /opt/etcd/v3.6.16/etcd, etcdctl: /opt/etcd/v3.6.16/etcdctl, etcdutl: /opt/etcd/v3.6.16/etcdutl}
    prefix_path: /opt/etcd
    bin_dir_path: /usr/local/bin
etcd_version:
  description:
    - The release (C(3.6.16)) O(etcd_version) found, or an empty string when no etcd runs and none is installed.
  returned: when O(etcd_version) is set
  type: str
  sample: "3.6.16"
ansible_facts:
  description: The host facts O(host) reads, merged into the host's facts.
  returned: when O(host) is true
  type: dict
  contains:
    etcd_host:
      description: The host's default IPv4 address (C(default_ipv4), C(null) without a default route) and its
        machine type (C(architecture)).
      type: dict
  sample:
    etcd_host: {default_ipv4: 10.0.0.11, architecture: x86_64}
srv:
  description:
    - One entry per name of O(srv). C(records) are its SRV records sorted by priority and weight, each with its
      C(target) (lower case, no trailing dot), C(port), C(priority), C(weight) and the C(addresses) this host
      resolves the target to; C(error) says why the lookup failed (C(null) when it did not).
  returned: when O(srv) is not empty
  type: dict
  sample:
    _etcd-server-ssl._tcp.etcd.example.internal:
      error: null
      records:
        - {target: etcd1.etcd.example.internal, port: 2380, priority: 0, weight: 0, addresses: [10.0.0.11]}
peer_probe:
  description: What O(peer_probe) found.
  returned: when O(peer_probe) is set
  type: dict
  contains:
    answers:
      description: C(true) when the connection was accepted, C(false) when it was refused or timed out, C(null) when
        O(peer_probe.unless) exists and nothing was tried.
      type: bool
  sample: {answers: false}
firewall:
  description:
    - What O(firewall) found. C(firewalld) is C(running), C(stopped) or C(absent); C(ufw) is C(active),
      C(inactive) or C(absent); C(nft), C(nft_table), C(nft_dir) and C(nft_include) are C(present) or C(absent).
    - C(nft_file) is the table file's SHA-1, mode (octal, as C(stat -c %a) prints it), owner and group separated by
      spaces, or C(absent); C(nft_service) is what C(systemctl is-enabled nftables.service) prints.
    - C(rich) and C(rich_permanent) are the zone's rich rules (runtime and permanent) when firewalld runs;
      C(ufw_rules) the rule tuples of ufw's rules files when ufw is installed.
    - C(resolved) maps each name of O(firewall.names) to its addresses, sorted; C(unresolved) lists the names
      without any; C(asked) repeats the zone and the nftables paths, so a caller handed this result can tell
      whether it was read for its own settings.
  returned: when O(firewall) is set
  type: dict
  sample:
    firewalld: absent
    rich: []
    rich_permanent: []
    ufw: absent
    ufw_rules: []
    nft: present
    nft_table: present
    nft_dir: present
    nft_file: 0b1c9d6a2f0e4c33b8a1d1c0f0e9d8c7b6a5f4e3 644 root root
    nft_include: present
    nft_service: enabled
    resolved: {etcd1.example.internal: [10.0.0.11]}
    unresolved: []
    asked: {zone: public, nft_table: quorum_etcd, nft_dir: /etc/nftables.d, nft_file: /etc/nftables.d/quorum-etcd.nft,
            nft_conf: /etc/nftables.conf}
'''

import grp
import hashlib
import ipaddress
import os
import pwd
import re
import socket
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_dns import DnsError, lookup_srv
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_wal import WalError, scan

# cryptography is imported only when the PKI dir is read (about 0.2 s of a
# node's CPU per call; the host facts and the other reads do without it).
x509 = serialization = None  # pylint: disable=invalid-name


def has_cryptography():
    """Import cryptography on first use; whether it is there."""
    global x509, serialization  # pylint: disable=global-statement
    if x509 is None:
        try:
            from cryptography import x509 as _x509  # pylint: disable=import-outside-toplevel
            from cryptography.hazmat.primitives import serialization as _serialization  # pylint: disable=import-outside-toplevel
        except ImportError:
            return False
        x509, serialization = _x509, _serialization
    return True


MAX_CONTENT = 1024 * 1024
TYPES = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"), (stat.S_ISLNK, "link"))


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def path_info(path, want_content):
    """Stat one path; checksum (and content) for regular files."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False}, False
    kind = next((name for test, name in TYPES if test(st.st_mode)), "other")
    info = {
        "exists": True,
        "type": kind,
        "mode": "%04o" % stat.S_IMODE(st.st_mode),
        "owner": _name(pwd.getpwuid, st.st_uid),
        "group": _name(grp.getgrgid, st.st_gid),
    }
    truncated = False
    if kind == "link":
        info["target"] = os.readlink(path)
        info["resolved"] = os.path.realpath(path)
    elif kind == "file":
        with open(path, "rb") as fh:
            data = fh.read()
        info["checksum"] = hashlib.sha1(data).hexdigest()
        if want_content:
            if len(data) > MAX_CONTENT:
                truncated = True
            else:
                info["content"] = data.decode("utf-8", "replace")
    return info, truncated


def user_info(name):
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return {"exists": False}
    return {"exists": True, "uid": pw.pw_uid, "gid": pw.pw_gid, "group": _name(grp.getgrgid, pw.pw_gid),
            "home": pw.pw_dir, "shell": pw.pw_shell}


def group_info(name):
    try:
        return {"exists": True, "gid": grp.getgrnam(name).gr_gid}
    except KeyError:
        return {"exists": False}


def process_exe(pid):
    """The binary a running process was started from (Linux /proc), with
    " (deleted)" at the end when that file is gone; "" when unknown."""
    if not pid:
        return ""
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return ""


def unit_info(module, systemctl, name):
    """One ``systemctl show`` for the unit's state, enabled state, automatic
    restarts and main process (three calls, is-active, is-enabled and show,
    before: each a round trip to systemd)."""
    if not systemctl:
        return {"active": "unknown", "enabled": "unknown", "restarts": 0, "main_pid": 0, "exe": ""}
    rc, stdout, stderr = module.run_command([systemctl, "show", "--property=ActiveState", "--property=UnitFileState",
                                             "--property=LoadState", "--property=NRestarts", "--property=MainPID",
                                             name])
    props = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line) if rc == 0 else {}
    out = {"active": props.get("ActiveState") or "unknown",
           # A unit without a file has no UnitFileState: its LoadState
           # (not-found, masked, ...) tells why.
           "enabled": props.get("UnitFileState") or props.get("LoadState") or "unknown"}
    out["restarts"] = int(props["NRestarts"]) if props.get("NRestarts", "").isdigit() else 0
    out["main_pid"] = int(props["MainPID"]) if props.get("MainPID", "").isdigit() else 0
    # SAFETY-23: what runs, not what a link points at now.
    out["exe"] = process_exe(out["main_pid"])
    return out


def wal_info(wal_dir):
    """What a member replays from its WAL (module_utils/etcd_wal.py)."""
    if not os.path.isdir(wal_dir):
        return {"exists": False}
    try:
        info = scan(wal_dir)
    except (WalError, OSError) as exc:
        return {"exists": True, "error": "cannot read the WAL in %s: %s" % (wal_dir, exc)}
    info["exists"] = True
    return info


PKI_CERTS = ("ca.crt", "member.crt", "admin.crt", "client.crt")
PKI_KEYS = ("member.key", "admin.key", "client.key")
BINARIES = ("etcd", "etcdctl", "etcdutl")


def canonical_san(entry):
    """A SAN as x509 parsers print it: C(DNS:name) or C(IP:address), an
    address (also a bare one) in its compressed form."""
    kind, sep, value = entry.partition(":")
    if not (sep and kind.upper() in ("DNS", "IP")):
        kind, value = "", entry
    value = value.strip()
    if kind.upper() != "DNS":
        try:
            return "IP:" + str(ipaddress.ip_address(value.strip("[]")))
        except ValueError:
            if kind:
                return "IP:" + value
    return "DNS:" + value


def pki_file(path, is_key, crypto=None):
    """Owner, mode and the public part of one PKI file; None when absent.
    A private key is parsed only to return its public half (SAFETY-17)."""
    crypto = has_cryptography() if crypto is None else crypto
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    info = {"mode": "%04o" % stat.S_IMODE(st.st_mode), "owner": _name(pwd.getpwuid, st.st_uid),
            "group": _name(grp.getgrgid, st.st_gid)}
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        info["error"] = exc.strerror
        return info
    if is_key:
        if crypto:
            try:
                key = serialization.load_pem_private_key(data, password=None)
                info["public_key"] = key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
            except (ValueError, TypeError):
                info["error"] = "not an unencrypted PEM private key"
        return info
    text = data.decode("ascii", "replace")
    try:
        if crypto:
            x509.load_pem_x509_certificate(data)
        elif "-----BEGIN CERTIFICATE-----" not in text:
            raise ValueError(path)
        info["content"] = text
    except ValueError:
        info["error"] = "not a PEM certificate"
    return info


def pki_info(pki_dir, sans, crypto=None):
    """What the etcd_tls role's plan reads from a node's PKI directory."""
    crypto = has_cryptography() if crypto is None else crypto
    files = {}
    for name in PKI_CERTS + PKI_KEYS:
        files[name] = pki_file(os.path.join(pki_dir, name), name in PKI_KEYS, crypto)
    return {"cryptography": crypto, "pki_dir": os.path.isdir(pki_dir), "files": files,
            "sans": sorted(set(canonical_san(entry) for entry in sans))}


def releases_info(prefix, bin_dir):
    """The installed etcd versions, interrupted installs and the links."""
    versions, staging = {}, []
    names = sorted(os.listdir(prefix)) if os.path.isdir(prefix) else []
    for name in names:
        path = os.path.join(prefix, name)
        if os.path.islink(path) or not os.path.isdir(path):
            continue
        if name.startswith("v"):
            versions[name] = [b for b in BINARIES
                              if os.path.isfile(os.path.join(path, b)) and os.access(os.path.join(path, b), os.X_OK)]
        elif name.startswith(".etcd-install-"):
            staging.append(name)
    links = {}
    for binary in BINARIES:
        path = os.path.join(bin_dir, binary)
        if os.path.islink(path):
            links[binary] = os.readlink(path)
        elif os.path.lexists(path):
            links[binary] = ""
    return {"versions": versions, "staging": staging, "bin_dir": os.path.isdir(bin_dir), "links": links,
            "prefix_path": prefix, "bin_dir_path": bin_dir}


VERSION = re.compile(r"etcd Version: (\d+\.\d+\.\d+)")


def running_version(module, systemctl, binary, unit, record, active=None):
    """The etcd release a member runs (its unit's record while the unit is
    active, SAFETY-23) or has (its binary's --version); "" for neither.
    ``active``: the unit's ActiveState when the same call read it already."""
    text = ""
    try:
        with open(record) as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        pass
    # `systemctl is-active` answers 0 for these states.
    if text.strip() and (active in ("active", "reloading", "refreshing") if active is not None else
                         systemctl and module.run_command([systemctl, "is-active", "--quiet", unit])[0] == 0):
        found = VERSION.search(text)
        return found.group(1) if found else ""
    if os.path.isfile(binary) and os.access(binary, os.X_OK):
        rc, stdout, stderr = module.run_command([binary, "--version"])
        found = VERSION.search(stdout) if rc == 0 else None
        return found.group(1) if found else ""
    return ""


UFW_RULES = ("/etc/ufw/user.rules", "/etc/ufw/user6.rules")


def _lines(text):
    return [line for line in text.splitlines() if line.strip()]


def resolve(name):
    """Every address this host resolves ``name`` to (getent ahosts: IPv4
    and IPv6), sorted as text; [] when it resolves to none."""
    try:
        found = socket.getaddrinfo(name, None)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted(set(entry[4][0] for entry in found))


def is_ip(value):
    try:
        ipaddress.ip_address(value.strip("[]"))
        return True
    except ValueError:
        return False


def firewall_info(run, which, spec, ufw_rules=UFW_RULES):
    """What etcd_firewall compares (see the option's documentation).
    ``run(argv)`` returns (rc, stdout, stderr); ``which(name)`` a command's
    path or None."""
    out = {"rich": [], "rich_permanent": [], "ufw_rules": []}
    firewall_cmd = which("firewall-cmd")
    if not firewall_cmd:
        out["firewalld"] = "absent"
    elif run([firewall_cmd, "--state"])[0] != 0:
        out["firewalld"] = "stopped"
    else:
        out["firewalld"] = "running"
        for key, extra in (("rich", []), ("rich_permanent", ["--permanent"])):
            rc, stdout, _err = run([firewall_cmd] + extra + ["--zone=" + spec["zone"], "--list-rich-rules"])
            out[key] = _lines(stdout) if rc == 0 else []
    ufw = which("ufw")
    if not ufw:
        out["ufw"] = "absent"
    else:
        out["ufw"] = "active" if "Status: active" in run([ufw, "status"])[1] else "inactive"
        for path in ufw_rules:
            try:
                with open(path) as fh:
                    out["ufw_rules"] += [line[len("### tuple ### "):].rstrip("\n") for line in fh
                                         if line.startswith("### tuple ### ")]
            except (OSError, UnicodeDecodeError):
                pass
    nft = which("nft")
    out["nft"] = "present" if nft else "absent"
    out["nft_table"] = "present" if nft and run([nft, "list", "table", "inet", spec["nft_table"]])[0] == 0 else "absent"
    out["nft_dir"] = "present" if os.path.isdir(spec["nft_dir"]) else "absent"
    if os.path.isfile(spec["nft_file"]):
        st = os.stat(spec["nft_file"])
        with open(spec["nft_file"], "rb") as fh:
            digest = hashlib.sha1(fh.read()).hexdigest()
        out["nft_file"] = "%s %o %s %s" % (digest, stat.S_IMODE(st.st_mode), _name(pwd.getpwuid, st.st_uid),
                                           _name(grp.getgrgid, st.st_gid))
    else:
        out["nft_file"] = "absent"
    include = 'include "%s"' % spec["nft_file"]
    try:
        with open(spec["nft_conf"]) as fh:
            out["nft_include"] = "present" if any(line.rstrip("\n") == include for line in fh) else "absent"
    except (OSError, UnicodeDecodeError):
        out["nft_include"] = "absent"
    systemctl = which("systemctl")
    enabled = run([systemctl, "is-enabled", "nftables.service"])[1] if systemctl else ""
    out["nft_service"] = (_lines(enabled) or [""])[0].strip()
    names = [name for name in dict.fromkeys(spec["names"]) if not is_ip(name)]
    out["resolved"] = dict((name, resolve(name)) for name in names)
    out["unresolved"] = [name for name in names if not out["resolved"][name]]
    out["resolved"] = dict((name, ips) for name, ips in out["resolved"].items() if ips)
    out["asked"] = dict((key, spec[key]) for key in ("zone", "nft_table", "nft_dir", "nft_file", "nft_conf"))
    return out


def answers(host, port, timeout):
    """Whether ``host``:``port`` accepts a TCP connection (closed at once)."""
    try:
        sock = socket.create_connection((host.strip("[]"), port), timeout=timeout)
    except (OSError, UnicodeError):
        return False
    sock.close()
    return True


def peer_probe(spec):
    """O(peer_probe): not tried (None) when ``unless`` exists."""
    if spec["unless"] and os.path.lexists(spec["unless"]):
        return {"answers": None}
    return {"answers": answers(spec["host"], spec["port"], spec["timeout"])}


def srv_info(names, lookup=lookup_srv):
    """Each SRV name's records (with the addresses of their targets) or why
    the lookup failed."""
    out = {}
    for name in names:
        try:
            records = lookup(name)
        except DnsError as exc:
            out[name] = {"records": [], "error": str(exc)}
            continue
        for record in records:
            record["addresses"] = resolve(record["target"])
        out[name] = {"records": records, "error": None}
    return out


def host_facts():
    """The default IPv4 source address (a UDP socket connected towards a
    public address: the kernel picks the route and the source, nothing is
    sent) and the machine type."""
    address = None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.connect(("8.8.8.8", 53))
        address = sock.getsockname()[0]
    except OSError:
        address = None
    finally:
        sock.close()
    return {"default_ipv4": address, "architecture": os.uname().machine}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", default=[]),
            contents=dict(type="list", elements="path", default=[]),
            users=dict(type="list", elements="str", default=[]),
            groups=dict(type="list", elements="str", default=[]),
            units=dict(type="list", elements="str", default=[]),
            wal=dict(type="path"),
            pki=dict(type="dict", options=dict(
                dir=dict(type="path", required=True),
                sans=dict(type="list", elements="str", default=[]),
            )),
            releases=dict(type="dict", options=dict(
                prefix=dict(type="path", required=True),
                bin_dir=dict(type="path", required=True),
            )),
            etcd_version=dict(type="dict", options=dict(
                binary=dict(type="path", required=True),
                unit=dict(type="str", required=True),
                record=dict(type="path", required=True),
            )),
            firewall=dict(type="dict", options=dict(
                zone=dict(type="str", default="public"),
                nft_table=dict(type="str", default="quorum_etcd"),
                nft_dir=dict(type="path", default="/etc/nftables.d"),
                nft_file=dict(type="path", default="/etc/nftables.d/quorum-etcd.nft"),
                nft_conf=dict(type="path", default="/etc/nftables.conf"),
                names=dict(type="list", elements="str", default=[]),
            )),
            host=dict(type="bool", default=False),
            srv=dict(type="list", elements="str", default=[]),
            peer_probe=dict(type="dict", options=dict(
                host=dict(type="str", required=True),
                port=dict(type="int", required=True),
                unless=dict(type="path"),
                timeout=dict(type="float", default=2),
            )),
        ),
        supports_check_mode=True,
    )
    p = module.params
    paths, truncated = {}, []
    try:
        for path in p["paths"] + p["contents"]:
            info, cut = path_info(path, path in p["contents"])
            paths[path] = info
            if cut:
                truncated.append(path)
    except OSError as exc:
        module.fail_json(msg="cannot read %s: %s" % (exc.filename, exc.strerror))
    systemctl = module.get_bin_path("systemctl") if p["units"] or p["etcd_version"] else None
    result = dict(
        changed=False,
        paths=paths,
        contents_truncated=truncated,
        users=dict((name, user_info(name)) for name in p["users"]),
        groups=dict((name, group_info(name)) for name in p["groups"]),
        units=dict((name, unit_info(module, systemctl, name)) for name in p["units"]),
    )
    if p["wal"]:
        result["wal"] = wal_info(p["wal"])
    if p["srv"]:
        result["srv"] = srv_info(p["srv"])
    if p["host"]:
        result["ansible_facts"] = {"etcd_host": host_facts()}
    if p["peer_probe"]:
        result["peer_probe"] = peer_probe(p["peer_probe"])
    try:
        if p["pki"]:
            result["pki"] = pki_info(p["pki"]["dir"], p["pki"]["sans"])
        if p["releases"]:
            result["releases"] = releases_info(p["releases"]["prefix"], p["releases"]["bin_dir"])
        if p["etcd_version"]:
            v = p["etcd_version"]
            result["etcd_version"] = running_version(module, systemctl, v["binary"], v["unit"], v["record"],
                                                     result["units"].get(v["unit"], {}).get("active"))
        if p["firewall"]:
            result["firewall"] = firewall_info(module.run_command, module.get_bin_path, p["firewall"])
    except OSError as exc:
        module.fail_json(msg="cannot read %s: %s" % (exc.filename, exc.strerror))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
