# -*- coding: utf-8 -*-
"""A real TLS etcd cluster of local processes, and a way to run modules.

Used by the pytest suite in this directory and by bench_modules.py.
Everything listens on loopback addresses 127.<a>.<b>.1x picked at random per
run (so parallel runs do not collide), ports 2379/2380. All waits are bounded.
"""

from __future__ import annotations

import base64

import datetime
import ipaddress
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tools"))
from labkit import base, mirror  # noqa: E402  (tools/labkit, standard library only)

# tools/lab.py test sets ETCD_BIN (and ETCD_VERSION) per stage, one per
# supported minor line; by hand, the lab's Go-built default release is used.
ETCD = os.environ.get("ETCD_BIN") or os.path.join(mirror.GO_CACHE, base.DEFAULT_VERSION, "etcd")


def require_etcd():
    """Fail (never skip) when the binary under test is missing or is not
    the release the stage names."""
    if not os.access(ETCD, os.X_OK):
        pytest.fail("no etcd binary to test with: %r (set ETCD_BIN, as tools/lab.py test does)" % ETCD)
    want = os.environ.get("ETCD_VERSION")
    if want:
        out = subprocess.run([ETCD, "--version"], capture_output=True, text=True, check=False).stdout
        assert "etcd Version: %s\n" % want in out, "%s is not etcd %s: %r" % (ETCD, want, out)


MODULES = {
    "etcd_member": "plugins/modules/etcd_member.py",
    "etcd_status_info": "plugins/modules/etcd_status_info.py",
    "etcd_alarm": "plugins/modules/etcd_alarm.py",
    "etcd_compaction": "plugins/modules/etcd_compaction.py",
    "etcd_defrag": "plugins/modules/etcd_defrag.py",
    "etcd_auth": "plugins/modules/etcd_auth.py",
    "etcd_auth_role": "plugins/modules/etcd_auth_role.py",
    "etcd_auth_user": "plugins/modules/etcd_auth_user.py",
}

sys.path.insert(0, str(REPO / "plugins" / "module_utils"))
import etcd_client  # noqa: E402  (stdlib-only module_utils, imported directly for reading the cluster)


def _b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class KVClient(etcd_client.EtcdClient):
    """The collection's gateway client plus the key-value reads and writes
    only the tests need (the modules write no user keys)."""

    def put(self, key, value):
        return self.call("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})

    def get(self, key):
        kvs = self.call("/v3/kv/range", {"key": _b64(key)}).get("kvs") or []
        return base64.b64decode(kvs[0].get("value") or "").decode("utf-8") if kvs else None


# --------------------------------------------------------------------------
# PKI
# --------------------------------------------------------------------------

def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _write(path, key=None, cert=None):
    if key is not None:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])


def make_ca(directory, cn):
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            # Python 3.13's default context verifies strictly (VERIFY_X509_STRICT):
            # it needs the key identifiers that the etcd_tls role's certificates carry.
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _write(directory / ("%s.crt" % cn), cert=cert)
    return key, cert, directory / ("%s.crt" % cn)


def issue(directory, ca_key, ca_cert, cn, ips=(), server=True, subject_cn=True):
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
    builder = (x509.CertificateBuilder().subject_name(_name(cn if subject_cn else None)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),
                              critical=False))
    if ips:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
                                        + [x509.DNSName("localhost")]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    crt, k = directory / ("%s.crt" % cn), directory / ("%s.key" % cn)
    _write(crt, cert=cert)
    _write(k, key=key)
    return crt, k


# --------------------------------------------------------------------------
# Cluster
# --------------------------------------------------------------------------

class Member:
    def __init__(self, lab, index):
        self.lab = lab
        self.name = "etcd%d" % index
        self.ip = "%s.%d" % (lab.prefix, 10 + index)
        self.client_url = "https://%s:2379" % self.ip
        self.peer_url = "https://%s:2380" % self.ip
        self.data_dir = lab.root / self.name
        self.log = lab.root / ("%s.log" % self.name)
        self.proc = None
        self.args = None

    def start(self, initial_cluster, state):
        crt, key = issue(self.lab.pki, self.lab.ca_key, self.lab.ca_cert, self.name, ips=[self.ip]) \
            if not (self.lab.pki / ("%s.crt" % self.name)).exists() else \
            (self.lab.pki / ("%s.crt" % self.name), self.lab.pki / ("%s.key" % self.name))
        ca = str(self.lab.ca_file)
        self.args = [
            ETCD, "--name", self.name, "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", initial_cluster, "--initial-cluster-state", state,
            "--initial-cluster-token", self.lab.token,
            "--cert-file", str(crt), "--key-file", str(key), "--trusted-ca-file", ca, "--client-cert-auth",
            "--peer-cert-file", str(crt), "--peer-key-file", str(key), "--peer-trusted-ca-file", ca,
            "--peer-client-cert-auth",
            "--heartbeat-interval", "50", "--election-timeout", "500",
            "--log-level", "warn",
        ] + list(self.lab.extra_args)
        self.resume()

    def resume(self):
        """(Re)start with the same arguments (data dir kept)."""
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self.proc = None


class Lab:
    """Three TLS members with client-cert-auth on both listeners."""

    def __init__(self, root, size=3, extra_args=()):
        self.root = Path(root)
        self.extra_args = extra_args
        self.pki = self.root / "pki"
        self.pki.mkdir(parents=True, exist_ok=True)
        rnd = random.Random()
        self.prefix = "127.%d.%d" % (rnd.randint(100, 250), rnd.randint(1, 250))
        self.token = "quorum-test-%d" % rnd.randint(0, 1 << 30)
        self.ca_key, self.ca_cert, self.ca_file = make_ca(self.pki, "test-ca")
        self.wrong_ca_file = make_ca(self.pki, "wrong-ca")[2]
        self.client_cert, self.client_key = issue(self.pki, self.ca_key, self.ca_cert, "root", server=False)
        # With etcd auth enabled the gateway refuses certificates that have a CN.
        self.nocn_cert, self.nocn_key = issue(self.pki, self.ca_key, self.ca_cert, "nocn", server=False,
                                              subject_cn=False)
        self.members = [Member(self, i) for i in range(1, size + 1)]
        self.spare = Member(self, size + 1)
        self.unused_endpoint = "https://%s.99:2379" % self.prefix
        self.collections = self.root / "ac"
        link = self.collections / "ansible_collections" / "quorum" / "etcd"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)

    # -- lifecycle --------------------------------------------------------

    def start(self, timeout=30):
        initial = ",".join("%s=%s" % (m.name, m.peer_url) for m in self.members)
        for m in self.members:
            m.start(initial, "new")
        self.wait_healthy(self.members, timeout=timeout)

    def stop(self):
        for m in self.members + [self.spare]:
            m.stop()

    def all_members(self):
        return self.members + [self.spare]

    def by_name(self, name):
        return next(m for m in self.all_members() if m.name == name)

    # -- reading the cluster directly (not through the modules) -----------

    def client(self, endpoints=None, ca=None, nocn=False, **kw):
        cert, key = (self.nocn_cert, self.nocn_key) if nocn else (self.client_cert, self.client_key)
        return KVClient(endpoints or [m.client_url for m in self.all_members() if m.running],
                        ca_cert=str(ca or self.ca_file), client_cert=str(cert),
                        client_key=str(key), connect_timeout=2, timeout=5, **kw)

    def member_list(self):
        return self.client().member_list()[1]

    def leader(self, members=None):
        for m in members or [m for m in self.all_members() if m.running]:
            try:
                st = self.client([m.client_url]).status()
            except etcd_client.EtcdError:
                continue
            if st["is_leader"]:
                return m
        return None

    def wait_healthy(self, members, timeout=30):
        """Bounded: every given member answers with the same leader."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                leaders = set()
                for m in members:
                    st = self.client([m.client_url]).status()
                    leaders.add(st["leader_id"])
                if len(leaders) == 1 and "0" not in leaders:
                    return
                last = "leaders %s" % leaders
            except etcd_client.EtcdError as exc:
                last = exc
            time.sleep(0.2)
        raise RuntimeError("cluster not healthy after %ss: %s" % (timeout, last))

    def conn_args(self, endpoints=None):
        return {
            "endpoints": endpoints or [m.client_url for m in self.all_members() if m.running],
            "ca_cert": str(self.ca_file),
            "client_cert": str(self.client_cert),
            "client_key": str(self.client_key),
            "connect_timeout": 2,
            "timeout": 10,
        }

    # -- running modules ---------------------------------------------------

    def run_module(self, module, args, check=False, diff=True, timeout=120):
        """Run a module file the way AnsiballZ ends up running it.

        The module reads {"ANSIBLE_MODULE_ARGS": ...} from stdin
        (ansible.module_utils.basic._load_params); ansible_collections is
        importable through PYTHONPATH, exactly as inside the AnsiballZ zip.
        """
        payload = dict(args)
        payload["_ansible_check_mode"] = check
        payload["_ansible_diff"] = diff
        env = dict(os.environ, PYTHONPATH=str(self.collections))
        path = self.collections / "ansible_collections" / "quorum" / "etcd" / MODULES[module]
        proc = subprocess.run([sys.executable, str(path)], input=json.dumps({"ANSIBLE_MODULE_ARGS": payload}),
                              capture_output=True, text=True, env=env, timeout=timeout, check=False)
        try:
            result = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError("module %s printed no JSON (rc %s):\nstdout: %s\nstderr: %s"
                                 % (module, proc.returncode, proc.stdout, proc.stderr))
        result["_rc"] = proc.returncode
        return result
