"""The policy bites: each rule on awkward cases, and a deliberately broken chart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from . import policy
from .render import Obj, Tools, helm_template, stage_charts

FIXTURES = Path(__file__).parent / "fixtures"
DIGEST = "sha256:" + "ab" * 32
LABELS = {
    "app.kubernetes.io/name": "x",
    "app.kubernetes.io/instance": "x",
    "app.kubernetes.io/version": "1.0.0",
    "app.kubernetes.io/component": "api",
    "app.kubernetes.io/part-of": "loom",
}


def deployment(**container: object) -> Obj:
    spec = {
        "name": "c",
        "image": f"ghcr.io/loom/x@{DIGEST}",
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8000}},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8000}},
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "1000m", "memory": "512Mi"},
        },
    }
    spec.update(container)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "labels": dict(LABELS)},
        "spec": {
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {"containers": [spec]},
            }
        },
    }


def rules(violations: list[policy.Violation]) -> list[str]:
    return sorted(v.rule for v in violations)


def test_a_compliant_deployment_passes() -> None:
    assert policy.check(deployment()) == []


@pytest.mark.parametrize(
    ("cpu", "memory", "ok"),
    [
        ("250m", "512Mi", True),
        ("1", "512Mi", False),  # cores, not millicores
        ("0.5", "512Mi", False),
        ("250m", "1Gi", False),  # GiB, not MiB
        ("250m", "536870912", False),  # bytes
        ("250m", "512M", False),  # megabytes, not MiB
        ("0m", "512Mi", False),
        (250, "512Mi", False),
    ],
)
def test_resource_units(cpu: object, memory: str, ok: bool) -> None:
    resources = {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"cpu": "1000m", "memory": "1024Mi"},
    }
    assert (policy.check_resources(deployment(resources=resources)) == []) is ok


def test_missing_limits_and_requests_are_named() -> None:
    found = policy.check_resources(deployment(resources={"requests": {"cpu": "10m"}}))
    assert sorted(v.message for v in found) == [
        "no limits.cpu",
        "no limits.memory",
        "no requests.memory",
    ]


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        (f"ghcr.io/loom/x@{DIGEST}", True),
        (f"ghcr.io/loom/x:1.2.3@{DIGEST}", True),
        ("ghcr.io/loom/x:1.2.3", False),
        ("ghcr.io/loom/x", False),
        ("ghcr.io/loom/x@sha256:abc", False),
        (f"ghcr.io/loom/x@{DIGEST.upper()}", False),
    ],
)
def test_images_by_digest(image: str, ok: bool) -> None:
    assert (policy.check_digests(deployment(image=image)) == []) is ok


def test_init_containers_and_cronjobs_are_checked_too() -> None:
    cronjob = {
        "kind": "CronJob",
        "metadata": {"name": "cj", "labels": dict(LABELS)},
        "spec": {
            "jobTemplate": {
                "spec": {
                    "template": {
                        "metadata": {"labels": {}},
                        "spec": {
                            "initContainers": [{"name": "init", "image": "busybox"}],
                            "containers": [],
                        },
                    }
                }
            }
        },
    }
    assert rules(policy.check(cronjob)) == [
        "DIGEST",
        "LABELS",
        "RESOURCES",
        "RESOURCES",
        "RESOURCES",
        "RESOURCES",
    ]


def test_probes_paths_and_presence() -> None:
    wrong = deployment(livenessProbe={"httpGet": {"path": "/readyz", "port": 1}})
    assert [v.message for v in policy.check_probes(wrong)] == [
        "livenessProbe checks '/readyz', not '/healthz'"
    ]
    missing = deployment(readinessProbe=None)
    assert [v.message for v in policy.check_probes(missing)] == [
        "has no readinessProbe"
    ]
    grpc = deployment(
        livenessProbe={"grpc": {"port": 4000}}, readinessProbe={"grpc": {"port": 4000}}
    )
    assert policy.check_probes(grpc) == []


def test_upstream_images_keep_their_own_health_paths() -> None:
    pushgateway = deployment(
        image=f"docker.io/prom/pushgateway:v1.11.3@{DIGEST}",
        livenessProbe={"httpGet": {"path": "/-/healthy"}},
        readinessProbe={"httpGet": {"path": "/-/ready"}},
    )
    assert policy.check_probes(pushgateway) == []
    # ...but only theirs: Loom's paths on that image are as wrong as any other.
    assert len(policy.check_probes(deployment(image=pushgateway_image()))) == 2


def pushgateway_image() -> str:
    return f"docker.io/prom/pushgateway@{DIGEST}"


def test_jobs_need_no_probes() -> None:
    job = deployment(livenessProbe=None, readinessProbe=None)
    job["kind"] = "Job"
    assert policy.check_probes(job) == []


def test_labels_on_object_and_pods() -> None:
    obj = deployment()
    del obj["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
    obj["metadata"]["labels"]["app.kubernetes.io/part-of"] = "other"
    assert [v.message for v in policy.check_labels(obj)] == [
        "app.kubernetes.io/part-of is 'other', not 'loom'",
        "pod template lacks app.kubernetes.io/component",
    ]


def test_flux_objects_need_no_version_label() -> None:
    labels = {k: v for k, v in LABELS.items() if k != "app.kubernetes.io/version"}
    release = {"kind": "HelmRelease", "metadata": {"name": "r", "labels": labels}}
    assert policy.check(release, require_version=False) == []
    assert rules(policy.check(release)) == ["LABELS"]


def test_value_digests_of_upstream_charts() -> None:
    values = {
        "dagsterWebserver": {"image": {"repository": "r", "tag": f"1.0@{DIGEST}"}},
        "image": {"repository": "trinodb/trino", "digest": DIGEST},
        "sidecars": [{"image": {"repository": "busybox", "tag": "1.36"}}],
        "source": {"repository": "https://charts.example"},
    }
    assert [v.where for v in policy.check_value_digests("x", values)] == [
        "HelmRelease/x values sidecars[0].image"
    ]


def test_the_broken_chart_is_rejected_for_every_rule(
    tools: Tools, tmp_path: Path
) -> None:
    source = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "broken-chart", source / "broken-chart")
    charts = stage_charts(tools, tmp_path / "work", source)
    objects = helm_template(tools, charts / "broken-chart", "broken")
    found = {(v.rule, v.where, v.message) for obj in objects for v in policy.check(obj)}
    api = "Deployment/broken-api container api"
    sidecar = "Deployment/broken-api container sidecar"
    assert found == {
        (
            "LABELS",
            "Deployment/broken-api",
            "lacks app.kubernetes.io/component, app.kubernetes.io/part-of",
        ),
        (
            "LABELS",
            "Deployment/broken-api",
            (
                "pod template lacks app.kubernetes.io/instance, app.kubernetes.io/component, "
                "app.kubernetes.io/part-of, app.kubernetes.io/version"
            ),
        ),
        (
            "LABELS",
            "Secret/broken-credentials",
            "app.kubernetes.io/part-of is 'not-loom', not 'loom'",
        ),
        (
            "SECRETS",
            "Secret/broken-credentials",
            "a plain Secret with data; commit a SealedSecret (kubeseal) instead",
        ),
        (
            "DIGEST",
            api,
            "image 'ghcr.io/loom/ingest-api:latest' is not pinned by @sha256 digest",
        ),
        ("PROBES", api, "livenessProbe checks '/health', not '/healthz'"),
        ("PROBES", api, "readinessProbe checks '/healthz', not '/readyz'"),
        ("RESOURCES", api, "requests.cpu is '0.5'; write it in millicores like 250m"),
        ("RESOURCES", api, "requests.memory is '1Gi'; write it in MiB like 512Mi"),
        ("RESOURCES", api, "limits.cpu is '1'; write it in millicores like 250m"),
        ("RESOURCES", api, "limits.memory is '1Gi'; write it in MiB like 512Mi"),
        ("PROBES", sidecar, "has no livenessProbe"),
        ("PROBES", sidecar, "has no readinessProbe"),
        ("RESOURCES", sidecar, "no limits.cpu"),
        ("RESOURCES", sidecar, "no limits.memory"),
    }
