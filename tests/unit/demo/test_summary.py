"""The summary prints the day's facts as Trino returned them."""

from datetime import date

from rich.console import Console

from loom_cli.demo.sample_day import at
from loom_cli.demo.summary import DaySummary, render


def summary():
    return DaySummary(
        "demo-phone",
        date(2025, 6, 14),
        distance=[
            {"distance_km": 48.26, "moving_minutes": 140.4, "moves": 4, "stays": 5}
        ],
        places=[
            {
                "arrived": at("00:00"),
                "departed": at("08:01"),
                "minutes": 481.0,
                "place": "Prenzlauer Berg Bezirk",
                "place_admin": "Berlin",
            },
            {
                "arrived": at("17:15"),
                "departed": at("19:30"),
                "minutes": 135.0,
                "place": "Potsdam",
                "place_admin": None,
            },
        ],
        heart_rate=[
            {"readings": 288, "lowest_bpm": 50, "mean_bpm": 70.4, "highest_bpm": 101}
        ],
        speech=[
            {"speech_minutes": 0.25, "utterances": 3, "words": 20},
            {"speech_minutes": 0.2, "utterances": 2, "words": 11},
        ],
        transcript=[{"time": at("10:00:01"), "text": " Good morning everyone. "}],
        terms=[
            {"kind": "tag", "term": "person", "occurrences": 2},
            {"kind": "tag", "term": "cat", "occurrences": 1},
            {"kind": "ocr", "term": "launch", "occurrences": 1},
        ],
    )


def printed(found):
    console = Console(width=120, record=True)
    render(found, console)
    return console.export_text()


def test_the_summary_has_a_line_per_fact():
    text = printed(summary())
    assert "Distance     48.3 km in 2 h 20 min of moving (4 moves, 5 stays)" in text
    assert "00:00-08:01  Prenzlauer Berg Bezirk, Berlin  (8 h 01 min)" in text
    assert "17:15-19:30  Potsdam  (2 h 15 min)" in text
    assert "288 readings, 50-101 bpm, mean 70" in text
    assert "0.5 min of speech, 5 utterances, 31 words" in text
    assert "10:00:01  Good morning everyone." in text
    assert "Camera tags  person (2), cat" in text
    assert "Text seen    launch" in text


def test_an_empty_day_says_so_instead_of_failing():
    text = printed(DaySummary("x", date(2025, 6, 14)))
    assert "no stays" in text
    assert "0.0 min of speech, 0 utterances, 0 words" in text
    assert "Camera tags  none" in text
    assert "Distance" not in text


def test_totals_and_tops():
    found = summary()
    assert found.speech_totals() == (0.45, 5, 31)
    assert found.top("tag") == [("person", 2), ("cat", 1)]
    assert found.top("ocr") == [("launch", 1)]
