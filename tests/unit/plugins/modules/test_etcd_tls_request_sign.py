# -*- coding: utf-8 -*-
"""etcd_tls_request (node) and etcd_tls_sign (controller) together: keys
stay where they are made (SAFETY-17), a key is written 0600 (SAFETY-19),
and the certificates carry what etcd and the role's plan check."""
from __future__ import annotations

import datetime
import grp
import os
import pwd

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.quorum.etcd.plugins.modules import etcd_tls_request as req
from ansible_collections.quorum.etcd.plugins.modules import etcd_tls_sign as sig

ME = pwd.getpwuid(os.getuid())[0]
MY_GROUP = grp.getgrgid(os.getgid())[0]


def make_ca(tmp_path, passphrase=None, name="ca"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test etcd CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=10))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    enc = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    (tmp_path / (name + ".key")).write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc))
    (tmp_path / (name + ".crt")).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(tmp_path / (name + ".crt")), str(tmp_path / (name + ".key")), cert


def request(name="member", new_key=True, **extra):
    base = {"name": name, "new_key": new_key, "common_name": "etcd-1", "organization": "",
            "sans": ["DNS:etcd-1", "IP:10.0.0.11", "IP:fd00::1"], "extended_key_usage": ["serverAuth", "clientAuth"]}
    base.update(extra)
    return base


def params(pki, requests, **extra):
    base = {"dir": str(pki), "owner": ME, "group": MY_GROUP, "key_type": "ECC", "key_curve": "secp256r1",
            "key_size": 2048, "requests": requests}
    base.update(extra)
    return base


def sign_params(ca_crt, ca_key, requests, passphrase=None, days=30):
    return {"ca_cert": ca_crt, "ca_key": ca_key, "ca_key_passphrase": passphrase, "valid_days": days,
            "requests": requests}


def test_new_keys_are_0600_and_the_signed_certificates_carry_every_extension(tmp_path):
    pki = tmp_path / "pki"
    pki.mkdir()
    ca_crt, ca_key, ca = make_ca(tmp_path)
    got = req.run(params(pki, [request(), request("client", common_name="", organization="c1 etcd gateway client",
                                                  sans=[], extended_key_usage=["clientAuth"])]), check_mode=False)
    assert got["keys_written"] == ["member", "client"] and got["pending"] == []
    assert sorted(os.listdir(pki)) == ["client.key", "member.key"]  # no temporary file left
    assert oct(os.stat(pki / "member.key").st_mode & 0o7777) == "0o600"
    assert (pki / "member.key").read_bytes().startswith(b"-----BEGIN EC PRIVATE KEY-----")
    certs = sig.run(sign_params(ca_crt, ca_key, [{"host": "h1", "name": n, "csr": c} for n, c in got["csrs"].items()]))
    member = x509.load_pem_x509_certificate(certs["h1"]["member"].encode())
    key = serialization.load_pem_private_key((pki / "member.key").read_bytes(), None)
    assert member.public_key().public_numbers() == key.public_key().public_numbers()
    assert member.issuer == ca.subject
    member.verify_directly_issued_by(ca)
    ext = {e.oid._name: e for e in member.extensions}
    assert ext["basicConstraints"].critical and not ext["basicConstraints"].value.ca
    assert ext["keyUsage"].critical and ext["keyUsage"].value.digital_signature and ext["keyUsage"].value.key_encipherment
    assert list(ext["extendedKeyUsage"].value) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert ext["subjectAltName"].value.get_values_for_type(x509.DNSName) == ["etcd-1"]
    assert [str(ip) for ip in ext["subjectAltName"].value.get_values_for_type(x509.IPAddress)] == ["10.0.0.11", "fd00::1"]
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert ext["authorityKeyIdentifier"].value.key_identifier == ca_ski
    assert ext["subjectKeyIdentifier"].value.digest == x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    days = (member.not_valid_after_utc - member.not_valid_before_utc).total_seconds() / 86400
    assert 30 < days < 30.1  # valid from an hour before now, for 30 days
    client = x509.load_pem_x509_certificate(certs["h1"]["client"].encode())
    assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME) == []
    assert client.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "c1 etcd gateway client"


def test_a_kept_key_is_only_read_and_check_mode_writes_nothing(tmp_path):
    pki = tmp_path / "pki"
    pki.mkdir()
    req.run(params(pki, [request()]), check_mode=False)
    before = (pki / "member.key").read_bytes()
    got = req.run(params(pki, [request(new_key=False), request("admin", new_key=True)]), check_mode=True)
    assert got["keys_written"] == [] and got["pending"] == ["admin"] and list(got["csrs"]) == ["member"]
    assert (pki / "member.key").read_bytes() == before and not (pki / "admin.key").exists()
    csr = x509.load_pem_x509_csr(got["csrs"]["member"].encode())
    assert csr.public_key().public_numbers() == serialization.load_pem_private_key(before, None).public_key().public_numbers()


def test_an_unreadable_kept_key_and_a_bad_san_are_refused_before_any_key_is_made(tmp_path):
    pki = tmp_path / "pki"
    pki.mkdir()
    (pki / "member.key").write_text("garbage")
    with pytest.raises(req.RequestError, match="member.key cannot be read"):
        req.run(params(pki, [request(new_key=False)]), check_mode=False)
    with pytest.raises(req.RequestError, match="URI:x"):
        req.run(params(pki, [request("admin"), request(sans=["URI:x"])]), check_mode=False)
    assert not (pki / "admin.key").exists()


def test_rsa_keys(tmp_path):
    pki = tmp_path / "pki"
    pki.mkdir()
    req.run(params(pki, [request()], key_type="RSA", key_size=2048), check_mode=False)
    assert serialization.load_pem_private_key((pki / "member.key").read_bytes(), None).key_size == 2048


def test_signing_with_an_encrypted_ca_key_needs_its_passphrase(tmp_path):
    pki = tmp_path / "pki"
    pki.mkdir()
    ca_crt, ca_key, _ca = make_ca(tmp_path, passphrase="s3cret")
    csr = req.run(params(pki, [request()]), check_mode=False)["csrs"]["member"]
    assert "member" in sig.run(sign_params(ca_crt, ca_key, [{"host": "h", "name": "member", "csr": csr}], "s3cret"))["h"]
    with pytest.raises(sig.SignError) as err:
        sig.run(sign_params(ca_crt, ca_key, [{"host": "h", "name": "member", "csr": csr}], "wrong"))
    assert "wrong or missing passphrase" in str(err.value) and "s3cret" not in str(err.value)


def test_a_ca_key_of_another_ca_and_a_bad_request_are_refused(tmp_path):
    pki = tmp_path / "pki"
    pki.mkdir()
    ca_crt, _key, _ca = make_ca(tmp_path)
    _crt, other_key, _other = make_ca(tmp_path, name="other")
    csr = req.run(params(pki, [request()]), check_mode=False)["csrs"]["member"]
    with pytest.raises(sig.SignError, match="does not belong to the CA certificate"):
        sig.run(sign_params(ca_crt, other_key, [{"host": "h", "name": "member", "csr": csr}]))
    with pytest.raises(sig.SignError, match="h2 admin: not a PEM certificate signing request"):
        sig.run(sign_params(ca_crt, _key, [{"host": "h2", "name": "admin", "csr": "nope"}]))
