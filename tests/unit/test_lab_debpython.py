# -*- coding: utf-8 -*-
"""The lab's Debian-built controller Python (tools/labkit/debpython.py): the
Release file's checksum of the Packages index, the packages taken from it
and the checksum refusals, on made-up index text; and one process answers
with one interpreter. Nothing is downloaded."""

from __future__ import annotations

import hashlib

import pytest

from labkit import debpython  # tools/labkit, standard library only

RELEASE = """Origin: Debian
Suite: stable
MD5Sum:
 0123456789abcdef0123456789abcdef  9679304 main/binary-amd64/Packages.xz
SHA256:
 aaaa  100 main/binary-arm64/Packages.xz
 bbbb  9679304 main/binary-amd64/Packages.xz
 cccc  200 main/binary-amd64/Packages
"""


def test_the_release_gives_the_sha256_of_the_index_not_its_md5():
    assert debpython.release_sha256(RELEASE, "main/binary-amd64/Packages.xz") == "bbbb"
    with pytest.raises(debpython.DebPythonError, match="contrib/binary-amd64/Packages.xz is not listed"):
        debpython.release_sha256(RELEASE, "contrib/binary-amd64/Packages.xz")


def _stanza(name, version, arch="amd64"):
    return (f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\nDescription: x\n more text\n"
            f"Filename: pool/main/x/{name}_{version}_{arch}.deb\nSHA256: {name}-sum\n")


def test_the_wanted_packages_are_taken_from_the_index_for_this_architecture():
    index = "\n".join([_stanza("libc6", "2.41", "arm64"), _stanza("libc6", "2.41"), _stanza("zlib1g", "1.3"),
                       _stanza("other", "1")])
    found = debpython.parse_packages(index, ("libc6", "zlib1g"))
    assert found == {"libc6": ("pool/main/x/libc6_2.41_amd64.deb", "libc6-sum", "2.41"),
                     "zlib1g": ("pool/main/x/zlib1g_1.3_amd64.deb", "zlib1g-sum", "1.3")}


def test_a_package_missing_from_the_index_is_named():
    with pytest.raises(debpython.DebPythonError, match="libffi8, libssl3t64"):
        debpython.parse_packages(_stanza("libc6", "2.41"), ("libc6", "libssl3t64", "libffi8"))


def test_a_download_with_another_checksum_is_refused_naming_it():
    data = b"deb contents"
    assert debpython.checked(data, hashlib.sha256(data).hexdigest(), "x.deb") == data
    with pytest.raises(debpython.DebPythonError, match=r"x\.deb has SHA-256 [0-9a-f]{64}, expected 00"):
        debpython.checked(data + b"!", "00", "x.deb")


def test_every_venv_of_one_process_gets_the_same_answer(monkeypatch):
    answers = iter(["/first/python3.13", None])
    monkeypatch.setattr(debpython, "_CHOSEN", [])
    monkeypatch.setattr(debpython, "_ensure", lambda: next(answers))
    assert debpython.ensure() == "/first/python3.13"
    assert debpython.ensure() == "/first/python3.13"
