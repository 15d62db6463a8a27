# -*- coding: utf-8 -*-
"""plugins/modules/etcd_tls_ca.py: the cluster CA made on the controller in
one call, its key never replaced (SAFETY-17), modes 0700/0600/0644
(SAFETY-19), with real keys and certificates (cryptography)."""
from __future__ import annotations

import datetime
import ipaddress
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.quorum.etcd.plugins.modules import etcd_tls_ca as ca


def params(path, **over):
    out = {"path": str(path), "key_type": "ecdsa", "rsa_size": 3072, "passphrase": "", "common_name": "etcd CA",
           "valid_days": 3650, "name_constraints_permitted": []}
    out.update(over)
    return out


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def load(path):
    with open(path, "rb") as fh:
        return x509.load_pem_x509_certificate(fh.read())


def test_a_new_ca_is_made_with_its_modes_and_a_proper_ca_certificate(tmp_path):
    ca_dir = tmp_path / "pki" / "main"
    assert ca.run(params(ca_dir), check_mode=False) == ["directory", "key", "certificate"]
    assert mode(ca_dir) == 0o700 and mode(ca_dir / "ca.key") == 0o600 and mode(ca_dir / "ca.crt") == 0o644
    cert = load(ca_dir / "ca.crt")
    key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value == "etcd CA"
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign and usage.value.digital_signature
    assert not usage.value.key_encipherment
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.NameConstraints)
    cert.verify_directly_issued_by(cert)  # self-signed, the signature checks
    now = datetime.datetime.now(datetime.timezone.utc)
    assert cert.not_valid_before_utc < now - datetime.timedelta(minutes=50)
    assert abs((cert.not_valid_after_utc - now) - datetime.timedelta(days=3650)) < datetime.timedelta(minutes=5)


def test_a_complete_ca_is_left_alone_and_a_drifted_directory_mode_put_back(tmp_path):
    ca.run(params(tmp_path / "ca"), check_mode=False)
    key, crt = (tmp_path / "ca" / "ca.key").read_bytes(), (tmp_path / "ca" / "ca.crt").read_bytes()
    assert ca.run(params(tmp_path / "ca"), check_mode=False) == []
    os.chmod(tmp_path / "ca", 0o755)
    assert ca.run(params(tmp_path / "ca"), check_mode=True) == ["mode"]
    assert mode(tmp_path / "ca") == 0o755  # check mode wrote nothing
    assert ca.run(params(tmp_path / "ca"), check_mode=False) == ["mode"]
    assert mode(tmp_path / "ca") == 0o700
    os.chmod(tmp_path / "ca" / "ca.key", 0o644)  # SAFETY-19: the CA key is put back to 0600
    assert ca.run(params(tmp_path / "ca"), check_mode=False) == ["key mode"]
    assert mode(tmp_path / "ca" / "ca.key") == 0o600
    assert (tmp_path / "ca" / "ca.key").read_bytes() == key and (tmp_path / "ca" / "ca.crt").read_bytes() == crt


def test_a_lost_certificate_is_made_again_from_the_kept_key(tmp_path):
    ca.run(params(tmp_path / "ca"), check_mode=False)
    key = (tmp_path / "ca" / "ca.key").read_bytes()
    (tmp_path / "ca" / "ca.crt").unlink()
    assert ca.run(params(tmp_path / "ca"), check_mode=False) == ["certificate"]
    assert (tmp_path / "ca" / "ca.key").read_bytes() == key  # SAFETY-17: never regenerated
    priv = serialization.load_pem_private_key(key, password=None)
    assert load(tmp_path / "ca" / "ca.crt").public_key().public_numbers() == priv.public_key().public_numbers()


def test_check_mode_makes_nothing(tmp_path):
    assert ca.run(params(tmp_path / "ca"), check_mode=True) == ["directory", "key", "certificate"]
    assert not (tmp_path / "ca").exists()


def test_a_passphrase_encrypts_the_key_and_a_wrong_one_is_named_without_replacing_it(tmp_path):
    ca.run(params(tmp_path / "ca", passphrase="s3cret pass", key_type="rsa", rsa_size=2048), check_mode=False)
    key = (tmp_path / "ca" / "ca.key").read_bytes()
    assert b"ENCRYPTED" in key
    priv = serialization.load_pem_private_key(key, password=b"s3cret pass")
    assert isinstance(priv, rsa.RSAPrivateKey) and priv.key_size == 2048
    assert ca.run(params(tmp_path / "ca", passphrase="s3cret pass"), check_mode=False) == []
    with pytest.raises(ca.CaError) as err:
        ca.run(params(tmp_path / "ca", passphrase="wrong"), check_mode=False)
    assert "ca.key cannot be read" in str(err.value) and "wrong" not in str(err.value).replace("wrong or", "")
    assert (tmp_path / "ca" / "ca.key").read_bytes() == key


def test_name_constraints_are_permitted_subtrees_and_a_bad_one_is_named_before_anything_is_made(tmp_path):
    ca.run(params(tmp_path / "ca", name_constraints_permitted=["DNS:.example.internal", "IP:10.0.0.0/8"]),
           check_mode=False)
    nc = load(tmp_path / "ca" / "ca.crt").extensions.get_extension_for_class(x509.NameConstraints)
    assert nc.critical
    assert nc.value.permitted_subtrees == [x509.DNSName(".example.internal"),
                                           x509.IPAddress(ipaddress.ip_network("10.0.0.0/8"))]
    with pytest.raises(ca.CaError, match="'FOO:bar'"):
        ca.run(params(tmp_path / "other", name_constraints_permitted=["FOO:bar"]), check_mode=False)
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("over, words", [
    ({"valid_days": 0}, "valid_days 0"),
    ({"common_name": " "}, "common_name is empty"),
    ({"key_type": "rsa", "rsa_size": 1024}, "rsa_size 1024"),
])
def test_bad_settings_are_named(tmp_path, over, words):
    with pytest.raises(ca.CaError, match=words):
        ca.run(params(tmp_path / "ca", **over), check_mode=False)
    assert not (tmp_path / "ca").exists()  # refused before anything is made


def test_a_file_where_the_directory_goes_is_refused(tmp_path):
    (tmp_path / "ca").write_text("x")
    with pytest.raises(ca.CaError, match="is not a directory"):
        ca.run(params(tmp_path / "ca"), check_mode=False)
