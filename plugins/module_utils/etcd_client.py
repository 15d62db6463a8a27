# -*- coding: utf-8 -*-
# Copyright: quorum.etcd maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Minimal etcd v3 client over the HTTP/JSON gateway, standard library only.

The managed hosts have no extra Python packages, so this talks to etcd's
grpc-gateway (``POST /v3/...``) with ``http.client``, ``ssl`` and ``json``.
Works with etcd 3.4 and 3.5: fields a version does not send are tolerated,
and uint64 IDs are accepted as JSON strings or numbers and returned as
decimal strings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import socket
import ssl
import time

import http.client as http_client
from urllib.parse import urlsplit

UINT64_MAX = (1 << 64) - 1

# A user name nobody has: etcd 3.4 has no /v3/auth/status, so whether
# authentication is enabled is read from how etcd refuses this user.
_PROBE_USER = "quorum.etcd auth probe (no such user)"


# --------------------------------------------------------------------------
# Exceptions
# --------------------------------------------------------------------------

class Refusal(Exception):
    """The module refuses the request before it changes anything (bad input,
    a safety check, a state it will not act on). ``str()`` is the whole
    message; ``result`` holds extra keys for the module's failed result.
    run_module catches it once; etcd's own refusals are EtcdError."""

    def __init__(self, msg, **result):
        super(Refusal, self).__init__(msg)
        self.result = result


class EtcdError(Exception):
    """Base class. ``str()`` gives one clear message naming the endpoint."""

    def __init__(self, message, endpoint=None, code=None, http_status=None):
        self.message = message
        self.endpoint = endpoint
        self.code = code
        self.http_status = http_status
        super(EtcdError, self).__init__(self.__str__())

    def __str__(self):
        if self.endpoint:
            return "%s: %s" % (self.endpoint, self.message)
        return self.message


class EtcdConfigError(EtcdError):
    """Bad connection settings (endpoint URL, certificate file...)."""


class EtcdUnreachable(EtcdError):
    """Could not connect, or the connection broke / timed out."""


class EtcdTLSError(EtcdError):
    """TLS handshake or certificate verification failed."""


class EtcdAuthError(EtcdError):
    """Authentication or permission error."""


class EtcdAuthNotEnabled(EtcdAuthError):
    """etcd authentication is disabled (answer to /v3/auth/authenticate)."""


class EtcdProtocolError(EtcdError):
    """The endpoint answered something that is not the etcd gateway's JSON."""


class EtcdRequestError(EtcdError):
    """etcd answered with an error not covered by a more specific class."""


class EtcdNoLeader(EtcdRequestError):
    """The cluster (as seen by this endpoint) has no leader."""


class EtcdTimeout(EtcdRequestError):
    """etcd itself reported a request timeout (often: no quorum)."""


class EtcdMemberNotFound(EtcdRequestError):
    """The member ID is not in the cluster."""


class EtcdPeerURLExists(EtcdRequestError):
    """A member with that peer URL already exists."""


class EtcdTooManyLearners(EtcdRequestError):
    """etcd refuses a second learner."""


class EtcdLearnerNotReady(EtcdRequestError):
    """The learner is not in sync with the leader yet (promote refused)."""


class EtcdLearnerRefused(EtcdRequestError):
    """The endpoint is a learner, which serves only Status and serializable
    reads: the request goes to another endpoint (SAFETY-24)."""


class EtcdNotEnoughStarted(EtcdRequestError):
    """etcd's strict reconfig check refused the change."""


class EtcdUnhealthyCluster(EtcdRequestError):
    """etcd refused the change because the cluster is unhealthy."""


class EtcdCompacted(EtcdRequestError):
    """The requested revision has already been compacted away."""


class EtcdFutureRevision(EtcdRequestError):
    """The requested revision is newer than the store's current revision."""


class EtcdNoSpace(EtcdRequestError):
    """The backend quota is exhausted (a NOSPACE alarm is active)."""


class EtcdUserNotFound(EtcdRequestError):
    """No etcd user of that name."""


class EtcdRoleNotFound(EtcdRequestError):
    """No etcd role of that name."""


class EtcdUserExists(EtcdRequestError):
    """A user of that name already exists."""


class EtcdRoleExists(EtcdRequestError):
    """A role of that name already exists."""


class EtcdRoleNotGranted(EtcdRequestError):
    """The role is not granted to the user (revoke)."""


class EtcdPermissionNotGranted(EtcdRequestError):
    """The role has no permission with that key and range end (revoke)."""


class EtcdRootUserMissing(EtcdRequestError):
    """Auth enable refused: no user ``root``, or it lacks the role ``root``."""


class EtcdAuthManagementRefused(EtcdRequestError):
    """etcd refused to delete the root user or role, or to revoke the root
    role from the root user, while authentication is enabled."""


# (substring of etcd's error message, exception class); first match wins.
_MESSAGE_MAP = (
    ("no leader", EtcdNoLeader),
    ("leader changed", EtcdNoLeader),
    ("request timed out", EtcdTimeout),
    ("member not found", EtcdMemberNotFound),
    ("peer urls already exists", EtcdPeerURLExists),
    ("too many learner members", EtcdTooManyLearners),
    ("rpc not supported for learner", EtcdLearnerRefused),
    ("learner member which is in sync", EtcdLearnerNotReady),
    ("learner is not ready", EtcdLearnerNotReady),
    ("not enough started members", EtcdNotEnoughStarted),
    ("unhealthy cluster", EtcdUnhealthyCluster),
    ("required revision has been compacted", EtcdCompacted),
    ("required revision is a future revision", EtcdFutureRevision),
    ("database space exceeded", EtcdNoSpace),
    ("invalid auth token", EtcdAuthError),
    ("authentication failed", EtcdAuthError),
    ("permission denied", EtcdAuthError),
    ("user name is empty", EtcdAuthError),
    ("authentication is not enabled", EtcdAuthNotEnabled),
    ("user name not found", EtcdUserNotFound),
    ("role name not found", EtcdRoleNotFound),
    ("user name already exists", EtcdUserExists),
    ("role name already exists", EtcdRoleExists),
    ("role is not granted to the user", EtcdRoleNotGranted),
    ("permission is not granted to the role", EtcdPermissionNotGranted),
    ("root user does not exist", EtcdRootUserMissing),
    ("root user does not have root role", EtcdRootUserMissing),
    ("invalid auth management", EtcdAuthManagementRefused),
)

# Answers meaning "this request needs a (new) token": auth was enabled after
# this client found it disabled, the token expired or was invalidated (password
# change, auth disabled and enabled again), or the auth store changed between
# the token check and the apply. Such a request was not applied: one fresh
# authentication and one retry are safe.
_TOKEN_RETRY_MESSAGES = ("user name is empty", "invalid auth token", "revision of auth store is old")

# TLS alerts a server sends when it does not accept our client certificate.
_CLIENT_CERT_ALERTS = ("BAD_CERTIFICATE", "CERTIFICATE_REQUIRED", "UNKNOWN_CA", "CERTIFICATE_UNKNOWN",
                       "CERTIFICATE_EXPIRED")

# gRPC status codes used as a fallback.
_GRPC_UNAUTHENTICATED = 16
_GRPC_PERMISSION_DENIED = 7
_GRPC_NOT_FOUND = 5


def error_from_response(endpoint, http_status, body):
    """Turn a non-2xx gateway answer into the most specific EtcdError.

    ``body`` is the raw response (bytes or str). The gateway answers
    ``{"error": msg, "code": n, "message": msg}`` (3.5) or
    ``{"error": msg, "code": n}`` (3.4).
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    data = None
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        text = (body or "").strip()[:200] or "empty body"
        if "commonname of client" in text.lower():
            # etcd (3.4, 3.5) rejects every gateway request made with a client
            # certificate that has a CommonName once auth is enabled.
            return EtcdAuthError(
                "etcd authentication is enabled and its HTTP gateway rejects client certificates with a "
                "CommonName (%s); use username/password with a client certificate that has no CN" % text,
                endpoint, http_status=http_status)
        if http_status in (502, 503, 504):
            return EtcdUnreachable("HTTP %s: %s" % (http_status, text), endpoint, http_status=http_status)
        return EtcdProtocolError(
            "HTTP %s with a non-JSON answer (%s); is this an etcd client URL?" % (http_status, text),
            endpoint, http_status=http_status)
    if isinstance(data.get("error"), dict):
        # A streamed answer (snapshot) reports its error as an object:
        # {"error": {"grpc_code": 7, "http_code": 403, "message": ...}}.
        data = dict(data["error"], code=data["error"].get("grpc_code"))
    msg = str(data.get("message") or data.get("error") or ("HTTP %s" % http_status))
    code = data.get("code")
    low = msg.lower()
    for needle, cls in _MESSAGE_MAP:
        if needle in low:
            return cls(msg, endpoint, code=code, http_status=http_status)
    if code in (_GRPC_UNAUTHENTICATED, _GRPC_PERMISSION_DENIED) or http_status in (401, 403):
        return EtcdAuthError(msg, endpoint, code=code, http_status=http_status)
    if code == _GRPC_NOT_FOUND:
        return EtcdMemberNotFound(msg, endpoint, code=code, http_status=http_status)
    return EtcdRequestError(msg, endpoint, code=code, http_status=http_status)


# --------------------------------------------------------------------------
# Parsing helpers (pure; unit tested)
# --------------------------------------------------------------------------

def parse_id(value):
    """Parse a uint64 etcd ID given as int or decimal string. Return int.

    Raises ValueError naming the value when it is not a uint64.
    """
    if isinstance(value, bool):
        raise ValueError("member ID %r is not an unsigned 64-bit integer" % (value,))
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    else:
        raise ValueError("member ID %r is not an unsigned 64-bit integer" % (value,))
    if n < 0 or n > UINT64_MAX:
        raise ValueError("member ID %r is out of the uint64 range" % (value,))
    return n


def id_str(value):
    """Normalise an ID (int, decimal string, missing) to a decimal string."""
    if value is None or value == "":
        return "0"
    return str(parse_id(value))


def _int(value, default=0):
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def normalize_url(url):
    """Compare URLs loosely: lower-case scheme and host, no trailing slash."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.rstrip("/")
    if not parts.scheme or not parts.netloc:
        return url.rstrip("/")
    return "%s://%s%s" % (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"))


def validate_url(url, what="endpoint"):
    """Return (scheme, host, port) or raise EtcdConfigError naming the URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, AttributeError, TypeError):
        raise EtcdConfigError("%s %r is not a URL like https://10.0.0.1:2379" % (what, url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EtcdConfigError("%s %r is not a URL like https://10.0.0.1:2379 (scheme must be http or https)" % (what, url))
    if port is None:
        raise EtcdConfigError("%s %r has no port (like https://10.0.0.1:2379)" % (what, url))
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise EtcdConfigError("%s %r must not have a path, query or fragment" % (what, url))
    return parts.scheme, parts.hostname, port


def parse_member(raw):
    """Normalise one gateway member dict."""
    raw = raw or {}
    mid = parse_id(raw.get("ID", 0) or 0)
    return {
        "id": str(mid),
        "id_hex": "%x" % mid,
        "name": raw.get("name") or "",
        "peer_urls": list(raw.get("peerURLs") or []),
        "client_urls": list(raw.get("clientURLs") or []),
        "is_learner": bool(raw.get("isLearner", False)),
    }


def parse_members(data):
    return [parse_member(m) for m in ((data or {}).get("members") or [])]


def parse_header(data):
    header = (data or {}).get("header") or {}
    return {
        "cluster_id": id_str(header.get("cluster_id")),
        "member_id": id_str(header.get("member_id")),
        "revision": _int(header.get("revision")),
        "raft_term": _int(header.get("raft_term")),
    }


def parse_status(data):
    """Normalise a /v3/maintenance/status answer. 3.4 lacks some fields."""
    data = data or {}
    header = parse_header(data)
    leader = id_str(data.get("leader"))
    applied = data.get("raftAppliedIndex")
    in_use = data.get("dbSizeInUse")
    return {
        "cluster_id": header["cluster_id"],
        "member_id": header["member_id"],
        "version": data.get("version") or "",
        "db_size": _int(data.get("dbSize")),
        "db_size_in_use": _int(in_use) if in_use is not None else None,
        "leader_id": leader,
        "is_leader": leader != "0" and leader == header["member_id"],
        "raft_term": _int(data.get("raftTerm")),
        "raft_index": _int(data.get("raftIndex")),
        "raft_applied_index": _int(applied) if applied is not None else None,
        "is_learner": bool(data.get("isLearner", False)),
        # The member's storage schema version (etcd 3.6 and later; empty
        # before). etcd migrates it once every member runs the new minor.
        "storage_version": data.get("storageVersion") or "",
        # A downgrade the cluster was asked for (etcd 3.6 and later): its
        # target minor version ("3.6.0"), until every member runs it.
        "downgrade": parse_downgrade_info(data.get("downgradeInfo")),
        "errors": list(data.get("errors") or []),
    }


def parse_downgrade_info(data):
    """Normalise a status's downgradeInfo; the gateway leaves out false and
    empty values, so a cluster with no downgrade sends nothing at all."""
    data = data if isinstance(data, dict) else {}
    return {"enabled": bool(data.get("enabled", False)), "target_version": data.get("targetVersion") or ""}


def parse_alarms(data):
    out = []
    for alarm in (data or {}).get("alarms") or []:
        kind = alarm.get("alarm") or "NONE"
        if kind in ("NONE", 0):
            continue
        out.append({"member_id": id_str(alarm.get("memberID")), "alarm": str(kind)})
    # etcd lists alarms in no fixed order; sorted, two reads of the same
    # alarms compare equal (and diffs and reports stay stable).
    return sorted(out, key=lambda a: (a["alarm"], a["member_id"]))


def quorum(size):
    """Votes needed for a cluster of ``size`` voting members."""
    return size // 2 + 1


# Permission.Type: the gateway sends the enum name and omits READ (0), the
# default value; numbers are accepted too.
PERM_TYPES = ("read", "write", "readwrite")
_PERM_TYPE_BY_WIRE = {"READ": "read", "WRITE": "write", "READWRITE": "readwrite", 0: "read", 1: "write", 2: "readwrite"}


def prefix_range_end(key):
    """The range end that makes ``key`` a prefix, as etcd computes it
    (clientv3.GetPrefixRangeEnd): drop trailing 0xff bytes, then add one to
    the last byte. An empty key, or one of only 0xff bytes, gives "\\x00",
    which etcd reads as "every key from ``key`` on".

    ``key`` is bytes or str; the result has the same type. A str is taken as
    UTF-8 with surrogate escapes, so any key survives the round trip."""
    as_text = not isinstance(key, bytes)
    raw = _bytes(key) if as_text else key
    stripped = raw.rstrip(b"\xff")
    end = stripped[:-1] + bytes(bytearray([stripped[-1] + 1])) if stripped else b"\x00"
    return _text(end) if as_text else end


def parse_permission(raw):
    """Normalise one gateway permission: {"key", "range_end", "type"}.

    Keys are base64 on the wire; an empty range end (one key only) and the
    READ type are omitted from the JSON. 3.4 and 3.5 both use the proto
    field names (``range_end``, ``permType``); the other spellings are
    accepted as well."""
    raw = raw or {}
    wire = raw.get("permType", raw.get("perm_type", 0))
    if isinstance(wire, str):
        wire = int(wire) if wire.strip().isdigit() else wire.strip().upper()
    ptype = _PERM_TYPE_BY_WIRE.get(wire)
    if ptype is None:
        raise EtcdProtocolError("unknown permission type %r in a role's permissions" % (wire,))
    return {
        "key": _unb64(raw.get("key")),
        "range_end": _unb64(raw.get("range_end", raw.get("rangeEnd"))),
        "type": ptype,
    }


def parse_permissions(data):
    return [parse_permission(p) for p in ((data or {}).get("perm") or [])]


# --------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------

class EtcdClient(object):
    """etcd v3 gateway client with endpoint failover.

    Requests go to the current endpoint; when it cannot be reached (connect
    error, broken connection, timeout) the next one is tried, and the one
    that answered stays current. Errors etcd itself returns are not retried
    on another endpoint (a write that etcd refused would be refused again).
    """

    def __init__(self, endpoints, ca_cert=None, client_cert=None, client_key=None,
                 username=None, password=None, connect_timeout=5.0, timeout=15.0):
        if isinstance(endpoints, str):
            endpoints = [e for e in endpoints.split(",") if e.strip()]
        if not endpoints:
            raise EtcdConfigError("no endpoints given")
        self.endpoints = []
        for ep in endpoints:
            ep = ep.strip().rstrip("/")
            validate_url(ep)
            self.endpoints.append(ep)
        for name, value in (("connect_timeout", connect_timeout), ("timeout", timeout)):
            if value is None or value <= 0:
                raise EtcdConfigError("%s must be a positive number of seconds, got %r" % (name, value))
        if bool(client_cert) != bool(client_key):
            raise EtcdConfigError("client_cert and client_key must be given together")
        if password and not username:
            raise EtcdConfigError("password is set but username is not")
        self.ca_cert = ca_cert
        self.client_cert = client_cert
        self.client_key = client_key
        self.username = username
        self.password = password
        self.connect_timeout = float(connect_timeout)
        self.timeout = float(timeout)
        self.current = 0
        self._tokens = {}
        self._learners = set()  # endpoints that refused to authenticate as learners
        self._no_auth_status = False  # etcd 3.4: no /v3/auth/status
        self._ssl_context = None
        if any(ep.startswith("https://") for ep in self.endpoints) or ca_cert or client_cert:
            self._ssl_context = self._make_ssl_context()

    # -- transport ---------------------------------------------------------

    def _make_ssl_context(self):
        try:
            ctx = ssl.create_default_context(cafile=self.ca_cert) if self.ca_cert else ssl.create_default_context()
        except (IOError, OSError, ssl.SSLError) as exc:
            raise EtcdConfigError("cannot load ca_cert %r: %s" % (self.ca_cert, _reason(exc)))
        # SAFETY-18: TLS 1.2 is the minimum.
        if hasattr(ssl, "TLSVersion"):
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.client_cert:
            try:
                ctx.load_cert_chain(self.client_cert, self.client_key)
            except (IOError, OSError, ssl.SSLError) as exc:
                raise EtcdConfigError("cannot load client_cert %r / client_key %r: %s"
                                      % (self.client_cert, self.client_key, _reason(exc)))
        return ctx

    def _raw(self, endpoint, method, path, body=None, token=None):
        """One HTTP exchange with one endpoint, with ``token`` (when not
        empty) as the Authorization header. Returns (status, bytes)."""
        scheme, host, port = validate_url(endpoint)
        if scheme == "https":
            conn = http_client.HTTPSConnection(host, port, timeout=self.connect_timeout, context=self._ssl_context)
        else:
            conn = http_client.HTTPConnection(host, port, timeout=self.connect_timeout)
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = token
        connected = False
        try:
            try:
                conn.connect()
                connected = True
                conn.sock.settimeout(self.timeout)
                conn.request(method, path, body=payload, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.read()
            finally:
                conn.close()
        except ssl.SSLCertVerificationError as exc:
            raise EtcdTLSError("TLS certificate verification failed (%s); check ca_cert and that the "
                               "server certificate names this host" % _reason(exc), endpoint)
        except ssl.SSLError as exc:
            reason = _reason(exc)
            if any(alert in reason.upper() for alert in _CLIENT_CERT_ALERTS):
                raise EtcdTLSError("the server refused the client certificate (%s); set client_cert and client_key "
                                   "to a certificate signed by the CA etcd trusts" % reason, endpoint)
            if isinstance(exc, ssl.SSLEOFError) or "EOF" in reason:
                raise EtcdTLSError("the server closed the connection during the TLS handshake (%s); it may have "
                                   "refused the client certificate: check client_cert and client_key" % reason,
                                   endpoint)
            raise EtcdTLSError("TLS error (%s); check ca_cert, client_cert and client_key" % reason, endpoint)
        except socket.timeout:
            if connected:
                # The member accepted the request but did not answer: typically no
                # leader or no quorum. A write may or may not have been applied, so
                # this is not retried on another endpoint unless the caller says so.
                raise EtcdTimeout("no answer within timeout=%gs after connecting (does the member have a leader "
                                  "and the cluster a quorum?)" % self.timeout, endpoint)
            raise EtcdUnreachable("connect timed out (connect_timeout=%gs)" % self.connect_timeout, endpoint)
        except (socket.error, OSError, http_client.HTTPException) as exc:
            if connected and scheme == "https" and not self.client_cert and isinstance(exc, (socket.error, OSError)):
                # With TLS 1.3 the server checks the client certificate after
                # the handshake has completed on our side: a server that wants
                # one closes the connection (or alerts) when the request is sent.
                raise EtcdTLSError("the server closed the connection after the TLS handshake (%s) and no client "
                                   "certificate was given: set client_cert and client_key (etcd runs with "
                                   "client-cert-auth)" % _reason(exc), endpoint)
            raise EtcdUnreachable("cannot reach endpoint (%s)" % _reason(exc), endpoint)

    def served_certificate(self, url):
        """The certificate the TLS listener at ``url`` (a client or a peer
        URL) presents, verified against ``ca_cert`` and the host, as
        ``ssl.SSLSocket.getpeercert()`` gives it. Only the handshake: no
        request is sent."""
        scheme, host, port = validate_url(url, "url")
        if scheme != "https" or self._ssl_context is None:
            raise EtcdConfigError("not served with TLS: no certificate to read", url)
        try:
            sock = socket.create_connection((host, port), timeout=self.connect_timeout)
            try:
                sock.settimeout(self.timeout)
                with self._ssl_context.wrap_socket(sock, server_hostname=host) as tls:
                    return tls.getpeercert()
            finally:
                sock.close()
        except ssl.SSLCertVerificationError as exc:
            raise EtcdTLSError("TLS certificate verification failed (%s)" % _reason(exc), url)
        except ssl.SSLError as exc:
            raise EtcdTLSError("TLS error (%s)" % _reason(exc), url)
        except (socket.error, OSError) as exc:
            raise EtcdUnreachable("cannot reach it (%s)" % _reason(exc), url)

    def ca_certificates(self):
        """The CA certificates loaded from ``ca_cert`` (during a CA rotation,
        the old and the new one), as ``getpeercert()`` dicts."""
        return self._ssl_context.get_ca_certs() if self._ssl_context is not None and self.ca_cert else []

    def _token(self, endpoint):
        """The token for ``endpoint``, authenticating once. With ``username``
        set on a cluster whose authentication is disabled, etcd answers
        "authentication is not enabled": the empty token is remembered and
        requests go without one (call_endpoint authenticates again when etcd
        later asks for a user), so callers can always pass credentials."""
        token = self._tokens.get(endpoint)
        if token is None:
            status, raw = self._raw(endpoint, "POST", "/v3/auth/authenticate",
                                    {"name": self.username, "password": self.password})
            try:
                data = self._decode(endpoint, status, raw)
            except EtcdAuthNotEnabled:
                token = ""
            except EtcdLearnerRefused:
                # SAFETY-24: a learner refuses to authenticate, yet wants a
                # token for its Status. A token is valid on every member (the
                # authentication goes through raft, which learners apply), so
                # it comes from the first other endpoint that gives one.
                token = self._token_elsewhere(endpoint)
            else:
                token = data.get("token")
                if not token:
                    raise EtcdAuthError("authenticate returned no token", endpoint)
            self._tokens[endpoint] = token
        return token

    def _token_elsewhere(self, learner):
        self._learners.add(learner)
        errors = []
        for other in self.endpoints:
            if other == learner or other in self._learners:
                continue
            try:
                return self._token(other)
            except EtcdError as exc:
                errors.append(exc)
        raise EtcdLearnerRefused("the learner cannot authenticate and no other endpoint gave a token%s"
                                 % "".join("; %s" % e for e in errors), learner)

    @staticmethod
    def _decode(endpoint, status, raw):
        if status < 200 or status >= 300:
            raise error_from_response(endpoint, status, raw)
        try:
            data = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            raise EtcdProtocolError("answer is not JSON (%r); is this an etcd client URL?" % raw[:100], endpoint)
        if not isinstance(data, dict):
            raise EtcdProtocolError("answer is not a JSON object", endpoint)
        return data

    def call_endpoint(self, endpoint, path, body=None, method="POST"):
        """One request to one given endpoint, no failover."""
        status, raw = self._send(endpoint, method, path, body)
        if self.username and _wants_new_token(status, raw):
            # The token expired or was invalidated, or authentication was
            # enabled since this client found it disabled: etcd did not apply
            # the request, so authenticate once more and send it again, once.
            self._tokens.pop(endpoint, None)
            status, raw = self._send(endpoint, method, path, body)
        return self._decode(endpoint, status, raw)

    def _send(self, endpoint, method, path, body):
        # An empty token: authentication is disabled, the request goes without.
        token = self._token(endpoint) if self.username else None
        return self._raw(endpoint, method, path, body, token=token)

    def call_anonymous(self, path, body=None, failover_on=(EtcdUnreachable,)):
        """POST without a token (authenticate, probes), with failover."""
        def once(endpoint):
            status, raw = self._raw(endpoint, "POST", path, body)
            return self._decode(endpoint, status, raw)
        return self._failover(once, failover_on)

    def call(self, path, body=None, method="POST", failover_on=(EtcdUnreachable,)):
        """Request with failover: try the current endpoint, then the others."""
        return self._failover(lambda endpoint: self.call_endpoint(endpoint, path, body, method), failover_on)

    def _failover(self, request, failover_on):
        # A learner refuses every request but Status and serializable reads:
        # any request it refuses is asked of the next endpoint (SAFETY-24).
        failover_on = tuple(failover_on) + (EtcdLearnerRefused,)
        errors = []
        n = len(self.endpoints)
        for i in range(n):
            idx = (self.current + i) % n
            endpoint = self.endpoints[idx]
            try:
                data = request(endpoint)
            except failover_on as exc:
                errors.append(exc)
                continue
            self.current = idx
            return data
        if len(errors) == 1:
            raise errors[0]
        # An endpoint that answered "no leader" / "timed out" says more than
        # the ones that could not be reached: raise that kind.
        answered = [e for e in errors if isinstance(e, EtcdRequestError)]
        cls = type(answered[0]) if answered else type(errors[0])
        raise cls("no endpoint answered: " + "; ".join(str(e) for e in errors))

    @property
    def current_endpoint(self):
        return self.endpoints[self.current]

    def prefer_last(self, urls):
        """Move the endpoints in ``urls`` to the end (e.g. the member being removed)."""
        norm = set(normalize_url(u) for u in urls or [])
        cur = self.endpoints[self.current]
        first = [e for e in self.endpoints if normalize_url(e) not in norm]
        self.endpoints = first + [e for e in self.endpoints if normalize_url(e) in norm]
        self.current = 0 if normalize_url(cur) in norm else self.endpoints.index(cur)

    # -- cluster API -------------------------------------------------------

    def member_list(self, linearizable=True):
        body = {"linearizable": True} if linearizable else {}
        try:
            data = self.call("/v3/cluster/member/list", body,
                             failover_on=(EtcdUnreachable, EtcdNoLeader, EtcdTimeout))
        except EtcdRequestError as exc:
            # etcd 3.4 has no "linearizable" field in MemberListRequest.
            if linearizable and "unknown field" in exc.message.lower():
                data = self.call("/v3/cluster/member/list", {})
            else:
                raise
        return parse_header(data), parse_members(data)

    def member_add(self, peer_urls, is_learner=False):
        body = {"peerURLs": list(peer_urls)}
        if is_learner:
            body["isLearner"] = True
        data = self.call("/v3/cluster/member/add", body)
        return parse_member(data.get("member")), parse_members(data)

    def member_remove(self, member_id):
        data = self.call("/v3/cluster/member/remove", {"ID": id_str(member_id)})
        return parse_members(data)

    def member_promote(self, member_id, endpoint=None):
        """Promote a learner. ``endpoint`` sends the request to that member
        only (the leader's client URL: etcd 3.5 forwards a promotion from a
        follower to the leader without the caller's identity, which fails
        with "user name is empty" once auth is enabled)."""
        body = {"ID": id_str(member_id)}
        if endpoint:
            data = self.call_endpoint(endpoint, "/v3/cluster/member/promote", body)
        else:
            data = self.call("/v3/cluster/member/promote", body)
        return parse_members(data)

    def move_leader(self, leader_endpoint, target_id):
        """Hand leadership to ``target_id``. etcd only accepts this on the
        current leader, so the request goes to its endpoint, without failover."""
        return parse_header(self.call_endpoint(leader_endpoint, "/v3/maintenance/transfer-leadership",
                                               {"targetID": id_str(target_id)}))

    def status(self, endpoint=None):
        if endpoint:
            return parse_status(self.call_endpoint(endpoint, "/v3/maintenance/status", {}))
        return parse_status(self.call("/v3/maintenance/status", {}))

    def alarms(self, endpoint=None):
        body = {"action": "GET", "memberID": "0", "alarm": "NONE"}
        if endpoint:
            return parse_alarms(self.call_endpoint(endpoint, "/v3/maintenance/alarm", body))
        return parse_alarms(self.call("/v3/maintenance/alarm", body))

    def alarm_disarm(self, member_id, alarm):
        """Deactivate one alarm of one member; returns the alarms it cleared."""
        body = {"action": "DEACTIVATE", "memberID": id_str(member_id), "alarm": alarm}
        return parse_alarms(self.call("/v3/maintenance/alarm", body))

    def revision(self):
        """The store's current revision (a linearizable read of no key)."""
        return parse_header(self.call("/v3/kv/range", {"key": _b64("\0"), "count_only": True}))["revision"]

    def is_compacted(self, revision):
        """True when ``revision`` can no longer be read: the store has been
        compacted at a revision above it. Revision 0 is never readable history."""
        if revision < 1:
            return True
        try:
            self.call("/v3/kv/range", {"key": _b64("\0"), "count_only": True, "revision": str(revision)})
        except EtcdCompacted:
            return True
        return False

    def compact(self, revision, physical=True):
        """Compact the key history below ``revision``. ``physical`` waits
        until every member has applied it to its backend."""
        body = {"revision": str(revision)}
        if physical:
            body["physical"] = True
        return parse_header(self.call("/v3/kv/compaction", body))

    def defragment(self, endpoint):
        """Defragment one member's backend (blocks that member while it runs)."""
        return parse_header(self.call_endpoint(endpoint, "/v3/maintenance/defragment", {}))

    def readyz(self, endpoint, exclude=("non_learner",)):
        """GET /readyz on one member (etcd 3.5.11 and later): ``(True, "")``
        when it serves local and linearizable reads (so it has caught up with
        the cluster's consensus) and has no corruption alarm, ``(False,
        reason)`` when not, None when the member has no such check (404).
        ``exclude`` names checks left out: by default learners are not held
        against a member (the member list tells them)."""
        query = "&".join("exclude=%s" % name for name in exclude)
        status, raw = self._raw(endpoint, "GET", "/readyz" + ("?" + query if query else ""))
        if status == 404:
            return None
        if 200 <= status < 300:
            return True, ""
        return False, " ".join(_text(raw).split()) or ("HTTP %s" % status)

    def cluster_version(self, endpoint=None):
        """The cluster version ("3.6.0") from GET /version, the minor line
        every member may rely on; empty while the cluster has not decided it."""
        if endpoint:
            data = self.call_endpoint(endpoint, "/version", None, method="GET")
        else:
            data = self.call("/version", None, method="GET")
        value = data.get("etcdcluster") or ""
        return "" if value == "not_decided" else value

    def downgrade(self, action, version):
        """Maintenance.Downgrade (etcd 3.6 and later): ``action`` VALIDATE,
        ENABLE or CANCEL, ``version`` the target minor ("3.6"). Returns the
        cluster version etcd reports. With authentication on, root only."""
        data = self.call("/v3/maintenance/downgrade", {"action": action, "version": version})
        return data.get("version") or ""

    def health(self, endpoint=None):
        """GET /health; returns (healthy bool, reason str)."""
        if endpoint:
            data = self.call_endpoint(endpoint, "/health", None, method="GET")
        else:
            data = self.call("/health", None, method="GET")
        value = data.get("health")
        return value in (True, "true"), data.get("reason") or ""

    # -- auth API ----------------------------------------------------------
    #
    # Request field names differ per call (proto field names): user/get,
    # user/delete, user/changepw and user/revoke take "name"; user/grant
    # takes "user" and "role"; role/add and role/grant take "name"; role/get,
    # role/delete and role/revoke take "role". Both 3.4 and 3.5 answer an
    # empty list as a missing field.

    def auth_status(self):
        """True when etcd authentication is enabled.

        etcd 3.5 has /v3/auth/status (it answers anonymous callers "user name
        is empty" and non-root users "permission denied" when enabled; both
        can only happen with authentication on). etcd 3.4's gateway has no
        such path (404), so an authentication of a user that does not exist
        is tried instead: "authentication is not enabled" or "authentication
        failed"."""
        if self._no_auth_status:
            return self._probe_auth_enabled()
        try:
            data = self.call("/v3/auth/status", {})
        except EtcdProtocolError as exc:
            if exc.http_status != 404:
                raise
            self._no_auth_status = True
            return self._probe_auth_enabled()
        except EtcdAuthError as exc:
            low = exc.message.lower()
            if "user name is empty" in low or "permission denied" in low:
                return True
            raise
        return data.get("enabled") in (True, "true")

    def _probe_auth_enabled(self):
        try:
            self.call_anonymous("/v3/auth/authenticate", {"name": _PROBE_USER, "password": _PROBE_USER})
        except EtcdAuthNotEnabled:
            return False
        except EtcdAuthError as exc:
            if "authentication failed" in exc.message.lower():
                return True
            raise
        return True

    def auth_enable(self):
        data = self.call("/v3/auth/enable", {})
        self._tokens.clear()  # "no token needed" no longer holds
        return parse_header(data)

    def auth_disable(self):
        data = self.call("/v3/auth/disable", {})
        self._tokens.clear()  # etcd dropped every token
        return parse_header(data)

    def check_password(self, name, password):
        """True when ``name`` / ``password`` authenticate. Only meaningful
        with authentication enabled: otherwise EtcdAuthNotEnabled is raised."""
        try:
            data = self.call_anonymous("/v3/auth/authenticate", {"name": name, "password": password})
        except EtcdAuthNotEnabled:
            raise
        except EtcdAuthError as exc:
            if "authentication failed" in exc.message.lower():
                return False
            raise
        return bool(data.get("token"))

    def user_get(self, name):
        """The user's role names, or None when there is no such user."""
        try:
            data = self.call("/v3/auth/user/get", {"name": name})
        except EtcdUserNotFound:
            return None
        return sorted(data.get("roles") or [])

    def user_add(self, name, password):
        return parse_header(self.call("/v3/auth/user/add", {"name": name, "password": password}))

    def user_delete(self, name):
        return parse_header(self.call("/v3/auth/user/delete", {"name": name}))

    def user_change_password(self, name, password):
        """etcd invalidates the user's tokens; when it is this client's own
        user, the client goes on with the new password."""
        data = self.call("/v3/auth/user/changepw", {"name": name, "password": password})
        if self.username is not None and name == self.username:
            self.password = password
            self._tokens.clear()
        return parse_header(data)

    def user_grant_role(self, user, role):
        return parse_header(self.call("/v3/auth/user/grant", {"user": user, "role": role}))

    def user_revoke_role(self, user, role):
        return parse_header(self.call("/v3/auth/user/revoke", {"name": user, "role": role}))

    def role_list(self):
        return sorted((self.call("/v3/auth/role/list", {}).get("roles") or []))

    def role_get(self, name):
        """The role's permissions (see parse_permission), or None when there
        is no such role."""
        try:
            data = self.call("/v3/auth/role/get", {"role": name})
        except EtcdRoleNotFound:
            return None
        return parse_permissions(data)

    def role_add(self, name):
        return parse_header(self.call("/v3/auth/role/add", {"name": name}))

    def role_delete(self, name):
        return parse_header(self.call("/v3/auth/role/delete", {"role": name}))

    def role_grant_permission(self, role, key, range_end, perm_type):
        """Grant (or, for the same key and range end, change the type of) a
        permission. ``range_end`` empty: the key alone; see prefix_range_end."""
        if perm_type not in PERM_TYPES:
            raise EtcdConfigError("permission type %r is not one of %s" % (perm_type, ", ".join(PERM_TYPES)))
        perm = {"key": _b64(key), "permType": perm_type.upper()}
        if range_end:
            perm["range_end"] = _b64(range_end)
        return parse_header(self.call("/v3/auth/role/grant", {"name": role, "perm": perm}))

    def role_revoke_permission(self, role, key, range_end):
        body = {"role": role, "key": _b64(key)}
        if range_end:
            body["range_end"] = _b64(range_end)
        return parse_header(self.call("/v3/auth/role/revoke", body))

    def session(self, endpoint):
        """A kept-alive connection to one ``endpoint`` for many small
        requests in a row (etcd_raft_snapshot); no failover."""
        return _Session(self, endpoint)

    # -- KV (etcd_raft_snapshot's scratch key) ------------------------------

    def delete(self, key):
        data = self.call("/v3/kv/deleterange", {"key": _b64(key)})
        return _int(data.get("deleted"))


class _Session(object):
    """One HTTP/1.1 connection reused for each request. Errors are the
    client's: EtcdUnreachable when the connection breaks, the mapped etcd
    error when etcd refuses."""

    def __init__(self, client, endpoint):
        self.client = client
        self.endpoint = endpoint
        self.token = client._token(endpoint) if client.username else None
        scheme, host, port = validate_url(endpoint)
        if scheme == "https":
            self.conn = http_client.HTTPSConnection(host, port, timeout=client.timeout, context=client._ssl_context)
        else:
            self.conn = http_client.HTTPConnection(host, port, timeout=client.timeout)

    def call(self, path, body):
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = self.token
        try:
            self.conn.request("POST", path, body=json.dumps(body).encode("utf-8"), headers=headers)
            resp = self.conn.getresponse()
            status, raw = resp.status, resp.read()
        except (socket.error, OSError, http_client.HTTPException) as exc:
            raise EtcdUnreachable("connection broke (%s)" % _reason(exc), self.endpoint)
        return EtcdClient._decode(self.endpoint, status, raw)

    def put(self, key, value):
        return self.call("/v3/kv/put", {"key": _b64(key), "value": _b64(value)})

    def close(self):
        self.conn.close()


def _bytes(text):
    """str -> bytes: UTF-8, surrogate escapes back to the bytes they stand for."""
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")


def _text(raw):
    """bytes -> str without loss: bytes that are not UTF-8 become surrogate escapes."""
    return raw.decode("utf-8", "surrogateescape")


def _b64(text):
    return base64.b64encode(_bytes(text)).decode("ascii")


def _unb64(value):
    """Decode a base64 bytes field of the gateway JSON (missing = empty)."""
    if not value:
        return ""
    try:
        return _text(base64.b64decode(value))
    except (TypeError, ValueError):
        raise EtcdProtocolError("field %r is not base64" % (value,))


def display_key(text):
    """A key for messages and results: bytes that are not UTF-8 shown as \\xNN."""
    return _bytes(text).decode("utf-8", "backslashreplace")


def _wants_new_token(status, raw):
    """True when an answer says the request needs a (new) token."""
    if status == 401:
        return True
    if status < 400:
        return False
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    low = (raw or "").lower()
    return any(msg in low for msg in _TOKEN_RETRY_MESSAGES)


def certificate_expiry(cert, now=None):
    """(notAfter as ``YYYY-MM-DDTHH:MM:SSZ``, whole days left, rounded down,
    negative once expired) of a ``getpeercert()`` dict."""
    not_after = ssl.cert_time_to_seconds(cert["notAfter"])
    left = not_after - (time.time() if now is None else now)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(not_after)), int(left // 86400)


def certificate_name(cert):
    """The subject's common name of a ``getpeercert()`` dict, or ''."""
    for rdn in cert.get("subject") or ():
        for key, value in rdn:
            if key == "commonName":
                return value
    return ""


def _reason(exc):
    reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or getattr(exc, "strerror", None)
    text = str(reason or exc or type(exc).__name__)
    return text


def wait_until(predicate, timeout, delay=1.0, clock=time.monotonic, sleep=time.sleep):
    """Call ``predicate`` until it returns truthy or ``timeout`` passes (bounded)."""
    deadline = clock() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if clock() + delay > deadline:
            return result
        sleep(delay)


# --------------------------------------------------------------------------
# Module glue: common argument spec (see doc_fragments/etcd.py)
# --------------------------------------------------------------------------

def etcd_argument_spec():
    return dict(
        endpoints=dict(type="list", elements="str", default=["https://127.0.0.1:2379"]),
        ca_cert=dict(type="path", aliases=["cacert"]),
        client_cert=dict(type="path", aliases=["cert"]),
        client_key=dict(type="path", aliases=["key"], no_log=False),
        username=dict(type="str", aliases=["user"]),
        password=dict(type="str", no_log=True),
        connect_timeout=dict(type="float", default=5.0),
        timeout=dict(type="float", default=15.0),
    )


ETCD_REQUIRED_TOGETHER = [["client_cert", "client_key"]]
ETCD_REQUIRED_BY = {"password": "username"}


def client_from_module(module):
    """An EtcdClient from the module's connection options (EtcdConfigError
    when one is bad)."""
    p = module.params
    return EtcdClient(
        endpoints=p["endpoints"], ca_cert=p["ca_cert"], client_cert=p["client_cert"],
        client_key=p["client_key"], username=p["username"], password=p["password"],
        connect_timeout=p["connect_timeout"], timeout=p["timeout"])


def needs_root(exc, what):
    """An EtcdAuthError met while reading ``what`` (users, roles): a refusal
    ends the module with a hint that root's credentials are needed; any
    other auth error goes on to run_module's handler."""
    if "permission denied" not in exc.message.lower():
        raise exc
    raise Refusal("etcd error: %s (managing %s needs the credentials of a user with the role root in "
                  "username and password)" % (exc, what))


def apply_in_order(module, actions, do, describe):
    """Carry out planned ``actions`` one after the other with ``do(action)``.
    When one fails, warn which ones were already done (``describe(action)``),
    then let the error reach run_module, which fails the module with it."""
    done = []
    try:
        for action in actions:
            do(action)
            done.append(describe(action))
    except EtcdError:
        if done:
            module.warn("changes made before the error: %s" % "; ".join(done))
        raise


def run_module(extra_spec, run, root_only=None, validate=None, **module_options):
    """The main() of every module that talks to etcd: the connection options
    plus ``extra_spec``, check mode supported, and ``module_options`` passed
    on to AnsibleModule (``mutually_exclusive``, ``required_one_of``...; the
    connection options' own ``required_together``/``required_by`` are added).
    ``validate(params)`` may raise EtcdConfigError before any connection;
    ``run(module, client)`` returns the result. Errors end here, once: a
    Refusal or a bad setting with its own message, any other EtcdError as
    "etcd error: ...". ``root_only`` names what etcd allows only to root while
    authentication is on (compaction, defragmentation): a "permission denied"
    then says so. AnsibleModule is imported here so that this file stays
    importable without Ansible."""
    from ansible.module_utils.basic import AnsibleModule

    argument_spec = etcd_argument_spec()
    argument_spec.update(extra_spec)
    module_options["required_together"] = ETCD_REQUIRED_TOGETHER + module_options.get("required_together", [])
    module_options["required_by"] = dict(ETCD_REQUIRED_BY, **module_options.get("required_by", {}))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **module_options)
    try:
        if validate:
            validate(module.params)
        result = run(module, client_from_module(module))
    except Refusal as exc:
        module.fail_json(msg=str(exc), **dict(dict(changed=False), **exc.result))
    except EtcdConfigError as exc:
        module.fail_json(msg=str(exc), changed=False)
    except EtcdError as exc:
        hint = ""
        if root_only and isinstance(exc, EtcdAuthError) and "permission denied" in exc.message.lower():
            hint = (" (with authentication on, etcd allows %s only to a user with the role root: pass root's "
                    "username and password)" % root_only)
        module.fail_json(msg="etcd error: %s%s" % (exc, hint), changed=False)
    module.exit_json(**result)
