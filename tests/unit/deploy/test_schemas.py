"""The schema check bites: wrong types, unknown fields and unknown kinds are errors."""

from __future__ import annotations

import copy

import pytest

from .render import KUBE_VERSIONS
from .schemas import schema_errors

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "d"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"a": "b"}},
        "template": {
            "metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        },
    },
}
RELEASE = {
    "apiVersion": "helm.toolkit.fluxcd.io/v2",
    "kind": "HelmRelease",
    "metadata": {"name": "r"},
    "spec": {
        "interval": "10m",
        "chart": {
            "spec": {"chart": "c", "sourceRef": {"kind": "GitRepository", "name": "g"}}
        },
        "values": {"anything": {"goes": ["here"]}},
    },
}


def changed(obj: dict, path: str, value: object) -> dict:
    obj = copy.deepcopy(obj)
    *parents, leaf = path.split(".")
    node = obj
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[leaf] = value
    return obj


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_valid_objects_pass(kube_version: str) -> None:
    assert schema_errors(DEPLOYMENT, kube_version) == []
    assert schema_errors(RELEASE, kube_version) == []


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("spec.replicas", "two", "'two' is not of type 'integer'"),
        ("spec.replica", 2, "Additional properties are not allowed ('replica'"),
        (
            "spec.template.spec.containers.0.ports",
            "8000",
            "'8000' is not of type 'array'",
        ),
    ],
)
def test_core_kinds_are_strict(path: str, value: object, message: str) -> None:
    (error,) = schema_errors(changed(DEPLOYMENT, path, value), KUBE_VERSIONS[0])
    assert message in error


def test_custom_resources_refuse_unknown_and_missing_fields() -> None:
    assert schema_errors(changed(RELEASE, "spec.intervall", "5m"), "1.30.0") == [
        "HelmRelease/r: unknown field spec.intervall"
    ]
    missing = copy.deepcopy(RELEASE)
    del missing["spec"]["interval"]
    assert schema_errors(missing, "1.30.0") == [
        "HelmRelease/r: spec.interval: Field required"
    ]
    wrong = changed(RELEASE, "spec.chart.spec.sourceRef.kind", "Bucket?")
    assert len(schema_errors(wrong, "1.30.0")) == 1


def test_unknown_kinds_are_errors_not_silence() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    assert schema_errors(obj, "1.30.0") == [
        "Gadget/g: no schema for Gadget example.com/v1 in Kubernetes 1.30"
    ]
