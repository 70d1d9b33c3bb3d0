"""Fixtures of the deployment tests: the tools, and every chart and overlay rendered once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .render import (
    OVERLAYS,
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


@pytest.fixture(scope="session")
def charts(tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/charts with the dependencies built."""
    return stage_charts(tools, tmp_path_factory.mktemp("staged"))


@pytest.fixture(scope="session")
def chart_defaults(tools: Tools, charts: Path) -> dict[str, list[Obj]]:
    """Each application chart rendered with its own values.yaml."""
    return {
        name: helm_template(tools, charts / name, release_name(name))
        for name in application_charts()
    }


@pytest.fixture(scope="session")
def flux(
    tools: Tools, charts: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Overlay]:
    """Each overlay built, and each of its in-repository charts rendered as Flux would."""
    built = {}
    for name in overlays():
        overlay = Overlay(name, kustomize_build(tools, OVERLAYS / name))
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
