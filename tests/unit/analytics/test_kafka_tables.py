from typing import Literal

import pytest
from pydantic import BaseModel, Field

from loom_cli.analytics import kafka_tables
from loom_cli.analytics.kafka_tables import KafkaTable, column_type, describe
from loom_core import topics
from loom_core.contracts import FAMILIES
from loom_core.contracts.envelope import Base64Bytes, DeviceEvent, UtcDatetime


def test_committed_descriptions_match_the_contracts():
    """Fails when a contract changed and the descriptions were not regenerated."""
    wanted = kafka_tables.expected_files(kafka_tables.contract_tables())
    committed = {p.name: p.read_text() for p in kafka_tables.TABLES_DIR.glob("*.json")}
    fix = "run `python -m loom_cli.analytics.kafka_tables` and commit the result"
    assert set(committed) == set(wanted), fix
    for name, text in wanted.items():
        assert committed[name] == text, f"{name} drifted: {fix}"


def test_committed_catalog_lists_every_described_table():
    tables = kafka_tables.contract_tables()
    text = kafka_tables.CATALOG_FILE.read_text()
    assert kafka_tables.with_table_names(text, tables) == text
    line = next(x for x in text.splitlines() if x.startswith("kafka.table-names="))
    assert line.split("=", 1)[1].split(",") == [f"{t.schema}.{t.table}" for t in tables]


def test_every_raw_topic_has_a_table_named_after_its_hypertable():
    by_topic = {t.topic.name: t for t in kafka_tables.contract_tables()}
    for fam in FAMILIES.values():
        table = by_topic[fam.topic.name]
        assert (table.schema, table.table) == ("raw", fam.table)
    assert {t.name for t in topics.RAW_TOPICS} <= set(by_topic)


def test_gps_description_maps_every_contract_field():
    gps = next(t for t in kafka_tables.contract_tables() if t.table == "gps_data")
    desc = describe(gps)
    assert desc["schemaName"] == "raw"
    assert desc["topicName"] == topics.GPS_RAW.name
    assert desc["message"]["dataFormat"] == "json"
    fields = {f["name"]: f for f in desc["message"]["fields"]}
    assert list(fields) == list(gps.model.model_fields)
    assert fields["recorded_at"]["type"] == "timestamp(3) with time zone"
    assert fields["recorded_at"]["dataFormat"] == "iso8601"
    assert fields["latitude"]["type"] == "double"
    assert fields["event_id"]["type"] == "varchar"
    assert fields["source"]["type"] == "varchar"  # nullable string
    assert fields["speed_mps"]["comment"] == "Metres/second"
    assert all(f["mapping"] == name for name, f in fields.items())
    assert not any(f.get("hidden") for f in fields.values())


class _Inner(BaseModel):
    blob: Base64Bytes
    label: str


class _Sample(DeviceEvent):
    """A model with every awkward shape the mapping must handle."""

    count: int
    ratio: float | None = None
    flag: bool = False
    kind: Literal["a", "b"] = "a"
    version: Literal[3] = 3
    payload: Base64Bytes
    maybe_payload: Base64Bytes | None = None
    nested: list[_Inner] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    extra: dict[str, int] = Field(default_factory=dict)
    when: UtcDatetime | None = None


def _fields():
    table = KafkaTable("samples", topics.GPS_RAW, _Sample)
    return {f["name"]: f for f in describe(table)["message"]["fields"]}


@pytest.mark.parametrize(
    ("name", "trino_type"),
    [
        ("count", "bigint"),
        ("ratio", "double"),
        ("flag", "boolean"),
        ("kind", "varchar"),
        ("version", "bigint"),
        ("payload", "varchar"),
        ("nested", "varchar"),
        ("labels", "varchar"),
        ("extra", "varchar"),
        ("when", "timestamp(3) with time zone"),
    ],
)
def test_types_follow_the_json_schema(name, trino_type):
    assert _fields()[name]["type"] == trino_type


def test_bytes_are_hidden_at_any_depth_and_say_how_to_select_them():
    fields = _fields()
    for name in ("payload", "maybe_payload", "nested"):
        assert fields[name]["hidden"] is True
        assert "select it by name" in fields[name]["comment"]
    for name in ("labels", "extra", "count"):
        assert "hidden" not in fields[name]


def test_arrays_and_objects_are_json_text():
    fields = _fields()
    for name in ("nested", "labels", "extra"):
        assert "json_parse()" in fields[name]["comment"]
    assert "json_parse()" not in fields.get("count", {}).get("comment", "")


def test_unknown_json_schema_type_says_what_to_extend():
    with pytest.raises(ValueError, match="extend column_type"):
        column_type({"type": "null"}, {})


def test_with_table_names_needs_the_line():
    with pytest.raises(ValueError, match=r"kafka\.table-names"):
        kafka_tables.with_table_names("connector.name=kafka\n", [])


def test_write_all_removes_stale_files_and_fills_the_catalog(tmp_path):
    (tmp_path / "raw.gone.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("kept")
    catalog = tmp_path / "kafka.properties"
    catalog.write_text("connector.name=kafka\nkafka.table-names=\nother=1\n")
    written = kafka_tables.write_all(tmp_path, catalog)
    names = {p.name for p in tmp_path.glob("*.json")}
    assert names == {t.file_name for t in kafka_tables.contract_tables()}
    assert (tmp_path / "notes.txt").exists()
    assert catalog in written
    lines = catalog.read_text().splitlines()
    assert lines[0] == "connector.name=kafka"
    assert lines[1].startswith("kafka.table-names=raw.gps_data,")
    assert lines[2] == "other=1"
