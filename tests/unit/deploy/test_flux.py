"""The Flux overlays build, render as helm-controller would, and hang together."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import policy
from .conftest import Overlay
from .render import (
    CHARTS,
    DEPLOY,
    KUBE_VERSIONS,
    OVERLAYS,
    Obj,
    Tools,
    deep_merge,
    describe,
    find,
    helm_lint,
    kustomize_build,
    load_all,
    local_chart,
    overlays,
    release_values,
)
from .schemas import schema_errors

CATALOG = DEPLOY / "trino" / "catalog"
KAFKA_TABLES = DEPLOY / "trino" / "kafka-tables"


def test_the_three_environments_exist() -> None:
    assert overlays() == ["dev", "edge", "prod"]


@pytest.mark.parametrize("overlay", overlays())
@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_overlays_match_the_schemas(
    flux: dict[str, Overlay], overlay: str, kube_version: str
) -> None:
    errors = [
        e for obj in flux[overlay].rendered() for e in schema_errors(obj, kube_version)
    ]
    assert errors == []


@pytest.mark.parametrize("overlay", overlays())
def test_overlay_charts_lint_with_their_values(
    tools: Tools, charts: Path, flux: dict[str, Overlay], overlay: str
) -> None:
    for name, (values, _) in flux[overlay].releases.items():
        chart = local_chart(flux[overlay].release(name))
        assert "0 chart(s) failed" in helm_lint(tools, charts / chart, values)


@pytest.mark.parametrize("overlay", overlays())
def test_overlays_keep_the_policy(flux: dict[str, Overlay], overlay: str) -> None:
    built = flux[overlay]
    violations = [
        str(v)
        for obj in built.objects
        for v in policy.check(obj, require_version=False)
    ]
    violations += [
        str(v)
        for _, objs in built.releases.values()
        for obj in objs
        for v in policy.check(obj)
    ]
    for release in find(built.objects, "HelmRelease"):
        if local_chart(release) is None:
            values = release_values(release, built.objects)
            violations += map(
                str, policy.check_value_digests(release["metadata"]["name"], values)
            )
    assert violations == []


@pytest.mark.parametrize("overlay", overlays())
def test_every_secret_in_use_is_sealed(flux: dict[str, Overlay], overlay: str) -> None:
    rendered = flux[overlay].rendered()
    sealed = {
        obj["spec"]["template"]["metadata"]["name"]
        for obj in find(rendered, "SealedSecret")
    }
    used = set(secret_refs(rendered))
    dagster = release_values(flux[overlay].release("dagster"), flux[overlay].objects)
    used.add(dagster["global"]["postgresqlSecretName"])
    k8s_job = dagster["runLauncher"]["config"]["customRunLauncher"]["config"]
    used |= set(k8s_job["k8s_job"]["env_secrets"])
    trino = release_values(flux[overlay].release("trino"), flux[overlay].objects)
    used |= {ref["secretRef"]["name"] for ref in trino["envFrom"] if "secretRef" in ref}
    assert used
    assert used <= sealed, f"not sealed: {sorted(used - sealed)}"
    assert find(rendered, "Secret") == []


def secret_refs(objects: list[Obj]) -> list[str]:
    """Names of the Secrets that pods read (env, envFrom, volumes)."""
    names = []
    for obj in objects:
        text = yaml.safe_dump(obj)
        names += re.findall(r"secretRef:\n\s+name: (\S+)", text)
        names += re.findall(r"secretKeyRef:\n(?:\s+\w+: \S+\n)*?\s+name: (\S+)", text)
        names += re.findall(r"secretName: (\S+)", text)
    # TLS secrets of an ingress are issued in the cluster (cert-manager), not committed.
    tls = {
        t["secretName"]
        for obj in find(objects, "Ingress")
        for t in obj["spec"].get("tls", [])
    }
    return [name for name in names if name not in tls]


@pytest.mark.parametrize("overlay", overlays())
def test_dagster_values_point_at_the_code_location(
    flux: dict[str, Overlay], overlay: str
) -> None:
    built = flux[overlay]
    values = release_values(built.release("dagster"), built.objects)
    _, code_location = built.releases["loom-dagster"]
    service = find(code_location, "Service")[0]
    (server,) = values["dagsterWebserver"]["workspace"]["servers"]
    assert server["host"] == service["metadata"]["name"]
    assert server["port"] == service["spec"]["ports"][0]["port"]

    launcher = values["runLauncher"]
    assert launcher["type"] == "CustomRunLauncher"
    custom = launcher["config"]["customRunLauncher"]
    assert (custom["module"], custom["class"]) == (
        "loom_dagster.run_launcher",
        "LoomRunLauncher",
    )
    config_maps = {o["metadata"]["name"] for o in find(code_location, "ConfigMap")}
    config_maps |= {o["metadata"]["name"] for o in find(built.objects, "ConfigMap")}
    assert set(custom["config"]["k8s_job"]["env_config_maps"]) <= config_maps
    assert values["postgresql"]["enabled"] is False
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"

    daemon = values["dagsterDaemon"]
    assert daemon["sensors"]["useThreads"] is True
    assert daemon["sensors"]["numWorkers"] >= 1
    env = {e["name"]: e["value"] for e in daemon["env"]}
    assert int(env["DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS"]) > 60

    # The webserver and daemon run the code location's own image: same Dagster.
    code_image = find(code_location, "Deployment")[0]["spec"]["template"]["spec"][
        "containers"
    ][0]["image"]
    for part in ("dagsterWebserver", "dagsterDaemon"):
        image = values[part]["image"]
        assert f"{image['repository']}@{image['tag'].split('@')[1]}" == code_image, part


@pytest.mark.parametrize("overlay", overlays())
def test_trino_catalogs_come_from_the_local_stack_files(
    flux: dict[str, Overlay], overlay: str
) -> None:
    values = release_values(flux[overlay].release("trino"), flux[overlay].objects)
    files = {path.stem: path.read_text() for path in CATALOG.glob("*.properties")}
    assert files
    assert {name: values["catalogs"][name] for name in files} == files
    sealed = {
        key
        for obj in find(flux[overlay].objects, "SealedSecret")
        if obj["metadata"]["name"] == "loom-trino"
        for key in obj["spec"]["encryptedData"]
    }
    wanted = {
        v for text in files.values() for v in re.findall(r"\$\{ENV:(\w+)\}", text)
    }
    plain = {e["name"] for e in values.get("env", [])}  # addresses, not secrets
    for ref in values.get("envFrom", []):
        if "configMapRef" in ref:
            (config_map,) = find(
                flux[overlay].objects, "ConfigMap", ref["configMapRef"]["name"]
            )
            plain |= set(config_map["data"])
    assert wanted
    assert wanted <= sealed | plain
    assert sealed >= {v for v in wanted if "PASSWORD" in v or "JDBC" in v}


def test_every_catalog_file_is_in_the_config_map(tools: Tools) -> None:
    (config_map,) = kustomize_build(tools, CATALOG)
    assert set(config_map["data"]) == {p.name for p in CATALOG.glob("*.properties")}


def test_every_kafka_table_description_is_in_the_config_map(tools: Tools) -> None:
    (config_map,) = kustomize_build(tools, KAFKA_TABLES)
    assert set(config_map["data"]) == {p.name for p in KAFKA_TABLES.glob("*.json")}


@pytest.mark.parametrize("overlay", overlays())
def test_trino_pods_mount_the_kafka_table_descriptions(
    flux: dict[str, Overlay], overlay: str
) -> None:
    values = release_values(flux[overlay].release("trino"), flux[overlay].objects)
    env = {e["name"]: e["value"] for e in values["env"]}
    for role in ("coordinator", "worker"):
        (mount,) = values[role]["additionalVolumeMounts"]
        assert mount["mountPath"] == env["LOOM_TRINO_KAFKA_TABLES"]
        (volume,) = values[role]["additionalVolumes"]
        assert volume["configMap"]["name"] == "trino-kafka-tables"


def leaves(
    values: Any, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(values, dict) and values:
        return [
            leaf
            for key, value in values.items()
            for leaf in leaves(value, (*path, key))
        ]
    return [(path, values)]


def lookup(values: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(values, dict) or key not in values:
            return None
        values = values[key]
    return values


@pytest.mark.parametrize("overlay", overlays())
def test_overlays_patch_only_what_differs(tools: Tools, overlay: str) -> None:
    base = kustomize_build(tools, DEPLOY / "flux" / "base")
    for patch in load_all((OVERLAYS / overlay / "releases.yaml").read_text()):
        (release,) = find(base, patch["kind"], patch["metadata"]["name"])
        chart = local_chart(release)
        defaults = (
            yaml.safe_load((CHARTS / chart / "values.yaml").read_text())
            if chart
            else {}
        )
        effective = deep_merge(defaults, release_values(release, base))
        for path, value in leaves(patch["spec"]["values"]):
            assert (
                lookup(effective, path) != value
            ), f"{overlay}: {describe(patch)} sets {'.'.join(path)} to the base's value"
