# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see LICENSE)
"""Filter: every bad setting of the etcd_service role, one sentence each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: etcd_service_problems
short_description: Name every bad service setting and TLS policy setting of the etcd_service role
version_added: "0.4.0"
description:
  - The etcd_service role's input check (SAFETY-18, SAFETY-20), run on the controller before any host changes.
  - Raft timing, metrics URLs, the unit name, keys of C(etcd_service_extra_config) that the collection manages
    (TLS, names, URLs, bootstrap), cipher suites other than the strong ECDHE ones, and the settings that need a
    newer etcd than the target release.
  - Keys of C(etcd_service_extra_config) that the target release would not read are named by
    P(quorum.etcd.etcd_config_problems#filter).
options:
  _input:
    description: C(etcd_service_election_timeout), in milliseconds.
    type: raw
    required: true
  heartbeat_interval:
    description: C(etcd_service_heartbeat_interval), in milliseconds.
    type: raw
    required: true
  metrics_urls:
    description: C(etcd_service_metrics_urls).
    type: list
    elements: str
    default: []
  extra_config:
    description: C(etcd_service_extra_config).
    type: dict
    default: {}
  managed_keys:
    description: The configuration keys the role writes itself.
    type: list
    elements: str
    default: []
  name:
    description: C(etcd_service_name).
    type: str
    required: true
  version:
    description: The target etcd release (C(etcd_install_version)), or none when unknown.
    type: str
  cipher_suites:
    description: C(etcd_service_tls_cipher_suites).
    type: list
    elements: str
    default: []
  strong_ciphers:
    description: The cipher suites accepted.
    type: list
    elements: str
    default: []
  tls_min_version:
    description: C(etcd_service_tls_min_version).
    type: str
    default: TLS1.2
  peer_cert_allowed_cn:
    description: C(etcd_service_peer_cert_allowed_cn).
    type: str
    default: ''
  peer_cert_allowed_hostname:
    description: C(etcd_service_peer_cert_allowed_hostname).
    type: str
    default: ''
author:
  - quorum.etcd maintainers (@quorum)
'''

EXAMPLES = r'''
- name: Check the service settings
  ansible.builtin.assert:
    that: _bad | length == 0
    fail_msg: "{{ _bad | join(' ') }}"
  vars:
    _bad: "{{ 1000 | quorum.etcd.etcd_service_problems(heartbeat_interval=100, name='etcd', version='3.6.16') }}"
'''

RETURN = r'''
_value:
  description: One sentence per bad setting, each naming its value; empty when every setting is good.
  type: list
  elements: str
'''

import re

from ansible_collections.quorum.etcd.plugins.plugin_utils.etcd_values import shown


def _int(value):
    try:
        return int(float(str(value)))
    except ValueError:
        return 0


def _release(version):
    """(major, minor, patch) of an etcd version; (0, 0, 0) when unknown."""
    numbers = re.findall(r"\d+", str(version or "0"))[:3]
    return tuple(int(n) for n in numbers + ["0"] * (3 - len(numbers)))


def service_problems(election_timeout, heartbeat_interval, name, metrics_urls=(), extra_config=None, managed_keys=(),
                     version=None, cipher_suites=(), strong_ciphers=(), tls_min_version="TLS1.2",
                     peer_cert_allowed_cn="", peer_cert_allowed_hostname=""):
    bad = []
    if _int(election_timeout) < 5 * _int(heartbeat_interval):
        bad.append("etcd_service_election_timeout=%s must be at least 5 x etcd_service_heartbeat_interval=%s."
                   % (election_timeout, heartbeat_interval))
    if any(not re.match(r"^https?://[^/]+$", str(url)) for url in metrics_urls):
        bad.append("etcd_service_metrics_urls=%s must be http(s)://host:port URLs." % shown(list(metrics_urls)))
    managed = [key for key in (extra_config or {}) if key in managed_keys]
    if managed:
        bad.append("etcd_service_extra_config must not set the keys the collection manages (%s): TLS, names, URLs and"
                   " bootstrap settings are fixed so auto-TLS and plain HTTP can never slip in." % ", ".join(managed))
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9@._-]*$", str(name)):
        bad.append("etcd_service_name=%s is not a systemd unit name." % shown(str(name)))
    weak = [suite for suite in cipher_suites if suite not in strong_ciphers]
    if weak:
        bad.append("etcd_service_tls_cipher_suites names %s: only ECDHE suites with AES-GCM or ChaCha20-Poly1305 are"
                   " accepted (%s)." % (", ".join(weak), ", ".join(strong_ciphers)))
    release = _release(version)
    if tls_min_version != "TLS1.2" and release < (3, 5, 8):
        bad.append("etcd_service_tls_min_version=%s needs etcd 3.5.8 or later (etcd_install_version=%s)."
                   % (tls_min_version, version or ""))
    allow_list = [setting for setting, value in (("etcd_service_peer_cert_allowed_cn", peer_cert_allowed_cn),
                                                 ("etcd_service_peer_cert_allowed_hostname", peer_cert_allowed_hostname))
                  if value]
    if allow_list and release < (3, 5, 14):
        bad.append("%s need etcd 3.5.14 or later, the first release that reads them from its configuration file"
                   " (etcd_install_version=%s)." % (" and ".join(allow_list), version or ""))
    return bad


class FilterModule(object):
    def filters(self):
        return {"etcd_service_problems": service_problems}
