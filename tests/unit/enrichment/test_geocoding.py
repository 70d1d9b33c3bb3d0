"""The geocoder names the town a coordinate is in, on the wheel's real GeoNames table."""

import pytest

from loom_dagster.enrichment import geocoding, samples


@pytest.mark.parametrize(
    ("landmark", "lat", "lon", "town"),
    samples.LANDMARKS,
    ids=[m[0] for m in samples.LANDMARKS],
)
def test_a_landmark_is_placed_in_its_town(landmark, lat, lon, town):
    (place,) = geocoding.containing_places([(lat, lon)])
    assert place.name == town, landmark


def test_a_district_is_kept_beside_its_town():
    times_square, eiffel = geocoding.containing_places(
        [(40.7580, -73.9855), (48.8584, 2.2945)]
    )
    assert (times_square.name, times_square.district) == (
        "New York City",
        "Times Square",
    )
    assert (eiffel.name, eiffel.country) == ("Paris", "FR")


def test_a_town_in_another_county_is_not_a_district_of_its_big_neighbour():
    # Cambridge, Massachusetts is 5 km from Boston's point, in Middlesex County.
    (harvard,) = geocoding.containing_places([(42.3744, -71.1169)])
    assert (harvard.name, harvard.district) == ("Cambridge", None)


def test_no_coordinates_no_places():
    assert geocoding.containing_places([]) == []


def test_a_bigger_town_has_a_bigger_radius_and_a_hamlet_a_floor():
    assert geocoding.radius_km(2_000_000) > geocoding.radius_km(20_000)
    assert geocoding.radius_km(0) == geocoding.MIN_RADIUS_KM
