from __future__ import annotations

import uuid
from datetime import date

import pytest

from loom_core.contracts.ids import ENRICHMENT_NAMESPACE, enriched_row_id
from loom_dagster.enrichment.geodesy import haversine_m, path_length_m


def test_haversine_knows_paris_to_london():
    assert haversine_m(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(
        343_500, rel=0.005
    )


def test_haversine_of_a_point_to_itself_is_zero_and_antipodes_are_half_the_globe():
    assert haversine_m(10.0, 20.0, 10.0, 20.0) == 0.0
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(20_015_115, rel=1e-4)


def test_path_length_skips_jitter_below_the_minimum_step():
    lat = [0.0, 0.00005, 0.0, 0.00005, 0.001]  # 5 m wiggles, then 111 m north
    lon = [0.0] * 5
    assert path_length_m(lat, lon) > path_length_m(lat, lon, min_step_m=25)
    assert path_length_m(lat, lon, min_step_m=25) == pytest.approx(111.2, rel=0.01)
    assert path_length_m([1.0], [1.0]) == 0.0


def test_stable_ids_are_uuid5_and_depend_on_every_part():
    day = date(2024, 5, 6)
    a = enriched_row_id("gps_tracks", "phone", day, "stay", "08:00")
    assert a == enriched_row_id("gps_tracks", "phone", day, "stay", "08:00")
    assert a.version == 5
    assert a == uuid.uuid5(
        ENRICHMENT_NAMESPACE, "gps_tracks/phone/2024-05-06/stay/08:00"
    )
    others = {
        enriched_row_id("transcripts", "phone", day, "stay", "08:00"),
        enriched_row_id("gps_tracks", "watch", day, "stay", "08:00"),
        enriched_row_id("gps_tracks", "phone", date(2024, 5, 7), "stay", "08:00"),
        enriched_row_id("gps_tracks", "phone", day, "move", "08:00"),
    }
    assert a not in others
    assert len(others) == 4
