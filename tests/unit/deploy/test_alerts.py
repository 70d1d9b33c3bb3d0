"""The alert rules in the charts parse, fire on the data they are about, stay quiet
otherwise (promtool's rule unit tests), and are each explained in docs/operations.md.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from loom_core.settings import REPO_ROOT

from .render import Obj, Tools, find, run

ALERT_TESTS = Path(__file__).parent / "alerts"
OPERATIONS = REPO_ROOT / "docs" / "operations.md"


def alert_rules(objects: list[Obj], keep_annotations: bool = True) -> dict:
    """The rule groups of the PrometheusRules among ``objects``, as a rules file."""
    groups = copy.deepcopy(
        [
            group
            for rule in find(objects, "PrometheusRule")
            for group in rule["spec"]["groups"]
        ]
    )
    if not keep_annotations:
        # promtool compares annotations too; the unit tests are about expressions.
        for group in groups:
            for rule in group["rules"]:
                rule.pop("annotations", None)
    return {"groups": groups}


def alert_names(chart_defaults: dict[str, list[Obj]]) -> list[str]:
    return [
        rule["alert"]
        for objects in chart_defaults.values()
        for group in alert_rules(objects)["groups"]
        for rule in group["rules"]
    ]


@pytest.mark.parametrize("chart", sorted(p.stem for p in ALERT_TESTS.glob("*.yaml")))
def test_alerts_fire_when_they_should(
    tools: Tools, chart_defaults: dict[str, list[Obj]], chart: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        yaml.safe_dump(alert_rules(chart_defaults[chart], keep_annotations=False))
    )
    run([tools.promtool, "check", "rules", str(rules)], "promtool check rules")
    shutil.copy(ALERT_TESTS / f"{chart}.yaml", tmp_path / "tests.yaml")
    assert "SUCCESS" in run(
        [tools.promtool, "test", "rules", str(tmp_path / "tests.yaml")],
        "promtool test rules",
    )


def test_full_rules_with_annotations_parse(
    tools: Tools, chart_defaults: dict[str, list[Obj]], tmp_path: Path
) -> None:
    for chart, objects in chart_defaults.items():
        rules = tmp_path / f"{chart}.yaml"
        rules.write_text(yaml.safe_dump(alert_rules(objects)))
        run(
            [tools.promtool, "check", "rules", str(rules)],
            f"promtool check rules {chart}",
        )


def test_every_alert_has_a_unit_test(chart_defaults: dict[str, list[Obj]]) -> None:
    tested = {
        case["alertname"]
        for path in ALERT_TESTS.glob("*.yaml")
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert set(alert_names(chart_defaults)) == tested


def test_every_alert_is_explained_for_operators(
    chart_defaults: dict[str, list[Obj]],
) -> None:
    names = alert_names(chart_defaults)
    assert len(names) == len(set(names)), "alert names are unique"
    headings = {
        line.lstrip("#").strip()
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith("### ")
    }
    assert set(names) <= headings
    for objects in chart_defaults.values():
        for group in alert_rules(objects)["groups"]:
            for rule in group["rules"]:
                assert rule["annotations"]["runbook"] == (
                    f"docs/operations.md#{rule['alert'].lower()}"
                )
