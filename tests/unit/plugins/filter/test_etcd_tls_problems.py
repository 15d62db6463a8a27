# -*- coding: utf-8 -*-
"""etcd_tls_problems: the etcd_tls role's input check (SAFETY-20)."""
from __future__ import annotations

import pytest
from ansible_collections.quorum.etcd.plugins.filter.etcd_tls_problems import tls_problems

GOOD = dict(rsa_size=2048, ca_valid_days=3650, cert_valid_days=365, renew_days=30, ca_dir="/srv/pki",
            ca_common_name="etcd CA", admin_common_name="admin", ca_passphrase_is_string=True,
            extra_sans=["DNS:peers.etcd.test", "IP:10.0.0.1", "IP:fd00::1", "etcd.example.com", "10.0.0.2"])


def problems(key_type="ecdsa", **overrides):
    return tls_problems(key_type, **dict(GOOD, **overrides))


def test_good_settings_pass():
    assert problems() == []
    assert problems("rsa", rsa_size="4096", extra_sans=[]) == []


def test_key_type_and_rsa_size_name_their_values():
    assert problems("dsa", rsa_size=1024) == ['etcd_tls_key_type="dsa" (ecdsa or rsa)',
                                              "etcd_tls_rsa_size=1024 (2048, 3072 or 4096)"]


@pytest.mark.parametrize("days", [dict(renew_days=365), dict(cert_valid_days=4000), dict(renew_days=0),
                                  dict(ca_valid_days="ten"), dict(cert_valid_days=-5)])
def test_validity_periods_must_be_ordered_whole_days(days):
    [problem] = problems(**days)
    assert problem.startswith("etcd_tls_renew_days=") and "renew_days < cert_valid_days <= ca_valid_days" in problem


def test_the_renewal_window_in_the_message_names_all_three_values():
    assert problems(renew_days=400) == [
        "etcd_tls_renew_days=400, etcd_tls_cert_valid_days=365, etcd_tls_ca_valid_days=3650 "
        "(whole days > 0, renew_days < cert_valid_days <= ca_valid_days)"]


def test_empty_names_and_a_passphrase_that_is_not_a_string():
    assert problems(ca_dir="", ca_common_name=" ", admin_common_name=None, ca_passphrase_is_string=False) == [
        "etcd_tls_ca_dir is empty", "etcd_tls_ca_common_name is empty", "etcd_tls_admin_common_name is empty",
        "etcd_tls_ca_passphrase must be a string"]


@pytest.mark.parametrize("san", ["", "DNS:", "ip:", "IP:not-an-address", "a b", "x,y", "a/b", 42])
def test_each_bad_san_is_listed(san):
    assert problems(extra_sans=["DNS:ok", san]) == [
        'etcd_tls_extra_sans entries [%s] (want "DNS:name", "IP:address" or a bare name/address: non-empty, no '
        'blanks, commas or slashes)' % ('"%s"' % san if isinstance(san, str) else san)]


def test_sans_that_are_not_a_list_are_named():
    assert problems(extra_sans="DNS:one") == ['etcd_tls_extra_sans="DNS:one" is not a list']
