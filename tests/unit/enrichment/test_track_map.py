"""Labels of the day's map stay inside the frame and apart."""

from loom_dagster.enrichment import stays, track_map


def track_over(points):
    return stays.Track.from_rows(
        [(60.0 * i, lat, lon, 5.0) for i, (lat, lon) in enumerate(points)]
    )


def test_labels_point_towards_the_middle_and_close_stays_are_stacked():
    track = track_over([(52.40, 13.05), (52.54, 13.41), (52.53, 13.41)])
    labels = {
        (52.40, 13.05): "Potsdam",
        (52.54, 13.41): "home",
        (52.53, 13.41): "cafe",
        (52.52, 13.40): "office",
    }
    placed = {
        label: offset
        for _spot, label, offset in track_map._label_offsets(track, labels)
    }
    assert placed["Potsdam"][0] > 0  # west of the middle: label to its right
    assert all(placed[name][0] < 0 for name in ("home", "cafe", "office"))
    assert placed["home"][1] == 0  # the northernmost of the three keeps its place
    assert placed["cafe"][1] == -track_map.LABEL_GAP_PT
    assert placed["office"][1] == -2 * track_map.LABEL_GAP_PT


def test_a_map_is_a_png_even_for_one_stay():
    track = track_over([(52.5, 13.4)] * 3)
    png = track_map.draw_track_map(track, [], [], "one place")
    assert png.startswith(b"\x89PNG")
