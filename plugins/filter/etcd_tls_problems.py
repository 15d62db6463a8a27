# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: every bad setting of the etcd_tls role, one phrase each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_tls_problems
short_description: Name every bad setting of the etcd_tls role
version_added: "0.4.0"
description:
  - The etcd_tls role's input check (SAFETY-20), run on the controller before any host changes.
  - The key type and RSA size, the three validity periods (whole days, renewal window shorter than a
    certificate's life, a certificate's life no longer than the CA's), the CA directory, the common names, the CA
    passphrase, and each extra subject alternative name.
options:
  _input:
    description: C(etcd_tls_key_type).
    type: raw
    required: true
  rsa_size:
    description: C(etcd_tls_rsa_size).
    type: raw
    required: true
  ca_valid_days:
    description: C(etcd_tls_ca_valid_days).
    type: raw
    required: true
  cert_valid_days:
    description: C(etcd_tls_cert_valid_days).
    type: raw
    required: true
  renew_days:
    description: C(etcd_tls_renew_days).
    type: raw
    required: true
  ca_dir:
    description: C(etcd_tls_ca_dir).
    type: raw
    required: true
  ca_common_name:
    description: C(etcd_tls_ca_common_name).
    type: raw
    required: true
  admin_common_name:
    description: C(etcd_tls_admin_common_name).
    type: raw
    required: true
  ca_passphrase_is_string:
    description: Whether C(etcd_tls_ca_passphrase) is a string (the passphrase itself is not passed).
    type: bool
    default: true
  extra_sans:
    description: C(etcd_tls_extra_sans).
    type: raw
    default: []
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Check the TLS settings
  ansible.builtin.assert:
    that: _bad | length == 0
    fail_msg: "invalid TLS settings: {{ _bad | join('; ') }}."
  vars:
    _bad: >-
      {{ 'ecdsa' | quorum.etcd.etcd_tls_problems(rsa_size=2048, ca_valid_days=3650, cert_valid_days=365,
         renew_days=30, ca_dir='/srv/pki', ca_common_name='etcd CA', admin_common_name='admin') }}
'''

RETURN = r'''
_value:
  description: One phrase per bad setting, each naming its value; empty when every setting is good.
  type: list
  elements: str
'''

import re

from ansible_collections.quorum.etcd.plugins.plugin_utils.etcd_values import shown


def _whole_days(value):
    text = str(value)
    return int(text) if re.match(r"^[0-9]+$", text) and int(text) > 0 else None


def _bad_san(san):
    """An entry that is not "DNS:name", "IP:address" or a bare name or address."""
    if not isinstance(san, str):
        return True
    return (not re.match(r"^[^ \t,/]+$", san) or bool(re.match(r"(?i)^(DNS|IP):$", san))
            or (bool(re.match(r"(?i)^IP:", san)) and not re.match(r"(?i)^IP:[0-9a-f.:]+$", san)))


def tls_problems(key_type, rsa_size, ca_valid_days, cert_valid_days, renew_days, ca_dir, ca_common_name,
                 admin_common_name, ca_passphrase_is_string=True, extra_sans=()):
    bad = []
    if key_type not in ("ecdsa", "rsa"):
        bad.append("etcd_tls_key_type=%s (ecdsa or rsa)" % shown(key_type))
    if str(rsa_size) not in ("2048", "3072", "4096"):
        bad.append("etcd_tls_rsa_size=%s (2048, 3072 or 4096)" % shown(rsa_size))
    days = [_whole_days(d) for d in (ca_valid_days, cert_valid_days, renew_days)]
    if None in days or not days[2] < days[1] <= days[0]:
        bad.append("etcd_tls_renew_days=%s, etcd_tls_cert_valid_days=%s, etcd_tls_ca_valid_days=%s (whole days > 0,"
                   " renew_days < cert_valid_days <= ca_valid_days)"
                   % (shown(renew_days), shown(cert_valid_days), shown(ca_valid_days)))
    if not str(ca_dir or ""):
        bad.append("etcd_tls_ca_dir is empty")
    if not str(ca_common_name or "").strip():
        bad.append("etcd_tls_ca_common_name is empty")
    if not str(admin_common_name or "").strip():
        bad.append("etcd_tls_admin_common_name is empty")
    if not ca_passphrase_is_string:
        bad.append("etcd_tls_ca_passphrase must be a string")
    if not isinstance(extra_sans, (list, tuple)):
        bad.append("etcd_tls_extra_sans=%s is not a list" % shown(extra_sans))
    else:
        bad_sans = [san for san in extra_sans if _bad_san(san)]
        if bad_sans:
            bad.append('etcd_tls_extra_sans entries %s (want "DNS:name", "IP:address" or a bare name/address:'
                       " non-empty, no blanks, commas or slashes)" % shown(bad_sans))
    return bad


class FilterModule(object):
    def filters(self):
        return {"etcd_tls_problems": tls_problems}
