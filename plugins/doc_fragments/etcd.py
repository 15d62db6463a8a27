# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every quorum.etcd module; the matching
    # argument spec is etcd_argument_spec() in module_utils/etcd_client.py.
    DOCUMENTATION = r'''
options:
  endpoints:
    description:
      - etcd client URLs (C(https://host:port)) to talk to, in order of preference.
      - When an endpoint cannot be reached (connection refused, TLS broken connection, timeout)
        the next one is tried. Errors that etcd itself returns are not retried elsewhere.
      - Talks to etcd's v3 HTTP/JSON gateway, so only the Python standard library is needed on the host.
    type: list
    elements: str
    default: ['https://127.0.0.1:2379']
  ca_cert:
    description:
      - Path to the PEM CA bundle that signed the etcd server certificates.
      - When not set, the system trust store is used.
    type: path
    aliases: [cacert]
  client_cert:
    description:
      - Path to the PEM client certificate, for clusters with client certificate authentication.
      - Requires O(client_key).
    type: path
    aliases: [cert]
  client_key:
    description:
      - Path to the PEM private key of O(client_cert).
    type: path
    aliases: [key]
  username:
    description:
      - etcd user name. A token is requested from C(/v3/auth/authenticate) and sent
        with each request. While etcd authentication is disabled the requests go
        without a token, so the same credentials can be passed before and after
        auth is turned on.
      - Once auth is on, etcd's HTTP gateway refuses client certificates that have a
        CommonName; use a CN-less O(client_cert) with O(username).
    type: str
    aliases: [user]
  password:
    description:
      - Password of O(username). Never logged.
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the TCP connection and TLS handshake to one endpoint.
    type: float
    default: 5.0
  timeout:
    description:
      - Seconds to wait for an answer to one request once connected.
    type: float
    default: 15.0
notes:
  - Set these options once for all quorum.etcd modules with
    C(module_defaults) and the group C(group/quorum.etcd.etcd).
  - TLS 1.2 is the minimum protocol version; the server certificate name is always verified.
'''
