"""The configuration contract: every process gets what it requires, and no more.

Each overlay is rendered (charts included) and each Loom container's environment is
resolved the way the kubelet would: ``env`` plus the keys of the ConfigMaps and
(Sealed)Secrets in ``envFrom``. The contract (:mod:`loom_cli.contract`) says which
variables each process reads and which it requires.
"""

from __future__ import annotations

import pytest

from loom_cli import contract
from loom_core.settings import REPO_ROOT

from .conftest import Overlay
from .render import Obj, containers, describe, find, overlays

# Variables read by libraries, not by Loom's settings models.
LIBRARY_VARIABLES = {
    "OTEL_TRACES_SAMPLER": "the OpenTelemetry SDK's sampler",
    "OTEL_TRACES_SAMPLER_ARG": "the OpenTelemetry SDK's sampler argument",
    "DAGSTER_CURRENT_IMAGE": "Dagster: the image runs of this code location use",
    "DAGSTER_PG_PASSWORD": "Dagster: the instance storage's password",
}
# Which process each Loom container runs: (workload kind, container) -> process.
PROCESS_OF = {
    ("Deployment", "ingest-api"): "ingest-api",
    ("Deployment", "code-server"): "code-location",
    ("Job", "migrate"): "migrations",
}


def sources(container: Obj, objects: list[Obj]) -> dict[str, set[str]]:
    """Where a container's variables come from: ``env``, ``ConfigMap/x``, ``Secret/y``."""
    found = {"env": {e["name"] for e in container.get("env") or []}}
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            (config_map,) = find(objects, "ConfigMap", name)
            found[f"ConfigMap/{name}"] = set(config_map.get("data") or {})
        if "secretRef" in source:
            name = source["secretRef"]["name"]
            sealed = [
                s
                for s in find(objects, "SealedSecret")
                if s["spec"]["template"]["metadata"]["name"] == name
            ]
            assert sealed, f"Secret {name} is not sealed in this overlay"
            found[f"Secret/{name}"] = set(sealed[0]["spec"]["encryptedData"])
    return found


def environment(container: Obj, objects: list[Obj]) -> set[str]:
    """The variable names a container gets from its spec and the overlay's objects."""
    return set().union(*sources(container, objects).values())


def loom_containers(objects: list[Obj]) -> list[tuple[Obj, Obj, str]]:
    """(workload, container, process) of every container running a Loom image."""
    found = []
    for obj in objects:
        for container in containers(obj):
            if container.get("image", "").startswith("ghcr.io/loom/"):
                process = PROCESS_OF[(obj["kind"], container["name"])]
                found.append((obj, container, process))
    return found


@pytest.mark.parametrize("overlay", overlays())
def test_every_process_gets_what_it_requires(
    flux: dict[str, Overlay], overlay: str
) -> None:
    objects = flux[overlay].rendered()
    running = loom_containers(objects)
    assert {p for _, _, p in running} == set(contract.PROCESSES)
    missing = {
        f"{describe(obj)} {c['name']}": sorted(
            contract.PROCESSES[p].required_variables() - environment(c, objects)
        )
        for obj, c, p in running
    }
    assert {k: v for k, v in missing.items() if v} == {}


@pytest.mark.parametrize("overlay", overlays())
def test_no_chart_sets_a_variable_no_process_reads(
    flux: dict[str, Overlay], overlay: str
) -> None:
    """A container's own variables are read by its process; a ConfigMap or Secret
    that several processes share, by at least one of them."""
    objects = flux[overlay].rendered()
    readers: dict[str, set[str]] = {}  # source -> processes that get it
    given: dict[str, set[str]] = {}  # source -> its variables
    for obj, container, process in loom_containers(objects):
        for source, names in sources(container, objects).items():
            key = (
                f"{describe(obj)} {container['name']} env"
                if source == "env"
                else source
            )
            readers.setdefault(key, set()).add(process)
            given[key] = names
    unread = {
        source: sorted(
            given[source]
            - set(LIBRARY_VARIABLES)
            - {v for p in processes for v in contract.PROCESSES[p].variables()}
        )
        for source, processes in readers.items()
    }
    assert {k: v for k, v in unread.items() if v} == {}


def test_the_contract_bites() -> None:
    ingest = contract.PROCESSES["ingest-api"]
    assert "LOOM_DATABASE_URL" in ingest.required_variables()
    assert "LOOM_OTLP_ENDPOINT" in ingest.variables()
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in ingest.variables()
    container = {"env": [{"name": "LOOM_KAFKA_BOOTSTRAP", "value": "k:9092"}]}
    assert ingest.required_variables() - environment(container, []) == {
        "LOOM_DATABASE_URL",
        "LOOM_REDIS_URL",
    }


def test_the_settings_table_in_the_docs_is_current() -> None:
    docs = (REPO_ROOT / "docs" / "operations.md").read_text()
    assert contract.replace_table(docs) == docs, (
        "docs/operations.md is out of date: "
        "python -m loom_cli.contract --write docs/operations.md"
    )
