# -*- coding: utf-8 -*-
"""ansible-test's pip bootstrap that the lab writes (tools/labkit/venvs.py):
with the requested pip's wheel in the cache it unpacks the wheel into the
new venv, runs no pip and reaches no network; the set-up downloads each
wheel once. A fake wheel and a fake download; nothing is installed."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile

from labkit import venvs  # tools/labkit, standard library only


def _fake_wheel(path, name, version):
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(f"{name}/__init__.py", f"__version__ = {version!r}\n")
        whl.writestr(f"{name}-{version}.dist-info/METADATA", f"Name: {name}\nVersion: {version}\n")
        whl.writestr(f"{name}-{version}.dist-info/RECORD", f"{name}/__init__.py,,\n")


def _bootstrap(tmp_path, packages, extra_env=None):
    cache = tmp_path / "cache"
    (cache / "wheels").mkdir(parents=True)
    script = cache / "get_pip_9_9.py"
    script.write_text(venvs.GET_PIP)
    _fake_wheel(cache / "wheels" / "pip-9.9-py3-none-any.whl", "pip", "9.9")
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(target)
    py = str(target / "bin" / "python")
    # No index and no proxy that works: a pip run would fail, not hang.
    env = dict(os.environ, GET_PIP=str(script), PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_NO_INDEX="1",
               **(extra_env or {}))
    res = subprocess.run([py, str(script), "--disable-pip-version-check", *packages, "--no-setuptools",
                          "--no-wheel"], env=env, capture_output=True, text=True, timeout=120, check=False)
    purelib = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return res, target, purelib


def test_the_cached_wheel_is_unpacked_into_the_new_venv_without_pip(tmp_path):
    res, target, purelib = _bootstrap(tmp_path, ["pip==9.9"])
    assert res.returncode == 0, res.stderr
    assert (target / "pip.conf").read_text() == "[install]\nno-compile = true\n"
    assert open(os.path.join(purelib, "pip", "__init__.py")).read() == "__version__ = '9.9'\n"
    # RECORD is there for pip to uninstall it later (ansible-test does).
    assert os.path.isfile(os.path.join(purelib, "pip-9.9.dist-info", "RECORD"))


def test_a_package_without_its_wheel_takes_the_pip_route(tmp_path):
    # pip==9.8 has no wheel in the cache: the script goes the pip way, here
    # to a stand-in ensurepip (no bundled wheel) that records its call and
    # fails, so the run fails instead of unpacking the other wheel.
    fake = tmp_path / "fake" / "ensurepip"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text(
        "import os, sys\nopen(os.environ['ENSUREPIP_CALLED'], 'w').write(' '.join(sys.argv[1:]))\nsys.exit(3)\n")
    called = tmp_path / "ensurepip-called"
    res, _target, purelib = _bootstrap(tmp_path, ["pip==9.8"], {"PYTHONPATH": str(fake.parent),
                                                                "ENSUREPIP_CALLED": str(called)})
    assert res.returncode != 0
    assert called.read_text() == "--upgrade --default-pip"
    assert not os.path.exists(os.path.join(purelib, "pip-9.9.dist-info"))


def test_the_set_up_writes_the_bootstrap_and_downloads_each_wheel_once(tmp_path, monkeypatch):
    site = tmp_path / "venv" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    reqs = site / "ansible_test" / "_internal" / "python_requirements.py"
    reqs.parent.mkdir(parents=True)
    reqs.write_text("default_packages = dict(\n    pip='9.9',\n)\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    downloads = []

    def fake_run(cmd, **_kw):
        downloads.append(cmd)
        dest = cmd[cmd.index("-d") + 1]
        _fake_wheel(os.path.join(dest, "pip-9.9-py3-none-any.whl"), "pip", "9.9")

    monkeypatch.setattr(venvs, "run", fake_run)
    for _round in range(2):
        venvs.ensure_ansible_test_pip(str(tmp_path / "venv"))
    cache = tmp_path / "home" / ".ansible" / "test" / "cache"
    assert (cache / "get_pip_9_9.py").read_text() == venvs.GET_PIP
    assert sorted(os.listdir(cache / "wheels")) == ["pip-9.9-py3-none-any.whl"]
    assert len(downloads) == 1 and downloads[0][-1] == "pip==9.9" and "--no-deps" in downloads[0]


def test_the_debian_python_is_taken_for_every_line_whose_range_has_3_13(monkeypatch):
    monkeypatch.delenv("LAB_PYTHON", raising=False)
    monkeypatch.setattr(venvs.debpython, "ensure", lambda: "/deb/usr/bin/python3.13")
    assert venvs.find_python("2.21", ((3, 12), (3, 14))) == "/deb/usr/bin/python3.13"
    assert venvs.find_python("2.19", ((3, 11), (3, 13))) == "/deb/usr/bin/python3.13"


def test_without_the_debian_python_another_python_of_the_range_is_found(monkeypatch):
    monkeypatch.delenv("LAB_PYTHON", raising=False)
    asked = []
    monkeypatch.setattr(venvs.debpython, "ensure", lambda: asked.append(1))  # None: not to be had here
    # Every interpreter found counts as a 3.12 with venv (no subprocess).
    monkeypatch.setattr(venvs, "python_version", lambda exe, need_venv=True: (3, 12))
    exe = venvs.find_python("2.21", ((3, 12), (3, 14)))
    assert asked and os.path.exists(exe) and "python3" in os.path.basename(exe)
    # A range without 3.13 never asks for it.
    asked.clear()
    venvs.find_python("old", ((3, 11), (3, 12)))
    assert not asked
