"""The CRD schemas of custom resources that no PyPI models package covers.

Strimzi (``kafka.strimzi.io``): generated, on first use, by Strimzi's own
``io.strimzi:crd-generator`` from the ``io.strimzi:api`` classes, both resolved from
Maven Central by ``crds/pom.xml`` (version there) and cached under
``$LOOM_HOME/cache/crds``. Nothing is copied into the repository.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from loom_cli.stack import provision
from loom_core.settings import get_settings

POM = Path(__file__).parent / "crds" / "pom.xml"
STRIMZI_VERSION = re.search(
    r"<strimzi.version>(.+)</strimzi.version>", POM.read_text()
).group(  # type: ignore[union-attr]
    1
)
# Kind -> the class Strimzi generates its CRD from.
STRIMZI_KINDS = {
    "Kafka": "io.strimzi.api.kafka.model.kafka.Kafka",
    "KafkaNodePool": "io.strimzi.api.kafka.model.nodepool.KafkaNodePool",
    "KafkaTopic": "io.strimzi.api.kafka.model.topic.KafkaTopic",
}
GENERATOR_JAVA = 21  # the generator's class files


def _generate(folder: Path) -> None:
    classpath = provision.maven_resolve(POM, get_settings().cache / "maven")
    java = provision.find_java_home(GENERATOR_JAVA) / "bin" / "java"
    scratch = folder.with_name(folder.name + ".partial")
    scratch.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            str(java),
            "-cp",
            ":".join(map(str, classpath)),
            "io.strimzi.crdgenerator.CrdGenerator",
            "--yaml",
            *(f"{cls}={scratch / kind}.yaml" for kind, cls in STRIMZI_KINDS.items()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        msg = f"Strimzi's CRD generator failed: {done.stderr[-2000:]}"
        raise RuntimeError(msg)
    scratch.rename(folder)


@cache
def strimzi_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema of each Strimzi CRD version served."""
    folder = get_settings().cache / "crds" / f"strimzi-{STRIMZI_VERSION}"
    if not folder.exists():
        _generate(folder)
    schemas = {}
    for kind in STRIMZI_KINDS:
        crd = yaml.safe_load((folder / f"{kind}.yaml").read_text())
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                api = f"{crd['spec']['group']}/{version['name']}"
                schemas[(api, kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


def strict(schema: Any) -> Any:
    """The schema with unknown fields refused, as ``kubectl --validate=strict`` does.

    The API server drops fields a structural schema does not name; here they are
    errors, except under ``x-kubernetes-preserve-unknown-fields``.
    """
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tightened = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        tightened["additionalProperties"] = False
    return tightened
