# -*- coding: utf-8 -*-
"""etcd release archives (built with Go from etcd's modules, or Debian's build) and the HTTP mirror serving them.

Standard library only: the lab runs before its venv exists."""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.request

from .base import IMAGE, LAB, MIRROR_NAME, MIRROR_PORT, MIRROR_URL, MIRROR_VERSIONS, NETWORK, POOL_DEBS, log, ok, run
from .engine import container_state, debian_mirror, ensure_network


# --------------------------------------------------------------------------
# etcd mirror

def _binaries_from_pool(version: str, cache: str) -> dict:
    dest = os.path.join(cache, f"pool-{version}")
    tree = os.path.join(dest, "tree")
    if not os.path.isdir(tree):
        os.makedirs(dest, exist_ok=True)
        # The machine's mirror first, then Debian's own (the pool is shared
        # by every release; the pinned SHA-256 makes any source safe).
        bases = list(dict.fromkeys([debian_mirror().rstrip("/"), "http://deb.debian.org/debian"]))
        for rel, sha in POOL_DEBS[version]:
            deb = os.path.join(dest, os.path.basename(rel))
            if not os.path.exists(deb):
                data, errors = None, []
                for base in bases:
                    try:
                        with urllib.request.urlopen(f"{base}/{rel}", timeout=300) as resp:
                            data = resp.read()
                        break
                    except OSError as exc:
                        errors.append(f"{base}: {exc}")
                if data is None:
                    raise SystemExit(f"lab: cannot download {rel}: {'; '.join(errors)}")
                got = hashlib.sha256(data).hexdigest()
                if got != sha:
                    raise SystemExit(f"lab: {rel} has SHA-256 {got}, expected {sha}")
                with open(deb + ".tmp", "wb") as fh:
                    fh.write(data)
                os.replace(deb + ".tmp", deb)
        for rel, _sha in POOL_DEBS[version]:
            run(["dpkg-deb", "-x", os.path.join(dest, os.path.basename(rel)), tree + ".tmp"])
        os.replace(tree + ".tmp", tree)
    out = {}
    for name in ("etcd", "etcdctl", "etcdutl"):
        with open(os.path.join(tree, "usr/bin", name), "rb") as fh:
            out[name] = fh.read()
    return out


# Go-built releases are kept machine-wide, keyed by version, so a fresh clone
# on the same machine (CI) does not build them again.
GO_CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                        "quorum-etcd-lab", "etcd-go")
# The three commands and the Go module each one's main package is in.
GO_MODULES = (("etcd", "server"), ("etcdctl", "etcdctl"), ("etcdutl", "etcdutl"))
# Both the `replace ( ... )` block and single `replace a => b` lines.
_GO_REPLACE = re.compile(r"^replace\s*\((?:.|\n)*?^\)\s*$|^replace\s+[^\n]*$", re.M)


def _go() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else "")
    if not go:
        raise SystemExit("lab: cannot build etcd: no `go` command on this machine (the lab builds etcd's "
                         "release binaries from the Go module proxy; see docs/LAB.md)")
    return go


def _go_step(cmd, cwd: str, env: dict, what: str) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        detail = (res.stderr or res.stdout).strip().splitlines()
        raise SystemExit(f"lab: cannot build etcd: {what} failed: {detail[-1] if detail else res.returncode}"
                         f" (GOPROXY={env.get('GOPROXY') or 'default'})")
    return res.stdout


def build_etcd_with_go(version: str, dest: str) -> None:
    """Build etcd, etcdctl and etcdutl at release ``version`` from etcd's own
    modules on the Go module proxy into ``dest`` (docs/LAB.md): the module
    at the exact tag is copied out of the module cache, its replace
    directives (paths inside etcd's repository) are dropped so that the
    sibling modules come from the proxy at the versions the release pins,
    and the copy is built with CGO off and -trimpath."""
    go = _go()
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod", GOWORK="off")
    os.makedirs(dest, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="etcd-go-") as tmp:
        for name, module in GO_MODULES:
            path = f"go.etcd.io/etcd/{module}/v3@v{version}"
            info = json.loads(_go_step([go, "mod", "download", "-json", path], tmp, env,
                                       f"downloading {path} from the Go module proxy"))
            work = os.path.join(tmp, module)
            shutil.copytree(info["Dir"], work)
            for top, dirs, files in os.walk(work):
                for entry in dirs + files:
                    full = os.path.join(top, entry)
                    os.chmod(full, os.stat(full).st_mode | 0o200)
            gomod = os.path.join(work, "go.mod")
            with open(gomod) as fh:
                text = fh.read()
            with open(gomod, "w") as fh:
                fh.write(_GO_REPLACE.sub("", text))
            _go_step([go, "mod", "tidy"], work, env, f"go mod tidy in {path}")
            _go_step([go, "build", "-trimpath", "-o", os.path.join(dest, name + ".tmp"), "."], work, env,
                     f"go build of {path}")
            flag = "--version" if name == "etcd" else "version"
            out = _go_step([os.path.join(dest, name + ".tmp"), flag], tmp, env, f"{name} {flag}")
            if not re.search(rf"(?im)^{name} version:\s*{re.escape(version)}\s*$", out):
                raise SystemExit(f"lab: the {name} built from {path} does not report {version}: {out.strip()!r}")
            os.replace(os.path.join(dest, name + ".tmp"), os.path.join(dest, name))


def _binaries_from_go(version: str, cache: str) -> dict:
    del cache  # machine-wide, see GO_CACHE
    dest = os.path.join(GO_CACHE, version)
    os.makedirs(GO_CACHE, exist_ok=True)
    with open(os.path.join(GO_CACHE, "build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another clone may be building it
        if not all(os.path.exists(os.path.join(dest, name)) for name, _module in GO_MODULES):
            log(f"mirror: building etcd {version} from the Go module proxy (a few minutes the first "
                f"time on a machine; kept in {GO_CACHE})")
            started = time.monotonic()
            build_etcd_with_go(version, dest)
            log(f"mirror: etcd {version} built in {time.monotonic() - started:.0f} s")
    out = {}
    for name, _module in GO_MODULES:
        with open(os.path.join(dest, name), "rb") as fh:
            out[name] = fh.read()
    return out


def _write_archive(path: str, version: str, binaries: dict) -> None:
    """Upstream layout, reproducible bytes (fixed mtimes, gzip mtime 0)."""
    top = f"etcd-v{version}-linux-amd64"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tf:
        info = tarfile.TarInfo(top)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1600000000
        tf.addfile(info)
        for name in sorted(binaries):
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode, info.mtime = len(binaries[name]), 0o755, 1600000000
            tf.addfile(info, io.BytesIO(binaries[name]))
        readme = f"etcd {version} repackaged for the quorum.etcd lab mirror\n".encode()
        info = tarfile.TarInfo(f"{top}/README.md")
        info.size, info.mode, info.mtime = len(readme), 0o644, 1600000000
        tf.addfile(info, io.BytesIO(readme))
    # Level 6, gzip's own default (what `tar czf` gives, as upstream's
    # archives): Python's default 9 took 11.9 CPU-seconds per release for a
    # file 0.3 % smaller than level 6's 3.4 s, five releases in the set-up.
    with open(path + ".tmp", "wb") as fh:
        with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=6, mtime=0, filename="") as gz:
            gz.write(raw.getvalue())
    os.replace(path + ".tmp", path)


def ensure_mirror_files() -> str:
    mirror = os.path.join(LAB, "mirror")
    cache = os.path.join(LAB, "cache")
    for version, source in MIRROR_VERSIONS:
        vdir = os.path.join(mirror, f"v{version}")
        archive = f"etcd-v{version}-linux-amd64.tar.gz"
        sums = os.path.join(vdir, "SHA256SUMS")
        if os.path.exists(sums):
            continue
        log(f"mirror: packaging etcd {version} from {source}")
        os.makedirs(vdir, exist_ok=True)
        fetch = {"pool": _binaries_from_pool, "go": _binaries_from_go}[source]
        binaries = fetch(version, cache)
        _write_archive(os.path.join(vdir, archive), version, binaries)
        with open(os.path.join(vdir, archive), "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        with open(sums + ".tmp", "w") as fh:
            fh.write(f"{digest}  {archive}\n")
        os.replace(sums + ".tmp", sums)
    return mirror


def same_releases(other: str, mine: str) -> bool:
    """Whether another checkout's mirror directory serves the very archives
    this one would (every SHA256SUMS equal). Then the running mirror is kept:
    re-making it for a second checkout (a CI run beside a developer's tree)
    would break the downloads the first one has under way."""
    if not other or not os.path.isdir(other):
        return False
    for version, _source in MIRROR_VERSIONS:
        sums = []
        for base in (other, mine):
            try:
                with open(os.path.join(base, f"v{version}", "SHA256SUMS"), "rb") as fh:
                    sums.append(fh.read())
            except OSError:
                return False
        if sums[0] != sums[1]:
            return False
    return True


def ensure_mirror() -> None:
    mirror = ensure_mirror_files()
    ensure_network()
    state = container_state(MIRROR_NAME)
    source = run(["docker", "inspect", "-f", "{{range .Mounts}}{{.Source}}{{end}}", MIRROR_NAME],
                 check=False, capture=True).stdout.strip() if state else ""
    # Same path is not enough: a checkout deleted and cloned again at the
    # same place leaves the container serving the deleted directory (404s).
    # Asked up to three times: a busy engine may fail one exec, and re-making
    # the mirror would break a download another test worker has under way.
    wanted = [f"/srv/mirror/v{version}/SHA256SUMS" for version, _source in MIRROR_VERSIONS]
    probe = ["docker", "exec", MIRROR_NAME, "sh", "-c", " && ".join(f"test -f {w}" for w in wanted)]
    if state == "running" and (source == mirror or same_releases(source, mirror)):
        for _attempt in range(3):
            if ok(probe):
                return
            time.sleep(1)
    # Stopped, or serving other files: start it on this one.
    if state:
        run(["docker", "rm", "-f", MIRROR_NAME], capture=True)
    run(["docker", "run", "-d", "--name", MIRROR_NAME, "--network", NETWORK,
         "--label", "project=quorum-etcd", "-v", f"{mirror}:/srv/mirror:ro",
         "--entrypoint", "python3", IMAGE, "-m", "http.server", str(MIRROR_PORT),
         "--directory", "/srv/mirror"], capture=True)
    log(f"mirror serving {mirror} at {MIRROR_URL}")
