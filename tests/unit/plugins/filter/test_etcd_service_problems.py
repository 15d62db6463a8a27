# -*- coding: utf-8 -*-
"""etcd_service_problems: the etcd_service role's input check (SAFETY-18, SAFETY-20)."""
from __future__ import annotations

import pytest
from ansible_collections.quorum.etcd.plugins.filter.etcd_service_problems import service_problems

STRONG = ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"]
GOOD = dict(heartbeat_interval=100, name="etcd", metrics_urls=["http://127.0.0.1:2381"],
            extra_config={"max-request-bytes": 3145728}, managed_keys=["cert-file", "name", "auto-tls"],
            version="3.6.16", cipher_suites=STRONG[:1], strong_ciphers=STRONG)


def problems(election_timeout=1000, **overrides):
    return service_problems(election_timeout, **dict(GOOD, **overrides))


def test_good_settings_pass():
    assert problems() == []
    assert problems(version=None, metrics_urls=[], cipher_suites=[], name="etcd@main") == []


def test_election_timeout_below_five_heartbeats_names_both():
    assert problems(400) == ["etcd_service_election_timeout=400 must be at least 5 x etcd_service_heartbeat_interval=100."]
    assert problems("500") == []


@pytest.mark.parametrize("url", ["127.0.0.1:2381", "https://host:2381/metrics", "unix:///run/etcd.sock"])
def test_metrics_urls_must_be_host_port(url):
    assert problems(metrics_urls=["http://ok:1", url]) == [
        'etcd_service_metrics_urls=["http://ok:1", "%s"] must be http(s)://host:port URLs.' % url]


def test_managed_keys_in_extra_config_are_named():
    [problem] = problems(extra_config={"auto-tls": True, "cert-file": "/x", "quota-backend-bytes": 1})
    assert problem.startswith("etcd_service_extra_config must not set the keys the collection manages "
                              "(auto-tls, cert-file): ")


@pytest.mark.parametrize("name", ["", "-etcd", "etcd service", "etcd/x"])
def test_a_unit_name_systemd_cannot_use_is_named(name):
    assert problems(name=name) == ['etcd_service_name="%s" is not a systemd unit name.' % name]


def test_weak_cipher_suites_are_named_with_the_accepted_ones():
    [problem] = problems(cipher_suites=STRONG + ["TLS_RSA_WITH_AES_128_CBC_SHA"])
    assert problem == ("etcd_service_tls_cipher_suites names TLS_RSA_WITH_AES_128_CBC_SHA: only ECDHE suites with "
                       "AES-GCM or ChaCha20-Poly1305 are accepted (%s)." % ", ".join(STRONG))


@pytest.mark.parametrize("version,refused", [("3.5.7", True), ("3.5.8", False), ("3.4.30", True), ("3.10.0", False),
                                             (None, True)])
def test_tls13_needs_etcd_3_5_8(version, refused):
    found = problems(tls_min_version="TLS1.3", version=version)
    assert found == (["etcd_service_tls_min_version=TLS1.3 needs etcd 3.5.8 or later (etcd_install_version=%s)."
                      % (version or "")] if refused else [])


def test_peer_allow_lists_need_etcd_3_5_14():
    assert problems(peer_cert_allowed_cn="etcd-peer", peer_cert_allowed_hostname="peers.etcd.test",
                    version="3.5.13") == [
        "etcd_service_peer_cert_allowed_cn and etcd_service_peer_cert_allowed_hostname need etcd 3.5.14 or later, "
        "the first release that reads them from its configuration file (etcd_install_version=3.5.13)."]
    assert problems(peer_cert_allowed_hostname="peers.etcd.test", version="3.5.14") == []
