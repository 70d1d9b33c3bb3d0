"""Render Loom's deployment artefacts offline, the way Helm and Flux would.

Helm and kustomize are the real binaries, built from the Go module proxy by
``scripts/install-tools.sh``; Flux's part (merging a HelmRelease's ``valuesFrom``
and ``values``, then templating its chart) is reproduced here for the charts that
live in this repository.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from loom_core.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
CHARTS = DEPLOY / "charts"
OVERLAYS = DEPLOY / "flux" / "overlays"
# The oldest Kubernetes the charts' kubeVersion admits, and the newest with schemas.
KUBE_VERSIONS = ("1.30.0", "1.37.0")
LIBRARY_CHARTS = {"loom-common"}

Obj = dict[str, Any]


class RenderError(AssertionError):
    """A tool refused an artefact; the message carries the tool's own words."""


@dataclass(frozen=True)
class Tools:
    """Paths of the deployment tools."""

    bin: Path

    @property
    def helm(self) -> str:
        """Path of helm."""
        return str(self.bin / "helm")

    @property
    def kustomize(self) -> str:
        """Path of kustomize."""
        return str(self.bin / "kustomize")

    @property
    def actionlint(self) -> str:
        """Path of actionlint."""
        return str(self.bin / "actionlint")

    @property
    def promtool(self) -> str:
        """Path of promtool."""
        return str(self.bin / "promtool")


def install_tools() -> Tools:
    """Build (first time) or find the pinned tools and return their folder."""
    done = subprocess.run(
        [str(REPO_ROOT / "scripts" / "install-tools.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        msg = f"scripts/install-tools.sh failed: {done.stderr.strip()[-2000:]}"
        raise RenderError(msg)
    return Tools(Path(done.stdout.strip().splitlines()[-1]))


def run(argv: list[str], what: str) -> str:
    """Run a tool; raise :class:`RenderError` with its output when it fails."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = f"{what} failed:\n{done.stderr.strip() or done.stdout.strip()}"
        raise RenderError(msg)
    return done.stdout


def load_all(text: str) -> list[Obj]:
    """Parse a multi-document YAML stream, dropping empty documents."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def application_charts() -> list[str]:
    """Names of the charts under deploy/charts that render objects."""
    return sorted(
        path.parent.name
        for path in CHARTS.glob("*/Chart.yaml")
        if path.parent.name not in LIBRARY_CHARTS
    )


def overlays() -> list[str]:
    """Names of the Flux overlays."""
    return sorted(path.parent.name for path in OVERLAYS.glob("*/kustomization.yaml"))


def stage_charts(tools: Tools, workdir: Path, source: Path = CHARTS) -> Path:
    """Copy the charts under ``source`` to ``workdir`` and build their dependencies.

    Rendering a copy keeps ``helm dependency build``'s archives out of the tree.
    """
    staged = workdir / "charts"
    shutil.copytree(source, staged, dirs_exist_ok=True)
    # The library chart is a file:// dependency of the others; fixtures need it too.
    if not (staged / "loom-common").exists():
        shutil.copytree(CHARTS / "loom-common", staged / "loom-common")
    for chart in sorted(staged.glob("*/Chart.yaml")):
        if "dependencies:" in chart.read_text():
            run(
                [
                    tools.helm,
                    "dependency",
                    "build",
                    "--skip-refresh",
                    str(chart.parent),
                ],
                f"helm dependency build {chart.parent.name}",
            )
    return staged


def helm_lint(tools: Tools, chart: Path, values: Path | None = None) -> str:
    """``helm lint --strict`` a chart (with extra values) for the oldest Kubernetes."""
    argv = [tools.helm, "lint", "--strict", "--kube-version", KUBE_VERSIONS[0]]
    argv += [str(chart)] + (["--values", str(values)] if values else [])
    return run(argv, f"helm lint {chart.name}")


def helm_template(
    tools: Tools,
    chart: Path,
    release: str,
    namespace: str = "loom",
    values: Path | None = None,
) -> list[Obj]:
    """Render a chart (hooks included) and return its objects."""
    argv = [
        tools.helm,
        "template",
        release,
        str(chart),
        "--namespace",
        namespace,
        "--kube-version",
        KUBE_VERSIONS[0],
    ]
    argv += ["--values", str(values)] if values else []
    return load_all(run(argv, f"helm template {chart.name}"))


def kustomize_build(tools: Tools, path: Path) -> list[Obj]:
    """``kustomize build`` a folder and return its objects."""
    return load_all(
        run([tools.kustomize, "build", str(path)], f"kustomize build {path}")
    )


def deep_merge(base: Any, override: Any) -> Any:
    """Merge ``override`` into a copy of ``base`` the way Helm merges values.

    Maps merge key by key, anything else (lists too) is replaced; a ``None`` in
    ``override`` removes the key.
    """
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = deep_merge(merged.get(key), value)
    return merged


def set_path(values: Obj, dotted: str, value: Any) -> Obj:
    """Return ``values`` with ``value`` at a Flux ``targetPath`` such as ``a.b``."""
    *parents, leaf = dotted.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return values


def find(objects: Iterable[Obj], kind: str, name: str | None = None) -> list[Obj]:
    """Objects of ``kind`` (and ``name``) among ``objects``."""
    return [
        obj
        for obj in objects
        if obj.get("kind") == kind
        and (name is None or obj.get("metadata", {}).get("name") == name)
    ]


def release_values(release: Obj, objects: list[Obj]) -> Obj:
    """The values Flux's helm-controller passes for a HelmRelease.

    ``valuesFrom`` entries are merged in order (a ``targetPath`` places the raw
    string), then ``spec.values`` on top, as helm-controller documents.
    """
    values: Obj = {}
    for ref in release["spec"].get("valuesFrom", []):
        source = find(objects, ref["kind"], ref["name"])
        if not source:
            msg = f"HelmRelease {release['metadata']['name']}: valuesFrom {ref['kind']}/{ref['name']} is not in the build"
            raise RenderError(msg)
        raw = source[0]["data"][ref.get("valuesKey", "values.yaml")]
        if "targetPath" in ref:
            values = set_path(values, ref["targetPath"], raw)
        else:
            values = deep_merge(values, yaml.safe_load(raw) or {})
    return deep_merge(values, release["spec"].get("values") or {})


def local_chart(release: Obj) -> str | None:
    """The chart folder name of a HelmRelease whose chart is in this repository."""
    spec = release["spec"]["chart"]["spec"]
    if spec["sourceRef"]["kind"] != "GitRepository":
        return None
    return Path(spec["chart"]).name


def containers(obj: Obj) -> Iterator[Obj]:
    """Every container (init containers too) of a pod-bearing object."""
    pod = pod_spec(obj)
    if pod is not None:
        yield from pod.get("initContainers") or []
        yield from pod.get("containers") or []


def pod_spec(obj: Obj) -> Obj | None:
    """The pod spec inside a workload, Job, CronJob or Pod; None for other kinds."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return (
            spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
        )
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        return spec.get("template", {}).get("spec")
    return None


def pod_labels(obj: Obj) -> Obj | None:
    """The labels of the pods a workload creates; None for kinds without pods."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    elif kind not in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        return None
    return spec.get("template", {}).get("metadata", {}).get("labels") or {}


def describe(obj: Obj) -> str:
    """``Kind/name`` of an object, for messages."""
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
