# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: which of a node's certificates and keys to keep, issue or make again, and why (SAFETY-17, SAFETY-19)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_tls_plan
short_description: Decide which certificates and keys of one etcd node to keep, issue or make again, and why
version_added: "0.3.0"
description:
  - Takes what M(quorum.etcd.etcd_node_info) read from a node's PKI directory (its C(pki) result) and decides
    on the controller, for each certificate the etcd_tls role manages, whether to keep it or to issue a new
    one, with every reason.
  - A certificate is issued when it is missing or unusable, when its key is missing or unusable, when it does
    not match its key, when it was not signed by the current CA (issuer and authority key identifier), when
    it expires within O(renew_days), when its common name, subject alternative names or extended key usage
    differ from O(profiles), or when O(force) is set. A valid certificate is never issued again otherwise
    (SAFETY-17).
  - A key is made again only when it is missing or unusable; a readable key is kept whatever its type.
  - Also decides whether C(ca.crt) is to be written (it differs from O(trust_pem)), which kept files need
    their owner or mode put back (SAFETY-19), and whether etcd must restart to read the result (a new
    C(ca.crt) or a new member key; etcd reads a re-issued certificate at every new connection).
options:
  _input:
    description: The C(pki) result of M(quorum.etcd.etcd_node_info) for the node.
    type: dict
    required: true
  profiles:
    description:
      - What each certificate must say, keyed by its name (C(member), C(admin), C(client)); each has
        C(common_name) (may be empty) and C(extended_key_usage) (C(serverAuth), C(clientAuth)).
      - Only the C(member) certificate carries the subject alternative names of the C(pki) result.
    type: dict
    required: true
  ca_pem:
    description: The current CA certificate (PEM); empty when the CA does not exist yet.
    type: str
    default: ''
  trust_pem:
    description: What C(ca.crt) on the node must hold (the CA certificate, or a bundle during a CA rotation).
    type: str
    default: ''
  renew_days:
    description: A certificate that expires within this many days is issued again.
    type: int
    default: 30
  force:
    description: Issue every certificate again, keeping the keys.
    type: bool
    default: false
  owner:
    description: The owner every file of the directory must have.
    type: str
    required: true
  group:
    description: The group every file of the directory must have.
    type: str
    required: true
  modes:
    description: The mode each file must have, keyed by file name.
    type: dict
    required: true
  now:
    description: The time to compare expiry dates with, as seconds since the epoch (tests); now when unset.
    type: float
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Decide what this node needs
  ansible.builtin.set_fact:
    tls_plan: >-
      {{ node.pki | quorum.etcd.etcd_tls_plan(
           profiles={'member': {'common_name': 'etcd1', 'extended_key_usage': ['serverAuth', 'clientAuth']}},
           ca_pem=lookup('file', 'pki/ca.crt'), trust_pem=lookup('file', 'pki/ca.crt'),
           owner='etcd', group='etcd', modes={'ca.crt': '0644', 'member.crt': '0644', 'member.key': '0600'}) }}
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    certificates:
      description:
        - Keyed by certificate name; each has C(issue) (bool), C(rekey) (make the key again), C(key_state)
          (C(ok), C(missing), C(bad), or C(unknown) without the node's crypto library), C(sans) (what to ask
          for) and C(reasons) (why it is issued; empty when kept).
      type: dict
    write_ca:
      description: Whether C(ca.crt) is to be written.
      type: bool
    fix:
      description: Kept files whose owner or mode drifted, with the mode to put back.
      type: dict
    todo:
      description: Whether anything is to be written or put back.
      type: bool
    changed:
      description: Whether C(ca.crt) or a certificate is to be written.
      type: bool
    restart_needed:
      description: Whether etcd must restart to use what is written (a new C(ca.crt) or a new member key).
      type: bool
'''

import datetime
import time

from ansible.errors import AnsibleFilterError

# cryptography is imported on first use, not with the module: Ansible loads
# every filter file of the collection in each worker process that uses any
# one of them, and this import alone was about a third of that cost.
x509 = serialization = NameOID = None


def _require_cryptography():
    """Import cryptography once per process; one clear error when it is missing."""
    global x509, serialization, NameOID  # pylint: disable=global-statement
    if x509 is None:
        try:
            from cryptography import x509 as _x509
            from cryptography.hazmat.primitives import serialization as _serialization
            from cryptography.x509.oid import NameOID as _NameOID
        except ImportError:
            raise AnsibleFilterError("etcd_tls_plan needs the Python cryptography library on the controller") from None
        x509, serialization, NameOID = _x509, _serialization, _NameOID


KINDS = ("member", "admin", "client")
EKU_NAMES = {"serverAuth": "1.3.6.1.5.5.7.3.1", "clientAuth": "1.3.6.1.5.5.7.3.2"}


def _extension(cert, kind):
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _not_after(cert):
    when = getattr(cert, "not_valid_after_utc", None)
    if when is None:  # cryptography before 42
        when = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return when


def _san(name):
    if isinstance(name, x509.IPAddress):
        return "IP:%s" % name.value
    if isinstance(name, x509.DNSName):
        return "DNS:%s" % name.value
    return "other:%s" % getattr(name, "value", name)


def cert_facts(pem):
    """The parts of a certificate the plan compares."""
    _require_cryptography()
    cert = x509.load_pem_x509_certificate(pem.encode("ascii") if isinstance(pem, str) else pem)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    san = _extension(cert, x509.SubjectAlternativeName)
    eku = _extension(cert, x509.ExtendedKeyUsage)
    aki = _extension(cert, x509.AuthorityKeyIdentifier)
    ski = _extension(cert, x509.SubjectKeyIdentifier)
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "common_name": cns[0].value if cns else "",
        "sans": sorted(_san(n) for n in san) if san else [],
        "eku": sorted(e.dotted_string for e in eku) if eku else [],
        "aki": aki.key_identifier if aki else None,
        "ski": ski.digest if ski else None,
        "not_after": _not_after(cert),
        "public_key": cert.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii").strip(),
    }


def _key_state(key):
    if key is None:
        return "missing"
    if "error" in key:
        return "bad"
    return "ok" if "public_key" in key else "unknown"


def _reasons(kind, crt, key, key_state, profile, want_sans, ca, renew_days, now):
    why = []
    if key_state == "missing":
        why.append("no key")
    elif key_state == "bad":
        why.append("key unusable: %s" % key["error"])
    elif key_state == "unknown":
        why.append("key not readable without python3-cryptography")
    if crt is None or "content" not in crt:
        why.append("no certificate" if crt is None else "certificate unusable: %s" % crt.get("error", "unreadable"))
        return why
    try:
        info = cert_facts(crt["content"])
    except ValueError as exc:
        return why + ["certificate unusable: %s" % exc]
    if key_state == "ok" and info["public_key"] != key["public_key"].strip():
        why.append("certificate does not match its key")
    if ca is None or info["issuer"] != ca["subject"] or info["aki"] != ca["ski"]:
        why.append("not signed by the current CA")
    days_left = (info["not_after"] - now).total_seconds() / 86400
    if days_left < renew_days:
        why.append("expires %s (renew %d days before)" % (info["not_after"].strftime("%Y-%m-%dT%H:%M:%SZ"), renew_days))
    if info["common_name"] != profile.get("common_name", ""):
        why.append("CN %s != %s" % (info["common_name"], profile.get("common_name", "")))
    if info["sans"] != sorted(want_sans):
        why.append("SANs %s != %s" % (",".join(info["sans"]), ",".join(sorted(want_sans))))
    want_eku = sorted(EKU_NAMES.get(e, e) for e in profile.get("extended_key_usage", []))
    if info["eku"] != want_eku:
        why.append("key usage %s != %s" % (",".join(info["eku"]), ",".join(want_eku)))
    return why


def etcd_tls_plan(pki, profiles, owner, group, modes, ca_pem="", trust_pem="", renew_days=30, force=False, now=None):
    _require_cryptography()
    if not isinstance(pki, dict) or "files" not in pki:
        raise AnsibleFilterError("etcd_tls_plan takes the pki result of quorum.etcd.etcd_node_info, got %r" % (pki,))
    unknown = sorted(set(profiles) - set(KINDS))
    if unknown:
        raise AnsibleFilterError("etcd_tls_plan: no certificate kind %s (known: %s)" % (", ".join(unknown), ", ".join(KINDS)))
    renew_days = int(renew_days)
    moment = datetime.datetime.fromtimestamp(time.time() if now is None else float(now), datetime.timezone.utc)
    ca = cert_facts(ca_pem) if ca_pem and ca_pem.strip() else None
    files = pki["files"]
    certificates = {}
    for kind in KINDS:
        if kind not in profiles:
            continue
        key = files.get(kind + ".key")
        key_state = _key_state(key)
        want_sans = list(pki.get("sans", [])) if kind == "member" else []
        why = _reasons(kind, files.get(kind + ".crt"), key, key_state, profiles[kind], want_sans, ca, renew_days, moment)
        if force and not why:
            why = ["etcd_tls_force_renew"]
        certificates[kind] = {"issue": bool(why), "rekey": key_state in ("missing", "bad"), "key_state": key_state,
                              "sans": want_sans, "reasons": why}
    ca_file = files.get("ca.crt")
    write_ca = ca_file is None or (ca_file.get("content") or "").strip() != (trust_pem or "").strip()
    written = set(["ca.crt"] if write_ca else [])
    for kind, item in certificates.items():
        if item["issue"]:
            written.add(kind + ".crt")
        if item["rekey"]:
            written.add(kind + ".key")
    fix = {}
    for name, mode in sorted(modes.items()):
        info = files.get(name)
        if info is not None and name not in written and (
                info.get("mode") != mode or info.get("owner") != owner or info.get("group") != group):
            fix[name] = mode
    issue = any(item["issue"] for item in certificates.values())
    rekey = any(item["rekey"] for item in certificates.values())
    return {
        "certificates": certificates,
        "write_ca": write_ca,
        "fix": fix,
        "todo": write_ca or issue or rekey or bool(fix),
        "changed": write_ca or issue,
        "restart_needed": write_ca or certificates.get("member", {}).get("rekey", False),
    }


class FilterModule(object):
    def filters(self):
        return {"etcd_tls_plan": etcd_tls_plan}
