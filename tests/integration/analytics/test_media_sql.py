"""speech_hourly.sql and caption_terms_daily.sql on transcripts and captions rows."""

import uuid
from datetime import timedelta

from tests.integration.analytics.conftest import at, insert


def utterance(device, start, seconds, word_offsets):
    """A transcripts row with one word starting at each offset (seconds)."""
    words = [
        {
            "word": f"w{i}",
            "start": start.timestamp() + offset,
            "end": start.timestamp() + offset + 0.5,
            "probability": 0.9,
        }
        for i, offset in enumerate(word_offsets)
    ]
    return {
        "time": start,
        "device_id": device,
        "utterance_id": uuid.uuid4(),
        "day": start.date(),
        "end_time": start + timedelta(seconds=seconds),
        "stream_id": "s1",
        "text": " ".join(w["word"] for w in words),
        "words": words,
        "word_count": len(words),
        "language": "en",
        "model_name": "test",
        "model_version": "1",
    }


def test_speech_hourly_splits_utterances_over_hours(db, devices, loom_sql):
    me, other = devices(), devices()
    insert(
        db,
        "transcripts",
        [
            # starts before the range: 30 s and one word fall on 2024-03-04
            utterance(me, at(3, 23, 59, 30), 60, [10, 40]),
            # hour 10: 30 s + 30 s, 3 + 2 words; hour 11: 30 s + 60 s, 2 + 5 words
            utterance(me, at(4, 10), 30, [1, 10, 20]),
            utterance(me, at(4, 10, 59, 30), 60, [10, 20, 35, 50]),
            utterance(me, at(4, 11, 30), 60, [5, 15, 25, 35, 45]),
            # after the range, and another device
            utterance(me, at(5, 9), 60, [1]),
            utterance(other, at(4, 10), 600, [1, 2, 3]),
        ],
    )
    rows = loom_sql(
        "speech_hourly", device_id=me, start_day="2024-03-04", end_day="2024-03-04"
    )
    assert rows == [
        {
            "device_id": me,
            "hour": "2024-03-04T00:00:00+00:00",
            "speech_minutes": 0.5,
            "utterances": 0,
            "words": 1,
            "words_per_minute": 2.0,
        },
        {
            "device_id": me,
            "hour": "2024-03-04T10:00:00+00:00",
            "speech_minutes": 1.0,
            "utterances": 2,
            "words": 5,
            "words_per_minute": 5.0,
        },
        {
            "device_id": me,
            "hour": "2024-03-04T11:00:00+00:00",
            "speech_minutes": 1.5,
            "utterances": 1,
            "words": 7,
            "words_per_minute": 4.7,
        },
    ]


def frame(device, when, tags, ocr_text):
    return {
        "time": when,
        "device_id": device,
        "source_event_id": uuid.uuid4(),
        "day": when.date(),
        "source": "camera",
        "caption": None,
        "tags": tags,
        "tag_scores": [0.9] * len(tags),
        "ocr_text": ocr_text,
        "model_name": "test",
        "model_version": "1",
    }


def test_caption_terms_daily_ranks_tags_and_ocr_terms(db, devices, loom_sql):
    me, other = devices(), devices()
    insert(
        db,
        "captions",
        [
            frame(me, at(4, 9), ["dog", "grass", "person"], "Coffee shop OPEN daily"),
            frame(me, at(4, 10), ["dog", "person"], "coffee, coffee and tea"),
            frame(me, at(4, 11), ["car"], ""),
            frame(me, at(5, 9), ["Dog"], "The end."),
            frame(other, at(4, 9), ["cat", "cat"], "zebra zebra zebra zebra"),
        ],
    )
    rows = loom_sql(
        "caption_terms_daily",
        device_id=me,
        start_day="2024-03-04",
        end_day="2024-03-05",
        top_n=3,
    )
    assert [
        (r["day"], r["kind"], r["rank"], r["term"], r["occurrences"], r["frames"])
        for r in rows
    ] == [
        ("2024-03-04", "tag", 1, "dog", 2, 2),
        ("2024-03-04", "tag", 2, "person", 2, 2),
        ("2024-03-04", "tag", 3, "car", 1, 1),
        ("2024-03-04", "ocr", 1, "coffee", 3, 2),
        ("2024-03-04", "ocr", 2, "daily", 1, 1),
        ("2024-03-04", "ocr", 3, "open", 1, 1),
        ("2024-03-05", "tag", 1, "dog", 1, 1),
        ("2024-03-05", "ocr", 1, "end", 1, 1),
    ]
    assert {r["device_id"] for r in rows} == {me}

    longer = loom_sql(
        "caption_terms_daily",
        device_id=me,
        start_day="2024-03-04",
        end_day="2024-03-05",
        min_term_length=5,
    )
    assert [(r["day"], r["term"]) for r in longer if r["kind"] == "ocr"] == [
        ("2024-03-04", "coffee"),
        ("2024-03-04", "daily"),
    ]
