"""Every chart lints, renders, matches the Kubernetes schemas and keeps the policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from . import policy
from .render import (
    CHARTS,
    KUBE_VERSIONS,
    LIBRARY_CHARTS,
    Obj,
    RenderError,
    Tools,
    application_charts,
    helm_lint,
    helm_template,
)
from .schemas import schema_errors

SEMVER = r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"


@pytest.mark.parametrize(
    "chart", sorted(p.parent.name for p in CHARTS.glob("*/Chart.yaml"))
)
def test_chart_yaml_has_versions(chart: str) -> None:
    meta = yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2"
    assert meta["appVersion"], "appVersion is required"
    assert meta["kubeVersion"].startswith(">="), "kubeVersion names the oldest cluster"
    assert re.match(SEMVER, meta["version"]), meta["version"]


@pytest.mark.parametrize("chart", application_charts())
def test_chart_lints(tools: Tools, charts: Path, chart: str) -> None:
    assert "0 chart(s) failed" in helm_lint(tools, charts / chart)


def test_every_application_chart_renders_objects(
    chart_defaults: dict[str, list[Obj]],
) -> None:
    assert set(chart_defaults) == {
        "ingest-api",
        "loom-dagster",
        "loom-kafka",
        "loom-telemetry",
    }
    for chart, objects in chart_defaults.items():
        kinds = {obj["kind"] for obj in objects}
        wanted = (
            {"Kafka", "KafkaNodePool", "KafkaTopic"}
            if chart == "loom-kafka"
            else {"Deployment", "Service"}
        )
        assert wanted <= kinds, chart


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_rendered_charts_match_the_kubernetes_schemas(
    chart_defaults: dict[str, list[Obj]], kube_version: str
) -> None:
    errors = [
        error
        for objects in chart_defaults.values()
        for obj in objects
        for error in schema_errors(obj, kube_version)
    ]
    assert errors == []


def test_rendered_charts_keep_the_policy(chart_defaults: dict[str, list[Obj]]) -> None:
    violations = [
        str(v)
        for objects in chart_defaults.values()
        for obj in objects
        for v in policy.check(obj)
    ]
    assert violations == []


def test_library_chart_is_not_rendered_alone() -> None:
    assert {p.parent.name for p in CHARTS.glob("*/Chart.yaml")} >= LIBRARY_CHARTS
    for chart in LIBRARY_CHARTS:
        assert (
            yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())["type"]
            == "library"
        )


def test_images_are_refused_without_a_digest(
    tools: Tools, charts: Path, tmp_path: Path
) -> None:
    values = tmp_path / "tagged.yaml"
    values.write_text(yaml.safe_dump({"image": {"digest": "latest"}}))
    with pytest.raises(RenderError, match=r"set image\.digest to sha256"):
        helm_template(tools, charts / "ingest-api", "loom-ingest-api", values=values)


def test_unreleased_images_are_refused(
    tools: Tools, charts: Path, tmp_path: Path
) -> None:
    """The committed charts carry no digest until the release workflow writes one."""
    values = tmp_path / "unreleased.yaml"
    values.write_text(yaml.safe_dump({"image": {"digest": ""}}))
    with pytest.raises(RenderError, match=r"no released digest yet"):
        helm_template(tools, charts / "ingest-api", "x", values=values)


def test_the_models_claim_is_created_for_the_volume_that_mounts_it(
    chart_defaults: dict[str, list[Obj]],
) -> None:
    objects = chart_defaults["loom-dagster"]
    (claim,) = [o for o in objects if o["kind"] == "PersistentVolumeClaim"]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    (models,) = [v for v in volumes if v["name"] == "models"]
    assert models["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_migrations_run_as_a_post_upgrade_hook(
    chart_defaults: dict[str, list[Obj]],
) -> None:
    (job,) = [obj for obj in chart_defaults["loom-dagster"] if obj["kind"] == "Job"]
    hooks = job["metadata"]["annotations"]["helm.sh/hook"].split(",")
    assert {"post-install", "post-upgrade"} <= set(hooks)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["loom", "db", "migrate"]


def test_ingest_api_probes_and_metrics(chart_defaults: dict[str, list[Obj]]) -> None:
    objects = {
        (o["kind"], o["metadata"]["name"]): o for o in chart_defaults["ingest-api"]
    }
    deployment = objects["Deployment", "loom-ingest-api"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    monitor = objects["ServiceMonitor", "loom-ingest-api"]
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


def test_code_server_gets_its_own_image_for_the_run_launcher(
    chart_defaults: dict[str, list[Obj]],
) -> None:
    (deployment,) = [
        o for o in chart_defaults["loom-dagster"] if o["kind"] == "Deployment"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["DAGSTER_CURRENT_IMAGE"] == container["image"]
    assert container["livenessProbe"]["grpc"]["port"] == 4000
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/models"]["readOnly"] is True


def test_otel_collector_pipelines_use_only_defined_components(
    chart_defaults: dict[str, list[Obj]],
) -> None:
    (config_map,) = [
        o
        for o in chart_defaults["loom-telemetry"]
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("otel-collector")
    ]
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    for pipeline in config["service"]["pipelines"].values():
        for part in ("receivers", "processors", "exporters"):
            assert pipeline[part], part
            assert set(pipeline[part]) <= set(config[part]), part
