"""Loom's deployment policy (project-rules.md, "Helm Chart Standards"), as code.

Each rule is a pure function of one rendered object that returns its violations:

- LABELS: ``app.kubernetes.io/{name,instance,component}`` and
  ``app.kubernetes.io/part-of=loom`` on every object and on the pods it creates;
  ``app.kubernetes.io/version`` too on what the charts render (Flux's own objects
  deploy a chart and carry no version of their own).
- PROBES: every container of a long-running workload has a liveness and a readiness
  probe; HTTP ones use ``/healthz`` and ``/readyz``, except for the upstream images
  in :data:`UPSTREAM_HEALTH_PATHS`, whose paths are fixed by their authors.
- RESOURCES: every container requests and limits CPU in millicores (``250m``) and
  memory in MiB (``512Mi``).
- DIGEST: every image is pulled by digest (``repo@sha256:<64 hex>``), in rendered pods
  and in the values handed to upstream charts.
- SECRETS: no plain ``Secret`` with data; secrets arrive as SealedSecrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .render import Obj, containers, describe, pod_labels, pod_spec

PART_OF = "loom"
LABELS = tuple(
    f"app.kubernetes.io/{key}" for key in ("name", "instance", "component", "part-of")
)
VERSION_LABEL = "app.kubernetes.io/version"
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}
CPU = re.compile(r"^[1-9]\d*m$")
MEMORY = re.compile(r"^[1-9]\d*Mi$")
DIGEST = re.compile(r"@sha256:[a-f0-9]{64}$")
# Upstream images whose health endpoints are fixed: (liveness path, readiness path).
UPSTREAM_HEALTH_PATHS = {
    "docker.io/otel/opentelemetry-collector-contrib": ("/", "/"),
    "docker.io/prom/pushgateway": ("/-/healthy", "/-/ready"),
}
LOOM_HEALTH_PATHS = ("/healthz", "/readyz")


@dataclass(frozen=True)
class Violation:
    """One broken rule in one object."""

    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule} {self.where}: {self.message}"


def check_labels(obj: Obj, require_version: bool = True) -> list[Violation]:
    """LABELS: the recommended labels on the object and on its pods."""
    wanted = LABELS + ((VERSION_LABEL,) if require_version else ())
    found = []
    places = [("", obj.get("metadata", {}).get("labels") or {})]
    labels = pod_labels(obj)
    if labels is not None:
        places.append(("pod template ", labels))
    for place, present in places:
        missing = [label for label in wanted if not present.get(label)]
        if missing:
            found.append(
                Violation("LABELS", describe(obj), f"{place}lacks {', '.join(missing)}")
            )
        part_of = present.get("app.kubernetes.io/part-of")
        if part_of and part_of != PART_OF:
            found.append(
                Violation(
                    "LABELS",
                    describe(obj),
                    f"{place}app.kubernetes.io/part-of is {part_of!r}, not {PART_OF!r}",
                )
            )
    return found


def _repository(image: str) -> str:
    """The repository part of an image reference (no tag, no digest)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def check_probes(obj: Obj) -> list[Violation]:
    """PROBES: liveness on /healthz, readiness on /readyz (HTTP), both present."""
    if obj.get("kind") not in LONG_RUNNING:
        return []
    found = []
    for container in (pod_spec(obj) or {}).get("containers") or []:
        where = f"{describe(obj)} container {container.get('name')}"
        expected = UPSTREAM_HEALTH_PATHS.get(
            _repository(container.get("image", "")), LOOM_HEALTH_PATHS
        )
        for probe, path in zip(("livenessProbe", "readinessProbe"), expected):
            spec = container.get(probe)
            if not spec:
                found.append(Violation("PROBES", where, f"has no {probe}"))
            elif "httpGet" in spec and spec["httpGet"].get("path") != path:
                found.append(
                    Violation(
                        "PROBES",
                        where,
                        f"{probe} checks {spec['httpGet'].get('path')!r}, not {path!r}",
                    )
                )
    return found


def check_resources(obj: Obj) -> list[Violation]:
    """RESOURCES: requests and limits, CPU in millicores, memory in MiB."""
    found = []
    for container in containers(obj):
        where = f"{describe(obj)} container {container.get('name')}"
        resources = container.get("resources") or {}
        for bound in ("requests", "limits"):
            given = resources.get(bound) or {}
            for resource, pattern, unit in (
                ("cpu", CPU, "millicores like 250m"),
                ("memory", MEMORY, "MiB like 512Mi"),
            ):
                value = given.get(resource)
                if value is None:
                    found.append(
                        Violation("RESOURCES", where, f"no {bound}.{resource}")
                    )
                elif not pattern.match(str(value)):
                    found.append(
                        Violation(
                            "RESOURCES",
                            where,
                            f"{bound}.{resource} is {value!r}; write it in {unit}",
                        )
                    )
    return found


def check_digests(obj: Obj) -> list[Violation]:
    """DIGEST: every container image is pinned by its sha256 digest."""
    return [
        Violation(
            "DIGEST",
            f"{describe(obj)} container {container.get('name')}",
            f"image {container.get('image')!r} is not pinned by @sha256 digest",
        )
        for container in containers(obj)
        if not DIGEST.search(container.get("image", ""))
    ]


def check_secrets(obj: Obj) -> list[Violation]:
    """SECRETS: a Secret with data in a manifest is a secret in plain text."""
    if obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData")):
        return [
            Violation(
                "SECRETS",
                describe(obj),
                "a plain Secret with data; commit a SealedSecret (kubeseal) instead",
            )
        ]
    return []


def check(obj: Obj, require_version: bool = True) -> list[Violation]:
    """Every rule on one object."""
    return [
        *check_labels(obj, require_version),
        *check_probes(obj),
        *check_resources(obj),
        *check_digests(obj),
        *check_secrets(obj),
    ]


def image_values(values: Any, path: str = "") -> Iterator[tuple[str, Obj]]:
    """Image settings (maps with a ``repository``) inside a chart's values."""
    if isinstance(values, dict):
        if "repository" in values and path.rsplit(".", 1)[-1].lower().endswith("image"):
            yield path, values
        for key, value in values.items():
            yield from image_values(value, f"{path}.{key}" if path else key)
    elif isinstance(values, list):
        for index, value in enumerate(values):
            yield from image_values(value, f"{path}[{index}]")


def check_value_digests(release: str, values: Any) -> list[Violation]:
    """DIGEST for an upstream chart: each image in its values carries a digest."""
    found = []
    for path, image in image_values(values):
        digest = str(image.get("digest") or "")
        tag = str(image.get("tag") or "")
        if not re.fullmatch(r"sha256:[a-f0-9]{64}", digest) and not DIGEST.search(tag):
            found.append(
                Violation(
                    "DIGEST",
                    f"HelmRelease/{release} values {path}",
                    f"image {image.get('repository')!r} has no sha256 digest",
                )
            )
    return found
