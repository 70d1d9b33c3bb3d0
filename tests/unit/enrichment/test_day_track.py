"""One code path for a day's track: the gps_tracks asset's and `loom map`'s."""

from datetime import UTC, date, datetime

from click.testing import CliRunner

from loom_cli.main import cli
from loom_cli.stack.process import free_port
from loom_dagster.enrichment import day_track, samples, stays
from loom_dagster.enrichment.store import DeviceDay

DAY = date(2024, 5, 6)


def rows_of(day):
    return [(t.timestamp(), lat, lon, acc) for t, lat, lon, acc in day.fixes]


def test_a_day_is_cleaned_segmented_and_placed():
    synthetic = samples.gps_day(DAY)
    found = day_track.day_track(DeviceDay("phone-1", DAY), rows_of(synthetic))
    assert len(found.raw) == len(synthetic.fixes)
    assert found.rejected.outlier == 1  # the fix 5 km off at noon
    assert len(found.track) == len(found.raw) - found.rejected.total
    assert [s.kind for s in found.segments] == [leg.kind for leg in synthetic.legs]
    assert len(found.places) == len(found.segments)
    assert all(p.name for p in found.places)
    png = found.map_png()
    assert png.startswith(b"\x89PNG")
    assert png == found.map_png()  # the same day draws the same bytes


def test_rows_in_any_order_give_the_same_track():
    rows = rows_of(samples.gps_day(DAY))
    part = DeviceDay("phone-1", DAY)
    forward = day_track.day_track(part, rows)
    backward = day_track.day_track(part, rows[::-1])
    assert forward.segments == backward.segments
    assert forward.map_png() == backward.map_png()


def test_an_empty_day_has_no_segments_and_still_a_map():
    found = day_track.day_track(DeviceDay("phone-1", DAY), [])
    assert (len(found.raw), found.segments, found.places) == (0, [], [])
    assert found.rejected == stays.Rejections()
    assert found.map_png().startswith(b"\x89PNG")


def test_the_title_names_the_partition():
    part = DeviceDay("phone-1", DAY)
    assert f"{part} (UTC)" == "phone-1 2024-05-06 (UTC)"
    assert part.start == datetime(2024, 5, 6, tzinfo=UTC)


def test_loom_map_without_a_database_is_one_line(monkeypatch):
    monkeypatch.setenv(
        "LOOM_DATABASE_URL", f"postgresql://loom:loom@127.0.0.1:{free_port()}/loom"
    )
    result = CliRunner().invoke(cli, ["map", "phone-1", "2024-05-06"])
    assert result.exit_code == 1
    assert "loom map: cannot reach the database" in result.output
    assert "loom stack up" in result.output
    assert "Traceback" not in result.output


def test_loom_map_refuses_a_date_that_is_not_one():
    result = CliRunner().invoke(cli, ["map", "phone-1", "2024-05-32"])
    assert result.exit_code == 2
    assert "does not match the format '%Y-%m-%d'" in result.output
