"""`loom api`'s worker count, without serving anything."""

import os

from click.testing import CliRunner

from loom_cli.api import api, default_workers


def test_the_default_is_one_worker_per_usable_core():
    assert default_workers() == len(os.sched_getaffinity(0))


def test_without_affinity_the_default_is_the_cpu_count(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert default_workers() == 3
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # undeterminable
    assert default_workers() == 1


def test_help_names_the_default_and_zero_workers_is_refused():
    runner = CliRunner()
    assert "one per core" in " ".join(runner.invoke(api, ["--help"]).output.split())
    refused = runner.invoke(api, ["--workers", "0"])
    assert refused.exit_code == 2
    assert "--workers" in refused.output
