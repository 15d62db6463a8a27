# -*- coding: utf-8 -*-
"""The action plugins etcd_tls_ca and etcd_tls_sign: the modules' code run in
the controller's Ansible process (SAFETY-17: the CA key is only ever read
there), with the options checked as the module checks them."""
from __future__ import annotations

from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.quorum.etcd.plugins.action.etcd_tls_ca import ActionModule as CaAction
from ansible_collections.quorum.etcd.plugins.action.etcd_tls_sign import ActionModule as SignAction


def action(cls, args, check_mode=False):
    task = MagicMock()
    task.args, task.async_val, task.check_mode = args, 0, check_mode
    connection = MagicMock()
    connection._shell.tmpdir = None
    return cls(task, connection, MagicMock(), loader=None, templar=None, shared_loader_obj=None)


def ca_args(path, **extra):
    return {"path": str(path), "common_name": "test CA", "valid_days": "30", **extra}


def test_the_ca_action_makes_the_ca_once_and_check_mode_makes_nothing(tmp_path):
    ca_dir = tmp_path / "ca"
    planned = action(CaAction, ca_args(ca_dir), check_mode=True).run(task_vars={})
    assert planned["changed"] and planned["made"] == ["directory", "key", "certificate"]
    assert not ca_dir.exists()
    made = action(CaAction, ca_args(ca_dir)).run(task_vars={})
    assert made["changed"] and oct(ca_dir.stat().st_mode & 0o777) == "0o700"
    assert oct((ca_dir / "ca.key").stat().st_mode & 0o777) == "0o600"
    again = action(CaAction, ca_args(ca_dir)).run(task_vars={})
    assert again == {"changed": False, "made": []}


def test_the_ca_action_refuses_a_bad_option_naming_it(tmp_path):
    with pytest.raises(AnsibleActionFail, match="valid_days"):
        action(CaAction, ca_args(tmp_path / "ca", valid_days="soon")).run(task_vars={})
    assert not (tmp_path / "ca").exists()


def csr_pem(common_name):
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def test_the_sign_action_signs_every_request_with_the_ca_and_names_a_wrong_passphrase(tmp_path):
    ca_dir = tmp_path / "ca"
    action(CaAction, ca_args(ca_dir, passphrase="right horse")).run(task_vars={})
    args = {"ca_cert": str(ca_dir / "ca.crt"), "ca_key": str(ca_dir / "ca.key"), "ca_key_passphrase": "right horse",
            "valid_days": 10, "requests": [{"host": "etcd1", "name": "member", "csr": csr_pem("etcd1")},
                                           {"host": "etcd2", "name": "member", "csr": csr_pem("etcd2")}]}
    signed = action(SignAction, args).run(task_vars={})
    assert signed["changed"] is False and sorted(signed["certificates"]) == ["etcd1", "etcd2"]
    ca = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    cert = x509.load_pem_x509_certificate(signed["certificates"]["etcd2"]["member"].encode("ascii"))
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    wrong = action(SignAction, dict(args, ca_key_passphrase="wrong horse")).run(task_vars={})
    assert wrong["failed"] and "passphrase" in wrong["msg"] and "wrong horse" not in wrong["msg"]
    assert "certificates" not in wrong
