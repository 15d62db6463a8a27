#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_tls_request
short_description: Make a node's private keys and certificate signing requests in one call
version_added: "0.3.0"
description:
  - For each requested certificate, creates its private key on the node when asked to (a missing or
    unusable key), and returns a certificate signing request made with that key. Private keys never
    leave the node (SAFETY-17 in the collection's docs/SAFETY.md); only the requests do, to be signed
    on the controller (M(quorum.etcd.etcd_tls_sign)).
  - A key is written to a temporary file in O(dir) and renamed into place, mode 0600, owned by
    O(owner) and O(group). A key that is not to be made is only read.
  - The requests carry what etcd needs of a member or client certificate; a critical
    C(CA:FALSE) basic constraint, critical digitalSignature and keyEncipherment key usages, the
    given extended key usages, and the subject alternative names (never the common name as one).
  - One remote call per node where an M(community.crypto.openssl_privatekey) loop and an
    M(community.crypto.openssl_csr_pipe) loop made one per certificate each.
requirements:
  - python3-cryptography on the node (the etcd_tls role installs it when missing).
author:
  - quorum.etcd maintainers (@quorum)
attributes:
  check_mode:
    description: Makes no key. Requests whose key exists are still made (reading the key only);
      the others are listed in RV(pending).
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  dir:
    description: The directory of the keys (C(<name>.key)). It must exist.
    type: path
    required: true
  owner:
    description: User that owns a key this module writes.
    type: str
    required: true
  group:
    description: Group of a key this module writes.
    type: str
    required: true
  key_type:
    description: Type of a new key.
    type: str
    choices: [ECC, RSA]
    default: ECC
  key_curve:
    description: Curve of a new ECC key.
    type: str
    choices: [secp256r1, secp384r1, secp521r1]
    default: secp256r1
  key_size:
    description: Size in bits of a new RSA key.
    type: int
    default: 2048
  requests:
    description: The certificates to request.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Base name of the key file (C(<dir>/<name>.key)); the request is returned under it.
        type: str
        required: true
      new_key:
        description: Make a new key first, replacing any file of that name.
        type: bool
        default: false
      common_name:
        description: Subject common name; none when empty.
        type: str
        default: ""
      organization:
        description: Subject organization; none when empty.
        type: str
        default: ""
      sans:
        description: Subject alternative names as C(DNS:<name>) or C(IP:<address>).
        type: list
        elements: str
        default: []
      extended_key_usage:
        description: Extended key usages.
        type: list
        elements: str
        choices: [serverAuth, clientAuth]
        required: true
'''

EXAMPLES = r'''
- name: Make the member key and its request
  quorum.etcd.etcd_tls_request:
    dir: /etc/etcd/pki
    owner: etcd
    group: etcd
    requests:
      - name: member
        new_key: true
        common_name: etcd-1
        sans: ["DNS:etcd-1", "IP:10.0.0.11"]
        extended_key_usage: [serverAuth, clientAuth]
  register: requests
'''

RETURN = r'''
csrs:
  description: PEM certificate signing request per requested name.
  type: dict
  returned: always
keys_written:
  description: Names whose key was (re)made.
  type: list
  elements: str
  returned: always
pending:
  description: In check mode, names whose request needs a key that would first be made.
  type: list
  elements: str
  returned: always
'''

import grp
import ipaddress
import os
import pwd
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.quorum.etcd.plugins.module_utils.etcd_fs import atomic_write

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_ERROR = traceback.format_exc()

CURVES = {"secp256r1": "SECP256R1", "secp384r1": "SECP384R1", "secp521r1": "SECP521R1"}


class RequestError(Exception):
    pass


def new_key(key_type, curve, size):
    if key_type == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    return ec.generate_private_key(getattr(ec, CURVES[curve])())


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def general_name(entry):
    kind, sep, value = entry.partition(":")
    if not sep:
        raise RequestError("SAN %r has no DNS: or IP: prefix" % entry)
    if kind == "DNS":
        return x509.DNSName(value)
    if kind == "IP":
        return x509.IPAddress(ipaddress.ip_address(value))
    raise RequestError("SAN %r: only DNS: and IP: names are used for etcd" % entry)


def make_csr(key, request):
    names = []
    if request["common_name"]:
        names.append(x509.NameAttribute(NameOID.COMMON_NAME, request["common_name"]))
    if request["organization"]:
        names.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, request["organization"]))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))
    if request["sans"]:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([general_name(entry) for entry in request["sans"]]), critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=True, data_encipherment=False,
        key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False),
        critical=True)
    usages = {"serverAuth": ExtendedKeyUsageOID.SERVER_AUTH, "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH}
    builder = builder.add_extension(
        x509.ExtendedKeyUsage([usages[name] for name in request["extended_key_usage"]]), critical=False)
    return to_text(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))


def run(params, check_mode):
    """Make the keys asked for, then a request per name. Every SAN and the
    owner are checked before the first key is written."""
    try:
        uid = pwd.getpwnam(params["owner"]).pw_uid
        gid = grp.getgrnam(params["group"]).gr_gid
    except KeyError as exc:
        raise RequestError("no such user or group on this host: %s" % exc)
    for request in params["requests"]:
        for entry in request["sans"]:
            general_name(entry)
    result = {"csrs": {}, "keys_written": [], "pending": []}
    for request in params["requests"]:
        path = os.path.join(params["dir"], request["name"] + ".key")
        if request["new_key"]:
            if check_mode:
                result["pending"].append(request["name"])
                continue
            key = new_key(params["key_type"], params["key_curve"], params["key_size"])
            atomic_write(path, key_pem(key), uid, gid, 0o600)
            result["keys_written"].append(request["name"])
        else:
            try:
                with open(path, "rb") as fh:
                    key = serialization.load_pem_private_key(fh.read(), password=None)
            except (IOError, OSError, ValueError, TypeError) as exc:
                raise RequestError("%s cannot be read as an unencrypted private key: %s" % (path, exc))
        result["csrs"][request["name"]] = make_csr(key, request)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path", required=True),
            owner=dict(type="str", required=True),
            group=dict(type="str", required=True),
            key_type=dict(type="str", choices=["ECC", "RSA"], default="ECC"),
            key_curve=dict(type="str", choices=sorted(CURVES), default="secp256r1"),
            key_size=dict(type="int", default=2048),
            requests=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                new_key=dict(type="bool", default=False),
                common_name=dict(type="str", default=""),
                organization=dict(type="str", default=""),
                sans=dict(type="list", elements="str", default=[]),
                extended_key_usage=dict(type="list", elements="str", choices=["serverAuth", "clientAuth"],
                                        required=True),
            )),
        ),
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_ERROR)
    try:
        result = run(module.params, module.check_mode)
    except (RequestError, OSError, IOError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=bool(result["keys_written"] or result["pending"]), **result)


if __name__ == "__main__":
    main()
