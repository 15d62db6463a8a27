#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_tls_ca
short_description: Make the cluster CA on the controller in one call, never replacing its key
version_added: "0.4.0"
description:
  - Meant to run on the controller (SAFETY-17 in the collection's docs/SAFETY.md). Makes the CA directory
    (mode 0700) or puts its mode back, the CA private key C(ca.key) (0600) when it is missing, and the
    self-signed CA certificate C(ca.crt) (0644) when it is missing or the key was just made.
  - An existing key is never replaced, not even when it cannot be read; with O(passphrase) it is opened on
    every call, so a wrong passphrase is named at once and not when a certificate is next signed.
  - The certificate says C(CA:TRUE) with a path length of 0 and the key usages C(keyCertSign), C(cRLSign) and
    C(digitalSignature), all critical; it carries a subject key identifier, optional permitted name constraints
    (critical), and is valid from one hour before now for O(valid_days) days, signed with SHA-256.
  - One call where M(community.crypto.openssl_privatekey), M(community.crypto.openssl_csr_pipe),
    M(community.crypto.x509_certificate) and M(ansible.builtin.file) make four.
requirements:
  - cryptography on the controller (community.crypto needs it too).
author:
  - quorum.etcd maintainers (@quorum)
attributes:
  action:
    description:
      - An action plugin of the same name runs the module in the controller's Ansible process, with no connection,
        no Python start and no module transfer; the task is meant for the controller anyway (SAFETY-17).
    support: full
  check_mode:
    description: Reports what would be made, writes nothing.
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  path:
    description: The CA directory; C(ca.key) and C(ca.crt) live in it.
    type: path
    required: true
  key_type:
    description: Type of a new key, ECDSA on the P-256 curve or RSA of O(rsa_size) bits.
    type: str
    choices: [ecdsa, rsa]
    default: ecdsa
  rsa_size:
    description: Size of a new RSA key in bits.
    type: int
    default: 3072
  passphrase:
    description: Passphrase that encrypts a new key and opens an existing one; empty for an unencrypted key.
    type: str
    default: ""
  common_name:
    description: Common name of a new CA certificate.
    type: str
    required: true
  valid_days:
    description: Days a new CA certificate is valid for.
    type: int
    required: true
  name_constraints_permitted:
    description:
      - Permitted name constraints of a new CA certificate, each C(DNS:<name>), C(IP:<network>), C(email:<name>)
        or C(URI:<name>). Empty adds none.
    type: list
    elements: str
    default: []
'''

EXAMPLES = r'''
- name: Make the cluster CA on the controller
  quorum.etcd.etcd_tls_ca:
    path: "{{ inventory_dir }}/etcd-pki/main"
    common_name: etcd CA
    valid_days: 3650
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
made:
  description:
    - What was (or in check mode would be) made or put right, of C(directory), C(mode) (the directory's), C(key),
      C(key mode) and C(certificate).
  type: list
  elements: str
  returned: success
  sample: [directory, key, certificate]
'''

import datetime
import ipaddress
import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_bytes, to_text

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_ERROR = traceback.format_exc()


class CaError(Exception):
    pass


def general_name(entry):
    """A permitted subtree from C(DNS:...), C(IP:...), C(email:...), C(URI:...)."""
    kind, sep, value = str(entry).partition(":")
    if not sep or not value:
        raise CaError("name constraint %r is not of the form DNS:<name>, IP:<network>, email:<name> or URI:<name>" % entry)
    kind = kind.strip().lower()
    if kind == "dns":
        return x509.DNSName(value)
    if kind == "ip":
        try:
            return x509.IPAddress(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise CaError("name constraint %r: %r is not an IP network" % (entry, value))
    if kind == "email":
        return x509.RFC822Name(value)
    if kind == "uri":
        return x509.UniformResourceIdentifier(value)
    raise CaError("name constraint %r: the kind %r is none of DNS, IP, email, URI" % (entry, kind))


def new_key(key_type, rsa_size):
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_size)
    return ec.generate_private_key(ec.SECP256R1())


def key_bytes(key, passphrase):
    encryption = (serialization.BestAvailableEncryption(to_bytes(passphrase)) if passphrase
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def load_key(path, passphrase):
    try:
        with open(path, "rb") as fh:
            return serialization.load_pem_private_key(fh.read(), password=to_bytes(passphrase) if passphrase else None)
    except (IOError, OSError, ValueError, TypeError) as exc:
        # The exception text never holds the passphrase.
        raise CaError("the CA key %s cannot be read (wrong or missing passphrase?): %s" % (path, exc))


def ca_certificate(key, common_name, valid_days, permitted, now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (x509.CertificateBuilder()
               .subject_name(name).issuer_name(name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=valid_days))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if permitted:
        builder = builder.add_extension(
            x509.NameConstraints(permitted_subtrees=[general_name(e) for e in permitted], excluded_subtrees=None),
            critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def write_private(path, data, mode):
    """Write a new file only readable as ``mode`` from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, mode)


def run(params, check_mode):
    """Make what is missing; the list of what was (would be) made."""
    if params["valid_days"] < 1:
        raise CaError("valid_days %r is below 1" % params["valid_days"])
    if not str(params["common_name"]).strip():
        raise CaError("common_name is empty")
    if params["key_type"] == "rsa" and params["rsa_size"] < 2048:
        raise CaError("rsa_size %d is below 2048" % params["rsa_size"])
    permitted = params["name_constraints_permitted"]
    for entry in permitted:
        general_name(entry)  # a bad entry is named before anything is made
    ca_dir = params["path"]
    key_path, crt_path = os.path.join(ca_dir, "ca.key"), os.path.join(ca_dir, "ca.crt")
    made = []
    if not os.path.isdir(ca_dir):
        if os.path.lexists(ca_dir):
            raise CaError("%s exists and is not a directory" % ca_dir)
        made.append("directory")
    elif os.stat(ca_dir).st_mode & 0o7777 != 0o700:
        made.append("mode")
    key_there = os.path.exists(key_path)
    key = None
    if key_there and (params["passphrase"] or not os.path.exists(crt_path)):
        key = load_key(key_path, params["passphrase"])  # named at once when it cannot be opened
    if not key_there:
        made.append("key")
    elif os.stat(key_path).st_mode & 0o7777 != 0o600:
        made.append("key mode")
    if not key_there or not os.path.exists(crt_path):
        made.append("certificate")
    if check_mode or not made:
        return made
    if "directory" in made:
        os.makedirs(ca_dir, 0o700)
    os.chmod(ca_dir, 0o700)
    if not key_there:
        key = new_key(params["key_type"], params["rsa_size"])
        write_private(key_path, key_bytes(key, params["passphrase"]), 0o600)
    elif "key mode" in made:
        os.chmod(key_path, 0o600)
    if "certificate" in made:
        pem = ca_certificate(key, params["common_name"], params["valid_days"], permitted)
        tmp = crt_path + ".tmp-%d" % os.getpid()
        write_private(tmp, pem, 0o644)
        os.rename(tmp, crt_path)
    return made


# Shared with the action plugin of the same name (plugins/action/etcd_tls_ca.py),
# which runs this in the controller's Ansible process.
ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    key_type=dict(type="str", choices=["ecdsa", "rsa"], default="ecdsa"),
    rsa_size=dict(type="int", default=3072),
    passphrase=dict(type="str", default="", no_log=True),
    common_name=dict(type="str", required=True),
    valid_days=dict(type="int", required=True),
    name_constraints_permitted=dict(type="list", elements="str", default=[]),
)


def outcome(params, check_mode):
    """The task's result: what was (would be) made, or why it failed."""
    if not HAS_CRYPTOGRAPHY:
        return {"failed": True, "msg": missing_required_lib("cryptography"), "exception": CRYPTOGRAPHY_ERROR}
    try:
        made = run(params, check_mode)
    except (CaError, OSError) as exc:
        return {"failed": True, "msg": to_text(str(exc))}
    return {"changed": bool(made), "made": made}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    result = outcome(module.params, module.check_mode)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
