import json
from datetime import date
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from loom_cli.analytics import kafka_tables
from loom_cli.analytics.kafka_tables import KafkaTable, column_type, describe
from loom_core import topics
from loom_core.contracts import FAMILIES, GpsFix
from loom_core.contracts.envelope import Base64Bytes, DeviceEvent, UtcDatetime


def test_committed_descriptions_match_the_contracts():
    """Fails when a contract changed and the descriptions were not regenerated."""
    wanted = kafka_tables.expected_files(kafka_tables.contract_tables())
    committed = {p.name: p.read_text() for p in kafka_tables.TABLES_DIR.glob("*.json")}
    fix = "run `python -m loom_cli.analytics.kafka_tables` and commit the result"
    assert set(committed) == {t.file_name for t in kafka_tables.TABLES}, fix
    for name, text in wanted.items():
        assert committed[name] == text, f"{name} drifted: {fix}"


def test_every_raw_and_enriched_topic_has_a_table():
    by_topic = {t.topic.name: t for t in kafka_tables.TABLES}
    assert set(by_topic) == {
        t.name for t in (*topics.RAW_TOPICS, *topics.ENRICHED_TOPICS)
    }
    for fam in FAMILIES.values():
        assert (by_topic[fam.topic.name].schema, by_topic[fam.topic.name].table) == (
            "raw",
            fam.table,
        )
    enriched = {t.table: t.schema for t in kafka_tables.TABLES if t.envelope}
    assert enriched == {
        "gps_tracks": "enriched",
        "transcripts": "enriched",
        "captions": "enriched",
    }


def test_committed_catalog_lists_every_table():
    text = kafka_tables.CATALOG_FILE.read_text()
    assert kafka_tables.with_table_names(text, kafka_tables.TABLES) == text
    line = next(x for x in text.splitlines() if x.startswith("kafka.table-names="))
    assert line.split("=", 1)[1].split(",") == [
        f"{t.schema}.{t.table}" for t in kafka_tables.TABLES
    ]


def test_committed_enriched_descriptions_carry_the_envelope_and_keys():
    """Holds whether or not the enrichment contracts are importable here."""
    for table in kafka_tables.TABLES:
        if not table.envelope:
            continue
        desc = json.loads((kafka_tables.TABLES_DIR / table.file_name).read_text())
        assert desc["topicName"] == table.topic.name
        fields = {f["name"]: f for f in desc["message"]["fields"]}
        assert list(fields)[:2] == ["schema_version", "op"]
        assert fields["device_id"]["type"] == "varchar"
        assert fields["time"]["type"] == "timestamp(3) with time zone"
        assert fields["day"] == {
            "name": "day",
            "type": "date",
            "mapping": "day",
            "dataFormat": "iso8601",
        }


def test_gps_description_maps_every_contract_field():
    gps = next(t for t in kafka_tables.contract_tables() if t.table == "gps_data")
    desc = describe(gps)
    assert desc["schemaName"] == "raw"
    assert desc["topicName"] == topics.GPS_RAW.name
    assert desc["message"]["dataFormat"] == "json"
    fields = {f["name"]: f for f in desc["message"]["fields"]}
    assert list(fields) == list(GpsFix.model_fields)
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
    on: date | None = None


SAMPLE = f"{__name__}:_Sample"


def _fields():
    table = KafkaTable("samples", topics.GPS_RAW, SAMPLE)
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
        ("on", "date"),
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


def test_envelope_fields_come_first():
    table = KafkaTable(
        "samples", topics.GPS_TRACK_SEGMENTS, SAMPLE, (("op", "varchar", "what"),)
    )
    desc = describe(table)
    assert desc["schemaName"] == "enriched"
    assert desc["message"]["fields"][0] == {
        "name": "op",
        "type": "varchar",
        "mapping": "op",
        "comment": "what",
    }
    assert desc["message"]["fields"][1]["name"] == "schema_version"


def test_a_contract_whose_module_is_missing_is_none(tmp_path, monkeypatch):
    assert KafkaTable("t", topics.GPS_RAW, "loom_core.not_there:X").model() is None
    assert KafkaTable("t", topics.GPS_RAW, "not_a_package.messages:X").model() is None
    with pytest.raises(LookupError, match="is not importable"):
        describe(KafkaTable("t", topics.GPS_RAW, "not_a_package.messages:X"))
    # a contract module that is there but breaks on its own imports is an error
    (tmp_path / "broken_contracts.py").write_text("import no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency"):
        KafkaTable("t", topics.GPS_RAW, "broken_contracts:X").model()


def test_write_all_keeps_descriptions_without_contract_and_removes_stale(
    tmp_path, monkeypatch
):
    missing = KafkaTable("later", topics.GPS_TRACK_SEGMENTS, "not_there.messages:X")
    never = KafkaTable("never", topics.IMAGE_CAPTIONS, "not_there.messages:Y")
    monkeypatch.setattr(
        kafka_tables, "TABLES", (*kafka_tables.TABLES[:2], missing, never)
    )
    (tmp_path / "raw.gone.json").write_text("{}")
    (tmp_path / "enriched.later.json").write_text('{"kept": true}')
    (tmp_path / "notes.txt").write_text("kept")
    catalog = tmp_path / "kafka.properties"
    catalog.write_text("connector.name=kafka\nkafka.table-names=\nother=1\n")
    written = kafka_tables.write_all(tmp_path, catalog)
    names = {p.name for p in tmp_path.glob("*.json")}
    assert names == {
        "raw.gps_data.json",
        "raw.accelerometer_data.json",
        "enriched.later.json",
    }
    assert (tmp_path / "enriched.later.json").read_text() == '{"kept": true}'
    assert (tmp_path / "notes.txt").exists()
    assert catalog in written
    assert catalog.read_text().splitlines() == [
        "connector.name=kafka",
        "kafka.table-names=raw.gps_data,raw.accelerometer_data,enriched.later",
        "other=1",
    ]
