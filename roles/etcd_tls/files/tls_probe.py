# Read-only probe of an etcd PKI dir, run by quorum.etcd.etcd_tls as
# `python3 -c <this file> PKI_DIR SANS_JSON` in ONE remote command per node
# (the role's healthy re-run costs this single execution).
#
# Prints one JSON document:
#   cryptography: whether python3-cryptography can be imported here
#   pki_dir: whether PKI_DIR is a directory
#   files: {name: null (absent) | {mode, owner, group, content?, public_key?, error?}}
#     certificates: their PEM text (public); keys: only the PEM of their PUBLIC
#     half, the private key never leaves this process (SAFETY-17)
#   sans: SANS_JSON (a list of "DNS:x", "IP:x" or bare values) in the canonical
#     form x509 parsers print ("IP:" for addresses, IPv6 compressed)
# Standard library only, except the optional cryptography import.
import grp
import ipaddress
import json
import os
import pwd
import stat
import sys

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    HAVE_CRYPTOGRAPHY = True
except ImportError:
    HAVE_CRYPTOGRAPHY = False

CERTS = ("ca.crt", "member.crt", "admin.crt", "client.crt")
KEYS = ("member.key", "admin.key", "client.key")


def canonical_san(entry):
    kind, sep, value = entry.partition(":")
    if not (sep and kind.upper() in ("DNS", "IP")):
        kind, value = "", entry
    value = value.strip()
    if kind.upper() != "DNS":
        try:
            return "IP:" + str(ipaddress.ip_address(value.strip("[]")))
        except ValueError:
            if kind:
                return "IP:" + value
    return "DNS:" + value


def owner_name(uid, gid):
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return user, group


def describe(path, is_key):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    user, group = owner_name(st.st_uid, st.st_gid)
    info = {"mode": "%04o" % stat.S_IMODE(st.st_mode), "owner": user, "group": group}
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        info["error"] = exc.strerror
        return info
    if is_key:
        if HAVE_CRYPTOGRAPHY:
            try:
                key = serialization.load_pem_private_key(data, password=None)
                info["public_key"] = key.public_key().public_bytes(
                    serialization.Encoding.PEM,
                    serialization.PublicFormat.SubjectPublicKeyInfo,
                ).decode("ascii")
            except (ValueError, TypeError):
                info["error"] = "not an unencrypted PEM private key"
        del data
        return info
    text = data.decode("ascii", "replace")
    try:
        if HAVE_CRYPTOGRAPHY:
            x509.load_pem_x509_certificate(data)
        elif "-----BEGIN CERTIFICATE-----" not in text:
            raise ValueError
        info["content"] = text
    except ValueError:
        info["error"] = "not a PEM certificate"
    return info


def main():
    pki_dir = sys.argv[1]
    sans = json.loads(sys.argv[2])
    result = {
        "cryptography": HAVE_CRYPTOGRAPHY,
        "pki_dir": os.path.isdir(pki_dir),
        "files": {},
        "sans": sorted(set(canonical_san(entry) for entry in sans)),
    }
    for name in CERTS + KEYS:
        result["files"][name] = describe(os.path.join(pki_dir, name), name in KEYS)
    json.dump(result, sys.stdout)


main()
