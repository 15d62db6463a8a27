# -*- coding: utf-8 -*-
"""etcd_tls_plan (SAFETY-17, SAFETY-19): what one node's PKI directory needs,
decided from what etcd_node_info really reads from a directory of real keys
and certificates made here."""
from __future__ import annotations

import datetime
import grp
import ipaddress
import os
import pwd

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible.errors import AnsibleFilterError
from ansible_collections.quorum.etcd.plugins.filter.etcd_tls_plan import etcd_tls_plan
from ansible_collections.quorum.etcd.plugins.modules.etcd_node_info import pki_info

NOW = datetime.datetime(2026, 12, 6, tzinfo=datetime.timezone.utc)
PROFILES = {
    "member": {"common_name": "etcd1", "extended_key_usage": ["serverAuth", "clientAuth"]},
    "admin": {"common_name": "root", "extended_key_usage": ["clientAuth"]},
    "client": {"common_name": "", "extended_key_usage": ["clientAuth"]},
}
SANS = ["DNS:etcd1", "10.0.0.11", "DNS:localhost", "IP:127.0.0.1", "IP:::1"]
MODES = {"ca.crt": "0644", "member.crt": "0644", "admin.crt": "0644", "client.crt": "0644",
         "member.key": "0600", "admin.key": "0600", "client.key": "0600"}
EKU = {"serverAuth": ExtendedKeyUsageOID.SERVER_AUTH, "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH}


def _pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(name="test CA"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def make_cert(ca, key, cn, sans=(), eku=("clientAuth",), days=365):
    ca_cert, ca_key = ca
    names = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []
    builder = (x509.CertificateBuilder().subject_name(x509.Name(names)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(hours=1)).not_valid_after(NOW + datetime.timedelta(days=days))
               .add_extension(x509.ExtendedKeyUsage([EKU[e] for e in eku]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if sans:
        entries = []
        for san in sans:
            kind, value = san.split(":", 1)
            entries.append(x509.DNSName(value) if kind == "DNS" else x509.IPAddress(ipaddress.ip_address(value)))
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


MEMBER_SANS = ["DNS:etcd1", "IP:10.0.0.11", "DNS:localhost", "IP:127.0.0.1", "IP:::1"]


@pytest.fixture()
def pki(tmp_path):
    """A complete, valid PKI dir; returns (dir, ca, keys)."""
    ca = make_ca()
    keys = {}
    (tmp_path / "ca.crt").write_bytes(_pem(ca[0]))
    for kind, profile in PROFILES.items():
        key = ec.generate_private_key(ec.SECP256R1())
        keys[kind] = key
        cert = make_cert(ca, key, profile["common_name"], MEMBER_SANS if kind == "member" else (),
                         profile["extended_key_usage"])
        (tmp_path / (kind + ".key")).write_bytes(_pem(key))
        (tmp_path / (kind + ".crt")).write_bytes(_pem(cert))
    me = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    for name, mode in MODES.items():
        os.chmod(tmp_path / name, int(mode, 8))
    return tmp_path, ca, keys, me, group


def plan(path, ca, owner, group, trust=None, **kw):
    read = pki_info(str(path), SANS)
    ca_pem = _pem(ca[0]).decode()
    return etcd_tls_plan(read, PROFILES, owner, group, MODES, ca_pem=ca_pem,
                         trust_pem=ca_pem if trust is None else trust, now=NOW.timestamp(), **kw)


def test_a_valid_directory_is_kept_whole(pki):
    path, ca, _keys, me, group = pki
    result = plan(path, ca, me, group)
    assert not result["todo"] and not result["changed"] and not result["restart_needed"], result
    assert not result["write_ca"] and result["fix"] == {}
    for kind, item in result["certificates"].items():
        assert item == {"issue": False, "rekey": False, "key_state": "ok",
                        "sans": sorted(MEMBER_SANS) if kind == "member" else [], "reasons": []}, kind


def test_an_empty_directory_needs_everything(tmp_path):
    ca = make_ca()
    result = etcd_tls_plan(pki_info(str(tmp_path), SANS), PROFILES, "etcd", "etcd", MODES,
                           ca_pem=_pem(ca[0]).decode(), trust_pem=_pem(ca[0]).decode(), now=NOW.timestamp())
    assert result["write_ca"] and result["todo"] and result["changed"] and result["restart_needed"]
    for item in result["certificates"].values():
        assert item["issue"] and item["rekey"] and item["key_state"] == "missing"
        assert item["reasons"] == ["no key", "no certificate"]


def test_inside_the_window_only_the_certificate_is_renewed_without_a_restart(pki):
    path, ca, keys, me, group = pki
    short = make_cert(ca, keys["admin"], "root", eku=["clientAuth"], days=10)
    (path / "admin.crt").write_bytes(_pem(short))
    result = plan(path, ca, me, group)
    admin = result["certificates"]["admin"]
    assert admin["issue"] and not admin["rekey"], admin
    assert len(admin["reasons"]) == 1 and admin["reasons"][0].startswith("expires "), admin
    assert "(renew 30 days before)" in admin["reasons"][0]
    assert result["changed"] and not result["restart_needed"]
    assert not result["certificates"]["member"]["issue"]
    assert not plan(path, ca, me, group, renew_days=5)["todo"]  # outside a 5-day window


@pytest.mark.parametrize("change, reason", [
    ("sans", "SANs DNS:etcd1,DNS:localhost != "),
    ("cn", "CN other != etcd1"),
    ("eku", "key usage 1.3.6.1.5.5.7.3.2 != 1.3.6.1.5.5.7.3.1,1.3.6.1.5.5.7.3.2"),
    ("ca", "not signed by the current CA"),
    ("key", "certificate does not match its key"),
])
def test_each_difference_is_named(pki, change, reason):
    path, ca, keys, me, group = pki
    cn, sans, eku, signer, key = "etcd1", MEMBER_SANS, ["serverAuth", "clientAuth"], ca, keys["member"]
    if change == "sans":
        sans = ["DNS:etcd1", "DNS:localhost"]
    elif change == "cn":
        cn = "other"
    elif change == "eku":
        eku = ["clientAuth"]
    elif change == "ca":
        signer = make_ca("another CA")
    elif change == "key":
        key = ec.generate_private_key(ec.SECP256R1())
    (path / "member.crt").write_bytes(_pem(make_cert(signer, key, cn, sans, eku)))
    member = plan(path, ca, me, group)["certificates"]["member"]
    assert member["issue"] and not member["rekey"], member
    assert len(member["reasons"]) == 1 and member["reasons"][0].startswith(reason), member["reasons"]


def test_force_issues_everything_and_keeps_the_keys(pki):
    path, ca, _keys, me, group = pki
    result = plan(path, ca, me, group, force=True)
    assert all(i["issue"] and not i["rekey"] and i["reasons"] == ["etcd_tls_force_renew"]
               for i in result["certificates"].values()), result
    assert result["changed"] and not result["restart_needed"]


def test_a_lost_or_unusable_key_is_made_again_and_a_member_key_needs_a_restart(pki):
    path, ca, _keys, me, group = pki
    os.unlink(path / "admin.key")
    (path / "member.key").write_text("not a key")
    result = plan(path, ca, me, group)
    admin, member = result["certificates"]["admin"], result["certificates"]["member"]
    assert admin["rekey"] and admin["issue"] and admin["reasons"] == ["no key"]
    assert member["rekey"] and member["key_state"] == "bad"
    assert member["reasons"] == ["key unusable: not an unencrypted PEM private key"]
    assert result["restart_needed"]  # etcd reads its own key only when it starts
    assert "member.key" not in result["fix"]  # written anyway, not put back


def test_keys_unreadable_without_the_library_are_reissued_but_kept(pki):
    path, ca, _keys, me, group = pki
    read = pki_info(str(path), SANS, crypto=False)
    assert not read["cryptography"] and "public_key" not in read["files"]["member.key"]
    result = etcd_tls_plan(read, PROFILES, me, group, MODES, ca_pem=_pem(ca[0]).decode(),
                           trust_pem=_pem(ca[0]).decode(), now=NOW.timestamp())
    member = result["certificates"]["member"]
    assert member["key_state"] == "unknown" and member["issue"] and not member["rekey"]
    assert member["reasons"] == ["key not readable without python3-cryptography"]


def test_drifted_modes_of_kept_files_are_put_back(pki):
    path, ca, _keys, me, group = pki
    os.chmod(path / "member.key", 0o644)
    os.chmod(path / "ca.crt", 0o600)
    result = plan(path, ca, me, group)
    assert result["fix"] == {"ca.crt": "0644", "member.key": "0600"}
    assert result["todo"] and not result["changed"] and not result["restart_needed"]
    assert plan(path, ca, "someone-else", group)["fix"] == MODES  # every file has the wrong owner


def test_a_ca_bundle_that_differs_is_written_and_restarts(pki):
    path, ca, _keys, me, group = pki
    other = _pem(make_ca("next CA")[0]).decode()
    result = plan(path, ca, me, group, trust=_pem(ca[0]).decode() + other)
    assert result["write_ca"] and result["changed"] and result["restart_needed"]
    assert not any(i["issue"] for i in result["certificates"].values())


def test_without_a_ca_every_certificate_is_foreign(pki):
    path, _ca, _keys, me, group = pki
    result = etcd_tls_plan(pki_info(str(path), SANS), PROFILES, me, group, MODES, now=NOW.timestamp())
    assert all("not signed by the current CA" in i["reasons"] for i in result["certificates"].values())
    assert result["write_ca"]


def test_bad_input_is_refused_by_name():
    with pytest.raises(AnsibleFilterError, match="takes the pki result"):
        etcd_tls_plan({"stdout": ""}, PROFILES, "etcd", "etcd", MODES)
    with pytest.raises(AnsibleFilterError, match="no certificate kind peer"):
        etcd_tls_plan({"files": {}}, {"peer": {}}, "etcd", "etcd", MODES)
