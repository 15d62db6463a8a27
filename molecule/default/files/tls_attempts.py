"""Try to talk to an etcd listener the ways an attacker or a careless
client would, and say what happened to each attempt (SAFETY-18).

Usage: tls_attempts.py HOST PORT DIR client|peer
DIR holds ca.crt (the cluster CA), good.crt/good.key (a certificate the
listener should accept), other.crt/other.key (signed by another CA) and
optionally alt-<label>.crt/.key (of the right CA, to be refused all the same).
Prints one JSON object: attempt name -> {"outcome", "detail"} where outcome
is "ok" (HTTP 200 from /version on a client port, /members on a peer
port), "refused" (the server answered with a TLS
alert, an HTTP error or closed the connection), "unreachable" (no TCP
connection: a firewall or nothing listening) or "client-error" (this side
could not even make the attempt: the test is then broken, not passed).
Standard library only; every attempt has a timeout.
"""

import concurrent.futures
import json
import warnings
import os
import socket
import ssl
import sys

TIMEOUT = 5
# What a listener serves over HTTP/1.1, and a word its answer contains.
PROBES = {"client": ("/version", b"etcdserver"), "peer": ("/members", b"peerURLs")}
# Errors raised by this side before anything reaches the server.
CLIENT_SIDE = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "NO_SUITABLE", "UNSUPPORTED_PROTOCOL",
               "No such file", "PEM lib", "KEY_VALUES_MISMATCH")


def exchange(sock, kind):
    path, marker = PROBES[kind]
    sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: etcd\r\nConnection: close\r\n\r\n")
    data = b""
    # Read until the server closes, or the answer is complete (some
    # listeners keep the connection open despite "Connection: close").
    while len(data) < 65536 and not (b"\r\n\r\n" in data and marker in data):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n", 1)[0].decode("latin-1")
    if head.startswith("HTTP/1.1 200") and marker in data:
        return "ok", head
    return "refused", head or "connection closed without an answer"


def context(directory, cert, max_version=None, ciphers=None, legacy=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(os.path.join(directory, "ca.crt"))
    if legacy:
        # OpenSSL 3 refuses TLS < 1.2 below security level 0.
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    if ciphers:
        ctx.set_ciphers(ciphers)
    if max_version:
        ctx.maximum_version = max_version
    if cert:
        ctx.load_cert_chain(os.path.join(directory, cert + ".crt"), os.path.join(directory, cert + ".key"))
    return ctx


def attempt(host, port, kind, ctx):
    try:
        raw = socket.create_connection((host, port), TIMEOUT)
    except OSError as exc:
        return {"outcome": "unreachable", "detail": str(exc)}
    raw.settimeout(TIMEOUT)
    try:
        if ctx is None:
            outcome, detail = exchange(raw, kind)
        else:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                outcome, detail = exchange(tls, kind)
                detail = "%s %s: %s" % (tls.version(), tls.cipher()[0], detail)
        return {"outcome": outcome, "detail": detail}
    except ssl.SSLError as exc:
        text = "%s %s" % (exc.reason, exc)
        side = "client-error" if any(marker in text for marker in CLIENT_SIDE) else "refused"
        return {"outcome": side, "detail": text}
    except (ConnectionError, socket.timeout, OSError) as exc:
        return {"outcome": "refused", "detail": "%s: %s" % (type(exc).__name__, exc)}
    finally:
        raw.close()


def main():
    warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 are asked for on purpose
    host, port, directory, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    weak = "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:AES128-SHA:AES256-SHA"
    attempts = {
        "plain_http": None,
        "no_cert": context(directory, None),
        "other_ca": context(directory, "other"),
        "tls1_1": context(directory, "good", max_version=ssl.TLSVersion.TLSv1_1, legacy=True),
        "weak_cipher": context(directory, "good", max_version=ssl.TLSVersion.TLSv1_2, ciphers=weak),
        "good": context(directory, "good"),
    }
    # Certificates of the right CA that the listener must still refuse, as
    # alt-<label>.crt/.key (on a peer port: one without the allowed name, a
    # member's certificate used from another host).
    for name in sorted(os.listdir(directory)):
        if name.startswith("alt-") and name.endswith(".crt"):
            attempts["alt_" + name[4:-4]] = context(directory, name[:-4])
    # Side by side: from the outsider, every attempt on the peer port waits
    # out its timeout (the firewall drops), so one after the other took 35 s.
    with concurrent.futures.ThreadPoolExecutor(len(attempts)) as pool:
        futures = {name: pool.submit(attempt, host, port, kind, ctx) for name, ctx in attempts.items()}
        print(json.dumps({name: fut.result() for name, fut in futures.items()}, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
