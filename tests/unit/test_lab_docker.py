# -*- coding: utf-8 -*-
"""The lab's engine start-up and mirror (tools/labkit): pid files left by a killed
dockerd are told apart from a running engine's.

CI runs on the session's machine after the session's processes are ended,
so dockerd's and containerd's pid files stay behind; when a new, unrelated
process held the old pid, dockerd refused to start and the lab waited in
silence. Fake /proc trees only; nothing is started."""

from __future__ import annotations

from labkit import engine  # tools/labkit, standard library only


def _proc(tmp_path, **running):
    proc = tmp_path / "proc"
    for pid, name in running.items():
        (proc / pid.lstrip("p")).mkdir(parents=True)
        (proc / pid.lstrip("p") / "comm").write_text(name + "\n")
    proc.mkdir(exist_ok=True)
    return str(proc)


def _pidfile(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_pid_file_naming_another_program_is_stale(tmp_path):
    proc = _proc(tmp_path, p9764="pip")
    docker = _pidfile(tmp_path, "docker.pid", "9764")
    assert engine.stale_pid_files([(docker, "dockerd")], proc) == [(docker, "pid 9764 is pip, not dockerd")]


def test_a_pid_file_naming_a_dead_process_is_stale(tmp_path):
    proc = _proc(tmp_path)
    containerd = _pidfile(tmp_path, "containerd.pid", "12073\n")
    assert engine.stale_pid_files([(containerd, "containerd")], proc) == [(containerd, "pid 12073 is not running")]


def test_a_pid_file_without_a_pid_is_stale(tmp_path):
    docker = _pidfile(tmp_path, "docker.pid", "")
    assert engine.stale_pid_files([(docker, "dockerd")], _proc(tmp_path)) == [(docker, "it holds '', not a pid")]


def test_a_running_engine_and_missing_files_are_left_alone(tmp_path):
    proc = _proc(tmp_path, p100="dockerd", p200="containerd")
    files = [
        (_pidfile(tmp_path, "docker.pid", "100"), "dockerd"),
        (_pidfile(tmp_path, "containerd.pid", "200"), "containerd"),
        (str(tmp_path / "absent.pid"), "dockerd"),
    ]
    assert engine.stale_pid_files(files, proc) == []


def test_the_real_proc_tree_names_this_process():
    import os
    assert engine._proc_name(os.getpid()) != ""


def test_a_mirror_serving_the_same_releases_is_kept(tmp_path):
    """Two checkouts share the one mirror container when they serve the same
    archives; any difference (or a gone directory) re-makes it."""
    from labkit import base, mirror

    def tree(name, digest="abc"):
        for version, _source in base.MIRROR_VERSIONS:
            d = tmp_path / name / f"v{version}"
            d.mkdir(parents=True)
            (d / "SHA256SUMS").write_text(f"{digest}  etcd-v{version}-linux-amd64.tar.gz\n")
        return str(tmp_path / name)

    mine, twin, other = tree("main"), tree("ci"), tree("old", digest="def")
    assert mirror.same_releases(twin, mine)
    assert not mirror.same_releases(other, mine)
    assert not mirror.same_releases(str(tmp_path / "deleted"), mine)
    assert not mirror.same_releases("", mine)
