# -*- coding: utf-8 -*-
"""The lab's set-up (tools/labkit/prepare.py): the etcd archives are built
while the engine and the image are made, the mirror is started only when
both are ready, and an error of either is raised. Fake steps; nothing is
built or started."""

from __future__ import annotations

import threading

import pytest

from labkit import prepare  # tools/labkit, standard library only


def _fake_steps(monkeypatch, tmp_path, image_error=None, archives_error=None):
    monkeypatch.setattr(prepare, "LAB", str(tmp_path))
    events = []
    archives_started = threading.Event()
    image_done = threading.Event()

    def archives():
        events.append("archives start")
        archives_started.set()
        # Still building when the image is ready: the mirror must wait.
        assert image_done.wait(10)
        events.append("archives end")
        if archives_error is not None:
            raise archives_error
        return str(tmp_path)

    def image():
        # The builds run beside the image, not after it.
        assert archives_started.wait(10)
        events.append("image")
        image_done.set()
        if image_error is not None:
            raise image_error

    monkeypatch.setattr(prepare, "ensure_mirror_files", archives)
    monkeypatch.setattr(prepare, "ensure_host_limits", lambda: events.append("limits"))
    monkeypatch.setattr(prepare, "ensure_docker", lambda: events.append("engine"))
    monkeypatch.setattr(prepare, "ensure_image", image)
    monkeypatch.setattr(prepare, "ensure_mirror", lambda: events.append("mirror"))
    return events


def test_archives_are_built_beside_the_image_and_served_after_both(monkeypatch, tmp_path):
    events = _fake_steps(monkeypatch, tmp_path)
    prepare.setup()
    assert events.index("archives start") < events.index("image")
    assert events[-2:] == ["archives end", "mirror"]


def test_a_failed_build_is_raised_and_no_mirror_started(monkeypatch, tmp_path):
    events = _fake_steps(monkeypatch, tmp_path, archives_error=SystemExit("lab: go build of etcd failed"))
    with pytest.raises(SystemExit, match="go build of etcd failed"):
        prepare.setup()
    assert "mirror" not in events and "image" in events


def test_a_failed_image_is_raised_at_once(monkeypatch, tmp_path):
    events = _fake_steps(monkeypatch, tmp_path, image_error=SystemExit("lab: debootstrap failed (1)"))
    with pytest.raises(SystemExit, match="debootstrap failed"):
        prepare.setup()
    assert "mirror" not in events
