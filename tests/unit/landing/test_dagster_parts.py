import dagster as dg
import pytest

from loom_core.contracts import FAMILIES
from loom_dagster.defs.landing.assets import LandingConfig, _metadata
from loom_dagster.defs.landing.jobs import run_config
from loom_dagster.defs.landing.sensors import _due
from loom_dagster.landing.ranges import OffsetRange


def test_run_config_holds_the_exact_sorted_ranges():
    config = run_config(FAMILIES["gps"], [OffsetRange(2, 5, 9), OffsetRange(0, 1, 3)])
    landing = config.ops["gps_data"]
    assert [(r.partition, r.start, r.end) for r in landing.ranges] == [
        (0, 1, 3),
        (2, 5, 9),
    ]
    assert landing.offset_ranges() == [OffsetRange(0, 1, 3), OffsetRange(2, 5, 9)]


def test_config_rejects_an_empty_range():
    config = LandingConfig(ranges=[{"partition": 0, "start": 5, "end": 5}])
    with pytest.raises(ValueError, match="invalid"):
        config.offset_ranges()


def test_metadata_wraps_lists_and_dicts_as_json():
    meta = _metadata(
        {"rows": 3, "pairs": [{"day": "d"}], "reasons": {}, "topic": "t", "lag": None}
    )
    assert "lag" not in meta
    assert meta["rows"] == 3
    assert meta["topic"] == "t"
    assert isinstance(meta["pairs"], dg.JsonMetadataValue)
    assert meta["pairs"].value == [{"day": "d"}]
    assert isinstance(meta["reasons"], dg.JsonMetadataValue)


@pytest.mark.parametrize(
    ("last", "now", "due"),
    [
        (None, 100.0, True),
        (59.0, 61.0, True),
        (61.0, 119.0, False),
        (120.0, 121.0, False),
    ],
)
def test_idle_lag_is_reported_once_a_minute(last, now, due):
    assert _due(last, now) is due
