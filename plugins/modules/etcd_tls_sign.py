#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: etcd_tls_sign
short_description: Sign the certificate signing requests of several nodes with the cluster CA in one call
version_added: "0.3.0"
description:
  - Meant to run on the controller, where the CA key is (SAFETY-17 in the collection's docs/SAFETY.md);
    the CA key is read here and never sent anywhere.
  - Each certificate takes the request's subject and extensions, a random serial number, the CA as
    issuer, a subject key identifier (from the request's public key, unless the request has one), and an
    authority key identifier (the CA's subject key identifier, else one made from the CA's public key).
    It is valid from one hour before now for O(valid_days) days. The request's own signature is checked first.
  - One call for every certificate of every node, where M(community.crypto.x509_certificate_pipe) in a
    loop makes one per certificate.
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
    description: Signing changes nothing anywhere, so it runs in check mode too.
    support: full
  diff_mode:
    description: Not supported.
    support: none
options:
  ca_cert:
    description: Path of the CA certificate (PEM).
    type: path
    required: true
  ca_key:
    description: Path of the CA private key (PEM).
    type: path
    required: true
  ca_key_passphrase:
    description: Passphrase of O(ca_key), when it is encrypted.
    type: str
  valid_days:
    description: Days each certificate is valid for.
    type: int
    required: true
  requests:
    description: The requests to sign.
    type: list
    elements: dict
    required: true
    suboptions:
      host:
        description: The node the request comes from (the key of RV(certificates)).
        type: str
        required: true
      name:
        description: The certificate's name on that node.
        type: str
        required: true
      csr:
        description: The PEM certificate signing request.
        type: str
        required: true
'''

EXAMPLES = r'''
- name: Sign every node's requests on the controller
  quorum.etcd.etcd_tls_sign:
    ca_cert: "{{ playbook_dir }}/pki/ca.crt"
    ca_key: "{{ playbook_dir }}/pki/ca.key"
    valid_days: 365
    requests:
      - {host: etcd-1, name: member, csr: "{{ member_csr }}"}
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
certificates:
  description: The PEM certificates, by host and then by name.
  type: dict
  returned: success
  sample: {"etcd-1": {"member": "-----BEGIN CERTIFICATE-----..."}}
'''

import datetime
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_bytes, to_text

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, ed448
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_ERROR = traceback.format_exc()


class SignError(Exception):
    pass


def load_ca(cert_path, key_path, passphrase):
    try:
        with open(cert_path, "rb") as fh:
            ca_cert = x509.load_pem_x509_certificate(fh.read())
    except (IOError, OSError, ValueError) as exc:
        raise SignError("cannot read the CA certificate %s: %s" % (cert_path, exc))
    try:
        with open(key_path, "rb") as fh:
            ca_key = serialization.load_pem_private_key(fh.read(), password=to_bytes(passphrase) if passphrase else None)
    except (IOError, OSError, ValueError, TypeError) as exc:
        # The exception text never holds the passphrase.
        raise SignError("cannot read the CA key %s (wrong or missing passphrase?): %s" % (key_path, exc))
    if ca_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            ca_cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise SignError("the CA key %s does not belong to the CA certificate %s" % (key_path, cert_path))
    return ca_cert, ca_key


def authority_key_id(ca_cert):
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())


def sign(ca_cert, ca_key, csr_pem, valid_days, now=None):
    try:
        csr = x509.load_pem_x509_csr(to_bytes(csr_pem))
    except ValueError as exc:
        raise SignError("not a PEM certificate signing request: %s" % exc)
    if not csr.is_signature_valid:
        raise SignError("the request's signature does not verify")
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    builder = (x509.CertificateBuilder()
               .subject_name(csr.subject)
               .issuer_name(ca_cert.subject)
               .public_key(csr.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=valid_days)))
    has_ski = False
    for extension in csr.extensions:
        if isinstance(extension.value, x509.AuthorityKeyIdentifier):
            continue
        has_ski = has_ski or isinstance(extension.value, x509.SubjectKeyIdentifier)
        builder = builder.add_extension(extension.value, critical=extension.critical)
    if not has_ski:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False)
    builder = builder.add_extension(authority_key_id(ca_cert), critical=False)
    algorithm = None if isinstance(ca_key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)) else hashes.SHA256()
    return to_text(builder.sign(ca_key, algorithm).public_bytes(serialization.Encoding.PEM))


def run(params):
    if params["valid_days"] < 1:
        raise SignError("valid_days %r is below 1" % params["valid_days"])
    ca_cert, ca_key = load_ca(params["ca_cert"], params["ca_key"], params["ca_key_passphrase"])
    certificates = {}
    for request in params["requests"]:
        try:
            pem = sign(ca_cert, ca_key, request["csr"], params["valid_days"])
        except SignError as exc:
            raise SignError("%s %s: %s" % (request["host"], request["name"], exc))
        certificates.setdefault(request["host"], {})[request["name"]] = pem
    return certificates


# Shared with the action plugin of the same name (plugins/action/etcd_tls_sign.py),
# which runs this in the controller's Ansible process.
ARGUMENT_SPEC = dict(
    ca_cert=dict(type="path", required=True),
    ca_key=dict(type="path", required=True),
    ca_key_passphrase=dict(type="str", no_log=True),
    valid_days=dict(type="int", required=True),
    requests=dict(type="list", elements="dict", required=True, options=dict(
        host=dict(type="str", required=True),
        name=dict(type="str", required=True),
        csr=dict(type="str", required=True),
    )),
)


def outcome(params, check_mode=False):
    """The task's result: the certificates, or why none was signed. Signing
    changes nothing, so check mode signs too."""
    if not HAS_CRYPTOGRAPHY:
        return {"failed": True, "msg": missing_required_lib("cryptography"), "exception": CRYPTOGRAPHY_ERROR}
    try:
        return {"changed": False, "certificates": run(params)}
    except SignError as exc:
        return {"failed": True, "msg": str(exc)}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    result = outcome(module.params, module.check_mode)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
