"""scripts/release-chart.py: what the release workflow runs to point a chart at an image."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from loom_core.settings import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "release-chart.py"
DIGEST = "sha256:" + "5e" * 32


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "deploy", tmp_path / "deploy")
    return tmp_path


def release(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )


def chart(root: Path, service: str) -> tuple[dict, dict, str]:
    folder = root / "deploy" / "charts" / service
    return (
        yaml.safe_load((folder / "Chart.yaml").read_text()),
        yaml.safe_load((folder / "values.yaml").read_text()),
        (folder / "values.yaml").read_text(),
    )


def test_committed_charts_carry_no_placeholder_digest() -> None:
    """Before a release an image has no digest at all, never a made-up one."""
    for service in ("ingest-api", "loom-dagster"):
        _, values, _ = chart(REPO_ROOT, service)
        assert values["image"]["digest"] in ("", None) or not set(
            values["image"]["digest"].removeprefix("sha256:")
        ) <= {"0"}


def test_ingest_api_release(checkout: Path) -> None:
    before, _, text = chart(checkout, "ingest-api")
    assert release(checkout, "ingest-api", "1.4.0", DIGEST).returncode == 0
    meta, values, after = chart(checkout, "ingest-api")
    assert meta["appVersion"] == "1.4.0"
    major, minor, patch = before["version"].split(".")
    assert meta["version"] == f"{major}.{minor}.{int(patch) + 1}"
    assert values["image"]["digest"] == DIGEST
    # Only the digest line changed: comments and layout survive.
    assert [a for a, b in zip(text.splitlines(), after.splitlines()) if a != b] == [
        line for line in text.splitlines() if line.strip().startswith("digest:")
    ]


def test_loom_dagster_release_moves_the_dagster_images_too(checkout: Path) -> None:
    assert release(checkout, "loom-dagster", "2.0.1", DIGEST).returncode == 0
    _, values, _ = chart(checkout, "loom-dagster")
    dagster = yaml.safe_load(
        (checkout / "deploy" / "flux" / "base" / "values" / "dagster.yaml").read_text()
    )
    for part in ("dagsterWebserver", "dagsterDaemon"):
        assert dagster[part]["image"]["tag"] == f"2.0.1@{DIGEST}"
    assert values["image"]["digest"] == DIGEST


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest-api", "1.4", DIGEST], "is not X.Y.Z"),
        (["ingest-api", "1.4.0", "sha256:abc"], "is not sha256:<64 hex digits>"),
        (["vad", "1.4.0", DIGEST], "invalid choice"),
    ],
)
def test_bad_arguments_say_what_is_wrong(
    checkout: Path, args: list[str], message: str
) -> None:
    done = release(checkout, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_chart_without_the_expected_lines_is_refused(checkout: Path) -> None:
    values = checkout / "deploy" / "charts" / "ingest-api" / "values.yaml"
    values.write_text(values.read_text().replace("  digest: ", "  sha: "))
    done = release(checkout, "ingest-api", "1.4.0", DIGEST)
    assert done.returncode == 1
    assert "expected 1 match(es)" in done.stderr
