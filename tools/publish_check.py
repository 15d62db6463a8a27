"""Checks of what the collection publishes, run by the suite's stages
`galaxy-importer` and `ee` (tools/labkit/suite.py), each in a temporary directory:

    python tools/publish_check.py galaxy-importer
        build the tarball, check it holds no local junk (caches, venvs, the
        lab, tools, Molecule, the integration tests), then run Galaxy's own
        importer on it (settings: .config/galaxy-importer.cfg); any ERROR
        line fails.
    python tools/publish_check.py ee
        `ansible-builder create` of execution-environment.yml (the build
        context only, offline), then ansible-builder's introspection of the
        collection installed from its tarball: it must name the Python and
        system packages of meta/execution-environment.yml; bindep must parse
        the system file.

Run with the venv's bin first on PATH (the stages do), so ansible-galaxy,
ansible-builder, bindep and galaxy-importer's ansible-doc and flake8 are
the pinned ones.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import subprocess
import sys
import tarfile
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Paths (from the collection root) that a built tarball must never hold: any
# path component matching one of JUNK_NAMES, or a path under JUNK_TOP.
JUNK_NAMES = ("__pycache__", "*.pyc", "*.pyo", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".nox",
              ".cache", ".idea", ".vscode", ".env", ".envrc", ".venv", ".venv-*", ".git", ".lab", ".ansible",
              ".coverage", "*.swp", "*~", ".DS_Store", ".plugin-cache.yaml")
JUNK_TOP = (".ci", ".config", "tools", "molecule", "tests/integration", "tests/matrix", "tests/output", "context",
            "ansible.cfg", "requirements.txt", "execution-environment.yml", "tests/unit/test_lab_docker.py",
            "tests/unit/test_publish_check.py", "tests/unit/test_role_docs.py")


def junk(names):
    """The names of a tarball that a user does not need, sorted."""
    found = set()
    for name in names:
        parts = name.strip("/").split("/")
        if any(fnmatch.fnmatch(part, pat) for part in parts for pat in JUNK_NAMES) or \
                any(name == top or name.startswith(top + "/") for top in JUNK_TOP):
            found.add(name)
    return sorted(found)


def clean_env() -> dict:
    """The environment without the lab's collections path, where quorum.etcd is
    the checkout: ansible-galaxy would find it "already installed" there, and
    ansible-doc would read the checkout instead of the tarball."""
    env = dict(os.environ)
    for name in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"):
        env.pop(name, None)
    return env


def stream(cmd, cwd=None, env=None, stderr_apart=False):
    """Run ``cmd`` with its output echoed line by line as it comes (the stage's
    log stamps each line); return its exit code and that output (with
    ``stderr_apart``, standard output alone: a YAML document)."""
    print("$ " + " ".join(cmd), flush=True)
    lines = []
    with subprocess.Popen(cmd, cwd=cwd, env=env or clean_env(), text=True, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, errors="replace",
                          stderr=None if stderr_apart else subprocess.STDOUT) as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
        return proc.wait(), "".join(lines)


def run(cmd, cwd=None, stderr_apart=False) -> str:
    """``stream`` that exits when ``cmd`` fails; returns its output."""
    rc, output = stream(cmd, cwd=cwd, stderr_apart=stderr_apart)
    if rc:
        raise SystemExit(f"publish_check: {cmd[0]} exited with {rc}")
    return output


def build(tmp: str):
    """Build the collection from the checkout into ``tmp``; return the tarball's path and names."""
    run(["ansible-galaxy", "collection", "build", "--output-path", tmp, ROOT])
    (tarball,) = glob.glob(os.path.join(tmp, "quorum-etcd-*.tar.gz"))
    with tarfile.open(tarball) as tf:
        names = tf.getnames()
    print(f"{os.path.basename(tarball)}: {len(names)} entries", flush=True)
    bad = junk(names)
    if bad:
        raise SystemExit("publish_check: the tarball holds what a user does not need (galaxy.yml build_ignore):\n  "
                         + "\n  ".join(bad))
    return tarball, names


def roles_without_readme(names):
    """Galaxy refuses a role without a README (galaxy-importer names none)."""
    roles = {n.split("/")[1] for n in names if n.startswith("roles/") and n.count("/") >= 2}
    return sorted(r for r in roles if not any(n.startswith(f"roles/{r}/README.") for n in names))


def importer_problems(output: str):
    """The lines of galaxy-importer's output that fail the check: its errors,
    and the lack of its closing line (a fatal error ends the import early)."""
    problems = [line for line in output.splitlines() if line.startswith("ERROR")]
    if "Importer processing completed successfully" not in output:
        problems.append("galaxy-importer did not complete the import")
    return problems


def check_galaxy_importer(tmp: str) -> None:
    tarball, names = build(tmp)
    env = dict(clean_env(), GALAXY_IMPORTER_CONFIG=os.path.join(ROOT, ".config", "galaxy-importer.cfg"),
               PYTHONUNBUFFERED="1")
    rc, output = stream([sys.executable, "-m", "galaxy_importer.main", tarball], cwd=tmp, env=env)
    problems = importer_problems(output)
    problems += [f"roles/{role} has no README" for role in roles_without_readme(names)]
    if rc:
        problems.append(f"galaxy-importer exited with {rc}")
    if problems:
        raise SystemExit("publish_check: galaxy-importer found:\n  " + "\n  ".join(problems))
    warnings = sum(1 for line in output.splitlines() if line.startswith("WARNING"))
    print(f"galaxy-importer: no error, {warnings} warnings", flush=True)


def introspected(output: str) -> dict:
    """ansible-builder introspect --sanitize's YAML (after its comment line)."""
    return yaml.safe_load(output) or {}


def ee_requirements():
    """The Python and system requirements meta/execution-environment.yml names,
    read from the files it points at (paths from the collection root)."""
    with open(os.path.join(ROOT, "meta", "execution-environment.yml")) as fh:
        deps = (yaml.safe_load(fh) or {}).get("dependencies") or {}
    return {kind: requirement_lines(os.path.join(ROOT, deps[kind])) if deps.get(kind) else []
            for kind in ("python", "system")}


def ee_problems(data: dict):
    """What ansible-builder's introspection lacks of our declared requirements."""
    problems = []
    for kind, entries in ee_requirements().items():
        if not entries:
            problems.append(f"meta/execution-environment.yml names no {kind} requirement")
        have = data.get(kind) or []
        for entry in entries:
            if f"{entry}  # from collection quorum.etcd" not in have:
                problems.append(f"{kind}: {entry!r} not found for quorum.etcd in {have}")
    return problems


def requirement_lines(path: str):
    with open(path) as fh:
        return [line.strip() for line in fh if line.strip() and not line.strip().startswith("#")]


def check_ee(tmp: str) -> None:
    context = os.path.join(tmp, "context")
    run(["ansible-builder", "create", "--file", os.path.join(ROOT, "execution-environment.yml"),
         "--context", context, "--output-filename", "Containerfile"])
    with open(os.path.join(context, "_build", "requirements.yml")) as fh:
        galaxy = yaml.safe_load(fh)
    names = [c.get("name") for c in galaxy.get("collections", [])]
    if "quorum.etcd" not in names or not os.path.exists(os.path.join(context, "Containerfile")):
        raise SystemExit(f"publish_check: the build context lacks its Containerfile or quorum.etcd ({names})")
    tarball, _names = build(tmp)
    collections = os.path.join(tmp, "collections")
    run(["ansible-galaxy", "collection", "install", "--no-deps", "--force", "-p", collections, tarball])
    data = introspected(run(["ansible-builder", "introspect", "--sanitize", collections], stderr_apart=True))
    # bindep must read the file the image build hands it (a syntax error
    # would only show inside the container build otherwise).
    run(["bindep", "--file", os.path.join(ROOT, "meta", "ee-bindep.txt"), "--list_all", "newline"])
    problems = ee_problems(data)
    if problems:
        raise SystemExit("publish_check: ansible-builder introspect:\n  " + "\n  ".join(problems))
    print("ee: build context written, collection requirements found", flush=True)


def main(argv) -> None:
    checks = {"galaxy-importer": check_galaxy_importer, "ee": check_ee}
    if len(argv) != 1 or argv[0] not in checks:
        raise SystemExit(f"usage: publish_check.py {{{'|'.join(checks)}}}")
    with tempfile.TemporaryDirectory(prefix=f"quorum-etcd-{argv[0]}-") as tmp:
        checks[argv[0]](tmp)


if __name__ == "__main__":
    main(sys.argv[1:])
