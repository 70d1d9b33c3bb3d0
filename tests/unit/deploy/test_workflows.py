"""The GitHub Actions workflows pass actionlint and do what the rules ask."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from loom_core.settings import REPO_ROOT

from .render import Tools, run
from .test_docker import SERVICES

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def workflow(name: str) -> dict:
    loaded = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())
    loaded["on"] = loaded.pop(True)  # YAML 1.1 reads the key `on` as True
    return loaded


def test_actionlint_is_clean(tools: Tools) -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) >= 3
    run([tools.actionlint, "-color=false", *files], "actionlint")


def test_actionlint_bites(tools: Tools, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ matrix.nope }}\n"
    )
    done = subprocess.run(
        [tools.actionlint, "-color=false", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "matrix" in done.stdout


def test_unit_tests_run_on_linux_and_macos() -> None:
    job = workflow("ci")["jobs"]["lint-and-unit"]
    assert set(job["strategy"]["matrix"]["os"]) == {"ubuntu-latest", "macos-latest"}
    commands = " ".join(step.get("run", "") for step in job["steps"])
    assert "ruff check" in commands
    assert "pytest tests/unit" in commands
    integration = workflow("ci")["jobs"]["integration"]
    assert "make test" in " ".join(step.get("run", "") for step in integration["steps"])
    cluster = workflow("ci")["jobs"]["cluster"]
    assert "make test-cluster" in " ".join(s.get("run", "") for s in cluster["steps"])


def image_builds(name: str) -> list[dict]:
    """The docker/build-push-action steps of workflow ``name``."""
    builds = [
        step
        for job in workflow(name)["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("docker/build-push-action")
    ]
    assert builds
    return builds


@pytest.mark.parametrize("name", ["images", "release"])
def test_images_are_multi_arch(name: str) -> None:
    for step in image_builds(name):
        assert set(step["with"]["platforms"].split(",")) == {
            "linux/amd64",
            "linux/arm64",
        }


@pytest.mark.parametrize("name", ["images", "release"])
def test_images_build_from_the_one_dockerfile(name: str) -> None:
    """SERVICE picks the image (deploy/docker/Dockerfile's stages and lock files)."""
    for step in image_builds(name):
        assert step["with"]["file"] == "deploy/docker/Dockerfile"
        assert step["with"]["build-args"].startswith("SERVICE=${{ ")
    services = workflow("images")["jobs"]["build"]["strategy"]["matrix"]["service"]
    assert sorted(services) == SERVICES


def parse_tag(tag: str, tmp_path: Path) -> tuple[int, dict[str, str]]:
    """Run the release workflow's own tag-parsing step on ``tag``."""
    (step,) = [
        s
        for s in workflow("release")["jobs"]["release"]["steps"]
        if s.get("id") == "tag"
    ]
    output = tmp_path / "output"
    output.write_text("")
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={**os.environ, "TAG": tag, "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        check=False,
    )
    pairs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return done.returncode, pairs


def test_release_runs_on_service_tags(tmp_path: Path) -> None:
    assert workflow("release")["on"]["push"]["tags"] == ["service/*/v*"]
    assert parse_tag("service/ingest-api/v1.2.3", tmp_path) == (
        0,
        {"service": "ingest-api", "version": "1.2.3"},
    )
    assert (
        parse_tag("service/loom-dagster/v10.0.12", tmp_path)[1]["version"] == "10.0.12"
    )


@pytest.mark.parametrize(
    "tag",
    [
        "service/ingest-api/v1.2",
        "service/vad/v1.2.3",
        "service/ingest-api/1.2.3",
        "v1.2.3",
    ],
)
def test_release_refuses_other_tags(tag: str, tmp_path: Path) -> None:
    assert parse_tag(tag, tmp_path) == (1, {})


def test_the_integration_job_runs_against_testcontainers() -> None:
    job = workflow("ci")["jobs"]["integration"]
    assert job["runs-on"] == "ubuntu-latest"
    assert job["env"]["LOOM_TEST_SERVERS"] == "testcontainers"
    (make,) = [s for s in job["steps"] if "make test" in s.get("run", "")]
    assert "LOOM_TEST_SERVERS" in make["run"]  # survives sudo


def test_release_builds_the_tag_and_opens_a_pull_request_ci_will_check() -> None:
    steps = workflow("release")["jobs"]["release"]["steps"]
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout")]
    build = next(
        i for i, s in enumerate(steps) if s.get("uses", "").startswith("docker/build")
    )
    # The image comes from the tagged commit...
    assert checkouts[0]["with"]["ref"] == "${{ github.ref }}"
    assert steps.index(checkouts[0]) < build
    # ...the pin goes onto main, pushed and proposed with the App's token, since
    # events caused by GITHUB_TOKEN start no workflow.
    (pin,) = [
        s for s in steps if s.get("run", "").startswith("python3 scripts/release")
    ]
    assert steps.index(pin) > build
    assert "--root main" in pin["run"]
    assert checkouts[1]["with"]["path"] == "main"
    token = "${{ steps.app-token.outputs.token }}"
    assert checkouts[1]["with"]["token"] == token
    (pr,) = [s for s in steps if "gh pr create" in s.get("run", "")]
    assert pr["env"]["GH_TOKEN"] == token
    assert "GITHUB_TOKEN" not in str(pr)
