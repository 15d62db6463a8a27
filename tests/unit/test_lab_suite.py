# -*- coding: utf-8 -*-
"""The test command's queue (tools/labkit/suite.py): the stages that need no
lab run while the lab is set up, the others wait for it, and a failed set-up
fails them without running them. Also the bytecode settings every lab
process gets. Fake stages and a fake set-up; nothing is started."""

from __future__ import annotations

import threading
import time

from labkit import suite, venvs  # tools/labkit, standard library only


class FakeStage(suite.Stage):
    """Records when it started instead of running a command."""

    log_of_starts: list = []

    def run(self) -> None:
        self.log_of_starts.append(self.name)
        time.sleep(0.05)
        self.rc, self.passed = 0, True


def _stages(tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "LAB", str(tmp_path))
    FakeStage.log_of_starts = []
    return [
        FakeStage("integration", ["true"], est=500),
        FakeStage("ansible-lint", ["true"], est=45),
        FakeStage("sanity@2.19", ["true"], est=50, group="sanity"),
        FakeStage("sanity@2.20", ["true"], est=50, group="sanity"),
        FakeStage("molecule-default", ["true"], est=300),
    ]


def test_static_stages_run_while_the_lab_is_set_up(tmp_path, monkeypatch):
    release = threading.Event()
    starts_before_ready = []

    def slow_setup():
        # The set-up finishes only once every static stage has started.
        assert release.wait(10), "the static stages did not start while the lab was set up"
        starts_before_ready.extend(FakeStage.log_of_starts)

    stages = _stages(tmp_path, monkeypatch)
    monkeypatch.setattr(suite, "setup", slow_setup)

    class Releasing(FakeStage):
        def run(self):
            super().run()
            if {"ansible-lint", "sanity@2.19", "sanity@2.20"} <= set(self.log_of_starts):
                release.set()

    for stage in stages:
        stage.__class__ = Releasing
    lab = suite.LabSetUp().start()
    suite.run_queue(stages, 2, lab)
    assert lab.done and lab.error is None
    assert sorted(starts_before_ready) == ["ansible-lint", "sanity@2.19", "sanity@2.20"]
    # Then the lab stages, longest first.
    assert FakeStage.log_of_starts[3:] == ["integration", "molecule-default"]
    assert all(stage.passed for stage in stages)


def test_a_failed_set_up_fails_the_lab_stages_without_running_them(tmp_path, monkeypatch, capsys):
    def broken_setup():
        raise SystemExit("lab: the Docker engine did not answer")

    stages = _stages(tmp_path, monkeypatch)
    monkeypatch.setattr(suite, "setup", broken_setup)
    lab = suite.LabSetUp().start()
    suite.run_queue(stages, 2, lab)
    assert lab.error == "lab: the Docker engine did not answer"
    assert sorted(FakeStage.log_of_starts) == ["ansible-lint", "sanity@2.19", "sanity@2.20"]
    failed = {stage.name: stage.passed for stage in stages if stage.needs_lab}
    assert failed == {"integration": False, "molecule-default": False}
    out = capsys.readouterr().out
    assert "integration: FAILED (not run: the lab set-up failed: lab: the Docker engine did not answer)" in out
    assert (tmp_path / "test-logs" / "integration.log").read_text().startswith("lab: stage not run")


def test_every_lab_process_keeps_its_bytecode(monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = venvs.venv_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"].endswith("/.lab/pycache")
