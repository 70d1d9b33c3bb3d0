"""Check Kubernetes objects against their schemas, offline.

Built-in kinds: the strict JSON Schemas that PyPI's ``kubernetes-validate`` ships
(unknown fields are errors). Custom resources (Flux, sealed-secrets, Prometheus
Operator): the pydantic models that PyPI's ``cloudcoil-models-*`` generate from each
project's CRDs; they ignore unknown fields, so a round trip finds those. Strimzi's
(``kafka.strimzi.io``): the CRDs its own generator writes from its Maven Central
artifacts (:mod:`.crds`), strict about unknown fields.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import Any

import jsonschema
import pydantic
from kubernetes_validate.utils import major_minor, schema_contents
from referencing import Registry, Resource

from .crds import strict, strimzi_schemas
from .render import Obj, describe

# apiVersion -> module of cloudcoil's models for it.
CRD_MODELS = {
    "helm.toolkit.fluxcd.io/v2": "cloudcoil.models.fluxcd.helm.v2",
    "source.toolkit.fluxcd.io/v1": "cloudcoil.models.fluxcd.source.v1",
    "kustomize.toolkit.fluxcd.io/v1": "cloudcoil.models.fluxcd.kustomize.v1",
    "bitnami.com/v1alpha1": "cloudcoil.models.sealed_secrets.v1alpha1",
    "monitoring.coreos.com/v1": "cloudcoil.models.prometheus_operator.v1",
}


def _folder(kube_version: str) -> str:
    return f"kubernetes-json-schema/v{major_minor(kube_version)}.0-local-strict"


@cache
def _definitions(kube_version: str) -> Registry:
    """One registry of the (large) shared definitions per Kubernetes version."""
    definitions = schema_contents(
        f"{_folder(kube_version)}/_definitions.json", kube_version
    )
    return Resource.from_contents(definitions) @ Registry()


@cache
def _validator(kind: str, api_version: str, kube_version: str) -> jsonschema.Validator:
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(
            f"{_folder(kube_version)}/{kind.lower()}-{group}.json", kube_version
        )
    except FileNotFoundError:
        msg = f"no schema for {kind} {api_version} in Kubernetes {major_minor(kube_version)}"
        raise LookupError(msg) from None
    registry = Resource.from_contents(schema) @ _definitions(kube_version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _unknown_fields(given: Any, kept: Any, path: str = "") -> list[str]:
    """Paths present in ``given`` but dropped by the model (unknown fields)."""
    if isinstance(given, dict) and isinstance(kept, dict):
        return [
            found
            for key, value in given.items()
            for found in (
                [f"{path}.{key}"]
                if key not in kept
                else _unknown_fields(value, kept[key], f"{path}.{key}")
            )
        ]
    if isinstance(given, list) and isinstance(kept, list):
        return [
            found
            for index, (a, b) in enumerate(zip(given, kept))
            for found in _unknown_fields(a, b, f"{path}[{index}]")
        ]
    return []


def _check_custom(obj: Obj) -> list[str]:
    module = importlib.import_module(CRD_MODELS[obj["apiVersion"]])
    model = getattr(module, obj["kind"], None)
    if model is None:
        return [f"{describe(obj)}: {obj['apiVersion']} has no kind {obj['kind']}"]
    try:
        parsed = model.model_validate(obj)
    except pydantic.ValidationError as exc:
        return [
            f"{describe(obj)}: {'.'.join(map(str, error['loc']))}: {error['msg']}"
            for error in exc.errors()
        ]
    kept = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    return [
        f"{describe(obj)}: unknown field {path[1:]}"
        for path in _unknown_fields(obj, kept)
    ]


@cache
def _crd_validator(api_version: str, kind: str) -> jsonschema.Validator:
    schema = strict(strimzi_schemas()[(api_version, kind)])
    return jsonschema.Draft7Validator(schema)


def _check_crd(obj: Obj) -> list[str]:
    key = (obj["apiVersion"], obj["kind"])
    if key not in strimzi_schemas():
        return [f"{describe(obj)}: no CRD schema for {obj['kind']} {key[0]}"]
    return [
        f"{describe(obj)}: {'.'.join(map(str, error.absolute_path)) or '<root>'}: "
        f"{error.message}"
        for error in _crd_validator(*key).iter_errors(obj)
    ]


def schema_errors(obj: Obj, kube_version: str) -> list[str]:
    """Return what is wrong with ``obj`` by its schema ([] when it is valid)."""
    if obj.get("apiVersion") in CRD_MODELS:
        return _check_custom(obj)
    if str(obj.get("apiVersion", "")).startswith("kafka.strimzi.io/"):
        return _check_crd(obj)
    try:
        validator = _validator(obj["kind"], obj["apiVersion"], kube_version)
    except LookupError as exc:
        return [f"{describe(obj)}: {exc}"]
    return [
        f"{describe(obj)} (Kubernetes {kube_version}): "
        f"{'.'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(obj)
    ]
