"""`loom map` draws the very picture the gps_tracks asset attaches in Dagster."""

import base64
import re
import uuid
from datetime import date

import dagster as dg
import psycopg
import pytest
from click.testing import CliRunner

from loom_cli.main import cli
from loom_dagster.defs.enrichment.assets.gps_tracks import gps_tracks
from loom_dagster.enrichment import samples
from loom_dagster.resources import KafkaResource, TimescaleResource

DAY = date(2024, 5, 6)


@pytest.fixture
def landed_day(settings, device_id):
    synthetic = samples.gps_day(DAY)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.cursor().executemany(
            "INSERT INTO gps_data (time, device_id, event_id, received_at, latitude,"
            " longitude, accuracy_m) VALUES (%s, %s, %s, now(), %s, %s, %s)",
            [
                (t, device_id, uuid.uuid4(), a, b, acc)
                for t, a, b, acc in synthetic.fixes
            ],
        )
    return synthetic


def asset_map(settings, device_id) -> bytes:
    """Materialise gps_tracks for the day; return the PNG in its metadata."""
    resources = {
        "timescale": TimescaleResource(database_url=settings.database_url),
        "kafka": KafkaResource(bootstrap_servers=settings.kafka_bootstrap),
    }
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("devices", [device_id])
        result = dg.materialize(
            [gps_tracks],
            partition_key=dg.MultiPartitionKey(
                {"day": DAY.isoformat(), "device": device_id}
            ),
            resources=resources,
            instance=instance,
        )
    (event,) = result.get_asset_materialization_events()
    markdown = event.materialization.metadata["map"].value
    return base64.b64decode(re.search(r"base64,([^)]+)\)", markdown).group(1))


def test_loom_map_is_the_picture_of_the_materialisation(
    landed_day, settings, device_id, tmp_path
):
    out = tmp_path / "day.png"
    result = CliRunner().invoke(cli, ["map", device_id, str(DAY), "-o", str(out)])
    assert result.exit_code == 0, result.output
    stays = sum(leg.kind == "stay" for leg in landed_day.legs)
    moves = len(landed_day.legs) - stays
    assert f"{out}: {len(landed_day.fixes)} fixes, {stays} stays, {moves} moves" in (
        result.output
    )
    assert out.read_bytes().startswith(b"\x89PNG")
    assert out.read_bytes() == asset_map(settings, device_id)


def test_a_day_without_fixes_says_where_to_look(device_id, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["map", device_id, str(DAY)])
    assert result.exit_code == 1
    assert f"no GPS fixes of {device_id} on {DAY} (UTC)" in result.output
    assert not list(tmp_path.iterdir())
