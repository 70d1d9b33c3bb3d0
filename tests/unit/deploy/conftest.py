"""Fixtures of the deployment tests: the tools, and every chart and overlay rendered once."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from loom_core.settings import REPO_ROOT

from .render import (
    DEPLOY,
    Obj,
    Tools,
    application_charts,
    find,
    helm_template,
    install_tools,
    kustomize_build,
    local_chart,
    overlays,
    release_values,
    stage_charts,
)


@dataclass
class Overlay:
    """One Flux overlay: its kustomize build and the charts its HelmReleases render."""

    name: str
    objects: list[Obj]
    # HelmRelease name -> (values file handed to helm, rendered objects)
    releases: dict[str, tuple[Path, list[Obj]]] = field(default_factory=dict)

    def release(self, name: str) -> Obj:
        """The HelmRelease called ``name``."""
        (found,) = find(self.objects, "HelmRelease", name)
        return found

    def rendered(self) -> list[Obj]:
        """Every object of the overlay, HelmReleases expanded into their charts."""
        return self.objects + [
            obj for _, objs in self.releases.values() for obj in objs
        ]


def release_name(chart: str) -> str:
    """The release name the Flux base gives a chart (loom-<chart>, said once)."""
    return chart if chart.startswith("loom-") else f"loom-{chart}"


@pytest.fixture(scope="session")
def tools() -> Tools:
    """helm, kustomize, actionlint and promtool (built on first use, then cached)."""
    return install_tools()


# What release-chart.py writes after the release workflow pushed an image: the
# committed charts carry no digest until a service's first release.
RELEASED_VERSION = "0.1.0"
RELEASED_DIGEST = "sha256:" + "5e" * 32


@pytest.fixture(scope="session")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/ as the release workflow leaves it: every image pinned."""
    root = tmp_path_factory.mktemp("released")
    shutil.copytree(DEPLOY, root / "deploy")
    for service in ("ingest-api", "loom-dagster"):
        subprocess.run(
            [
                sys.executable,
                str(REPO_ROOT / "scripts" / "release-chart.py"),
                service,
                RELEASED_VERSION,
                RELEASED_DIGEST,
                "--root",
                str(root),
            ],
            check=True,
        )
    return root / "deploy"


@pytest.fixture(scope="session")
def charts(
    tools: Tools, released: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A copy of the released deploy/charts with the dependencies built."""
    return stage_charts(tools, tmp_path_factory.mktemp("staged"), released / "charts")


@pytest.fixture(scope="session")
def chart_defaults(tools: Tools, charts: Path) -> dict[str, list[Obj]]:
    """Each application chart rendered with its own values.yaml."""
    return {
        name: helm_template(tools, charts / name, release_name(name))
        for name in application_charts()
    }


@pytest.fixture(scope="session")
def flux(
    tools: Tools,
    charts: Path,
    released: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Overlay]:
    """Each overlay built, and each of its in-repository charts rendered as Flux would."""
    built = {}
    for name in overlays():
        overlay = Overlay(
            name, kustomize_build(tools, released / "flux" / "overlays" / name)
        )
        workdir = tmp_path_factory.mktemp(f"overlay-{name}")
        for release in find(overlay.objects, "HelmRelease"):
            chart = local_chart(release)
            if chart is None:
                continue
            values = workdir / f"{release['metadata']['name']}.yaml"
            values.write_text(yaml.safe_dump(release_values(release, overlay.objects)))
            overlay.releases[release["metadata"]["name"]] = (
                values,
                helm_template(
                    tools,
                    charts / chart,
                    release["spec"].get("releaseName", release["metadata"]["name"]),
                    release["metadata"].get("namespace", "loom"),
                    values,
                ),
            )
        built[name] = overlay
    return built
