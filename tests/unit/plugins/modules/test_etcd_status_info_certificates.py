# -*- coding: utf-8 -*-
"""Certificate expiry in etcd_status_info (issue 18, item 3): the served
certificate is read from a real TLS listener on loopback (a CA and a server
certificate made here with cryptography), the CA from ca_cert, and the
report names what expires within the window or cannot be read."""
from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from ansible_collections.quorum.etcd.plugins.module_utils import etcd_client as ec
from ansible_collections.quorum.etcd.plugins.modules import etcd_status_info as si

cryptography = pytest.importorskip("cryptography")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec as ec_keys  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

NOW = datetime.datetime.now(datetime.timezone.utc)


def _pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(name, key, issuer, issuer_key, days, ca=False):
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               # Python 3.13's strict verification wants both key identifiers.
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                      key_encipherment=False, data_encipherment=False,
                                                      key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                      encipher_only=False, decipher_only=False), critical=True)
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(name="tls")
def tls_fixture(tmp_path):
    ca_key = ec_keys.generate_private_key(ec_keys.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test etcd CA")])
    ca = _cert("test etcd CA", ca_key, ca_name, ca_key, 3650, ca=True)
    key = ec_keys.generate_private_key(ec_keys.SECP256R1())
    server = _cert("m1", key, ca_name, ca_key, 20)
    (tmp_path / "ca.crt").write_bytes(_pem(ca))
    (tmp_path / "m.crt").write_bytes(_pem(server))
    (tmp_path / "m.key").write_bytes(_pem(key))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tmp_path / "m.crt"), str(tmp_path / "m.key"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls_conn:
                    tls_conn.recv(1)
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield tmp_path, "https://127.0.0.1:%d" % listener.getsockname()[1]
    stop.set()
    listener.close()


def test_the_served_certificate_and_the_ca_are_read(tls):
    tmp_path, url = tls
    client = ec.EtcdClient([url], ca_cert=str(tmp_path / "ca.crt"))
    member = {"name": "m1", "id_hex": "a", "client_urls": [url], "peer_urls": ["https://127.0.0.1:1"]}
    with ThreadPoolExecutor(max_workers=2) as pool:
        certs = si.read_certificates(client, [member], pool)
    assert [(c["kind"], c["member"], c["subject"]) for c in certs] == [
        ("ca", "", "test etcd CA"), ("client", "m1", "m1"), ("peer", "m1", "")]
    assert 3648 <= certs[0]["days_left"] <= 3650 and 19 <= certs[1]["days_left"] <= 20
    assert certs[1]["not_after"].endswith("Z") and certs[1]["error"] == ""
    assert certs[2]["days_left"] is None and "cannot reach it" in certs[2]["error"]
    sentences = si.expiring(certs, 30)
    assert sentences[0].startswith("the client certificate of member m1 (%s) expires in " % url)
    assert sentences[1].startswith("the peer certificate of member m1 (https://127.0.0.1:1) could not be read: ")
    assert len(sentences) == 2  # the CA is far from its end


def test_a_certificate_the_ca_did_not_sign_is_an_error_not_a_date(tls, tmp_path_factory):
    tmp_path, url = tls
    other_key = ec_keys.generate_private_key(ec_keys.SECP256R1())
    other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other CA")])
    other = tmp_path_factory.mktemp("other") / "ca.crt"
    other.write_bytes(_pem(_cert("other CA", other_key, other_name, other_key, 10, ca=True)))
    client = ec.EtcdClient([url], ca_cert=str(other))
    with pytest.raises(ec.EtcdTLSError, match="certificate verification failed"):
        client.served_certificate(url)


def test_expired_and_expiring_sentences():
    certs = [{"kind": "ca", "member": "", "url": "", "subject": "etcd CA", "not_after": "2026-12-01T00:00:00Z",
              "days_left": -3, "error": ""},
             {"kind": "peer", "member": "m2", "url": "https://10.0.0.2:2380", "subject": "m2",
              "not_after": "2027-06-01T00:00:00Z", "days_left": 176, "error": ""}]
    assert si.expiring(certs, 30) == ["the CA certificate etcd CA expired 3 days ago (2026-12-01T00:00:00Z)"]
    assert si.expiring(certs, 200)[1] == ("the peer certificate of member m2 (https://10.0.0.2:2380) expires in "
                                          "176 days (2027-06-01T00:00:00Z)")


def test_expiry_of_a_certificate_dict():
    cert = {"notAfter": "Dec  7 12:00:00 2027 GMT", "subject": ((("commonName", "m1"),),)}
    now = ssl.cert_time_to_seconds("Dec  7 11:00:00 2026 GMT")
    assert ec.certificate_expiry(cert, now) == ("2027-12-07T12:00:00Z", 365)
    assert ec.certificate_name(cert) == "m1" and ec.certificate_name({}) == ""
