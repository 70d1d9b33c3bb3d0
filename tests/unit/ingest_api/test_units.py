from datetime import UTC, datetime, timedelta, timezone

import pytest

from ingest_api.compat import units


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        (0, 0.0),
        ("12.5", 12.5),
        (" 7 ", 7.0),
        (3, 3.0),
        (-1, -1.0),
    ],
)
def test_number_reads_json_query_and_form_values(value, expected):
    assert units.number(value) == expected


@pytest.mark.parametrize("value", ["abc", "nan", "inf", float("nan"), True, [1]])
def test_number_refuses_what_is_not_a_finite_number(value):
    with pytest.raises(ValueError, match="number"):
        units.number(value)


MOMENT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
EPOCH_S = int(MOMENT.timestamp())


@pytest.mark.parametrize(
    "value",
    [
        EPOCH_S,
        float(EPOCH_S),
        str(EPOCH_S),
        EPOCH_S * 1000,
        str(EPOCH_S * 1000),
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.000Z",
        "2024-05-01T14:00:00+02:00",
        "2024-05-01T07:00:00-05:00",
        "2024-05-01T12:00:00",  # no offset: OsmAnd/Traccar send UTC so
        "2024-05-01 12:00:00.000",
        MOMENT,
    ],
)
def test_parse_time_reads_epoch_seconds_milliseconds_and_iso(value):
    parsed = units.parse_time(value)
    assert parsed == MOMENT
    assert parsed.utcoffset() == timedelta(0)


def test_parse_time_keeps_sub_second_precision():
    assert units.parse_time(EPOCH_S + 0.25) == MOMENT + timedelta(milliseconds=250)
    assert units.parse_time(EPOCH_S * 1000 + 250) == MOMENT + timedelta(
        milliseconds=250
    )


def test_parse_time_converts_aware_datetimes_to_utc():
    cet = datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert units.parse_time(cet) == MOMENT


@pytest.mark.parametrize("value", ["yesterday", "", None, True, {"t": 1}, 1e20])
def test_parse_time_says_what_it_accepts(value):
    with pytest.raises(ValueError, match=r"epoch|ISO|out of range|time"):
        units.parse_time(value)


def test_parse_time_out_of_range_in_utc():
    with pytest.raises(ValueError, match="out of range"):
        units.parse_time("0001-01-01T00:00:00+01:00")


def test_optional_time_treats_empty_as_absent():
    assert units.optional_time("") is None
    assert units.optional_time(None) is None
    assert units.optional_time(EPOCH_S) == MOMENT


@pytest.mark.parametrize(
    ("kmh", "mps"), [(0, 0.0), (36, 10.0), (3.6, 1.0), (None, None), (-1, None)]
)
def test_kmh_to_mps(kmh, mps):
    assert units.kmh_to_mps(kmh) == pytest.approx(mps)


@pytest.mark.parametrize(
    ("knots", "mps"),
    [(0, 0.0), (1, 0.514444), (10, 5.14444), (7, 3.60111)],
)
def test_knots_to_mps(knots, mps):
    assert units.knots_to_mps(knots) == pytest.approx(mps, rel=1e-5)


@pytest.mark.parametrize("knots", [None, -1])
def test_unknown_knots_stay_unknown(knots):
    assert units.knots_to_mps(knots) is None


@pytest.mark.parametrize(
    ("percent", "level"),
    [(0, 0.0), (50, 0.5), (100, 1.0), (87.5, 0.875), (None, None), (-1, None)],
)
def test_percent_to_fraction(percent, level):
    assert units.percent_to_fraction(percent) == pytest.approx(level)


def test_battery_over_100_percent_is_an_error_not_a_clamp():
    with pytest.raises(ValueError, match="above 100"):
        units.percent_to_fraction(101)


@pytest.mark.parametrize(
    ("level", "expected"), [(0.0, 0.0), (0.42, 0.42), (1, 1), (-1, None), (None, None)]
)
def test_fraction_keeps_0_to_1_and_unknown(level, expected):
    assert units.fraction(level) == expected


def test_fraction_above_1_names_the_mistake():
    with pytest.raises(ValueError, match="fraction 0-1"):
        units.fraction(87)


@pytest.mark.parametrize(
    ("value", "expected"), [(5, 5), (0, 0), (-1, None), (None, None)]
)
def test_known_drops_the_unknown_marker(value, expected):
    assert units.known(value) == expected
