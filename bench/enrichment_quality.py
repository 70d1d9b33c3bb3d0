"""Enrichment quality beside the previous defaults: WER, RTF, tags, OCR words, places.

Material Loom did not write for itself, made here with a known answer:

- speech: 8 sentences x 6 espeak-ng voices at 125/150 words per minute (short
  clips of 2-4 s, each its own recording) and the two LibriSpeech sentences of the
  shared fixtures; 8 held-out sentences x 3 other voices, not heard while the
  settings were chosen; long recordings: JFK (fixture), three recordings of the 8
  sentences in turn with pauses, and the LibriSpeech sentences followed by JFK.
  Each recording goes through the transcripts asset's own path
  (``assets.transcripts.utterances``: Silero VAD, packing, the backend).
- text: lines printed in 4 fonts x 2 sizes, dark on light and light on dark.
- tags: scikit-image photos with their COCO objects, textures with none, and signs
  (text on plates, walls and round signs) that must get no object.
- places: :data:`samples.LANDMARKS` (43 landmarks, 15 of them held out while
  the rule was chosen).

The backends run directly, as the assets call them; the previous defaults run in
the same process: Whisper base int8 over whole 30 s windows (the default until
today) and Whisper tiny.en (the one before), tags at 0.2 with a caption from any
tag, RapidOCR's lines as they come, the nearest GeoNames point. RTF is wall time
per audio second on ``--threads`` threads, and CPU time per audio second divided
by the threads (what a machine with free cores would see). WER is given on
Loom's normalised words (case and punctuation folded) and after Whisper's English
normaliser (``whisper-normalizer``: "7" is "seven", "neighbour" is "neighbor").

``--only api`` posts every short clip, as its own recording, through the
real ingest API (the WebSocket audio stream), lets the platform land it and run
the transcripts asset (the `loom demo` platform: Kafka, TimescaleDB, Dagster's
sensors), and scores the words read back from the ``transcripts`` table. Prints
JSON.

    nice .venv/bin/python bench/enrichment_quality.py [--only speech,ocr,tags,places]
    nice .venv/bin/python bench/enrichment_quality.py --only api  # starts the platform

On a stack whose Kafka still holds other devices' backlog (after ``make test``),
give the platform an empty Dagster database and let landing start at the end, so
that the clips are not queued behind it::

    LOOM_DAGSTER_DATABASE_URL=postgresql://.../dagster_bench LOOM_LANDING_START=latest \
        nice .venv/bin/python bench/enrichment_quality.py --only api
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from loom_core.settings import REPO_ROOT
from loom_dagster.defs.enrichment.assets.transcripts import utterances
from loom_dagster.enrichment import (
    audio,
    geocoding,
    ocr,
    samples,
    scoring,
    speech,
    tagging,
    vad,
    vision,
    weights,
)
from loom_dagster.enrichment.store import DeviceDay

FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "speech"
SENTENCES = [
    "The heron waited by the canal.",
    "The blue notebook is on the kitchen table.",
    "Please call me back tomorrow morning.",
    "Remember to buy milk and bread on the way home.",
    "The meeting moved to the third floor.",
    "I left my umbrella at the office again.",
    "Turn left after the old stone bridge.",
    "She plays the violin every Sunday evening.",
]
VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us+f3"]
HELD_OUT_SENTENCES = [  # not heard while the window and compute type were chosen
    "The train to Glasgow leaves at seven.",
    "Could you water the tomatoes tonight?",
    "My sister painted the fence green.",
    "We found a wallet near the fountain.",
    "The library closes early on Fridays.",
    "Put the keys in the drawer by the door.",
    "Our neighbour keeps bees in the garden.",
    "The soup needs a little more salt.",
]
HELD_OUT_VOICES = ["en-us+m3", "en-gb+f2", "en-us+m7"]
SPEEDS = [125, 150]
LIBRISPEECH = {
    "librispeech-left.wav": (
        "He began a confused complaint against the wizard, who had vanished "
        "behind the curtain on the left."
    ),
    "librispeech-right.wav": "The horizon seems extremely distant.",
}
JFK = (
    "And so my fellow Americans ask not what your country can do for you, "
    "ask what you can do for your country."
)
PARTITION = DeviceDay("bench-quality", date(2026, 1, 1))


def fixture(name: str) -> np.ndarray:
    """Decode a shared fixture to 16 kHz mono float32 with sox."""
    raw = subprocess.run(
        [
            *("sox", str(FIXTURES / name), "-t", "raw", "-r", "16000"),
            *("-c", "1", "-b", "16", "-e", "signed", "-"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    return audio.pcm16_to_float(raw)


def quiet(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Room noise about 60 dB below full scale, as :mod:`samples` makes it."""
    return (rng.normal(0.0, 30.0, round(seconds * 16_000)) / 32768).astype(np.float32)


def speech_sets() -> dict[str, list[tuple[str, np.ndarray]]]:
    """Return the short, held-out short and long ``(reference, audio)`` recordings."""
    rng = np.random.default_rng(3)
    short, held_out = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k, sentence in enumerate(SENTENCES):
            for v, voice in enumerate(VOICES):
                pcm = samples.espeak(
                    sentence, Path(tmp) / "s.wav", voice, SPEEDS[(k + v) % 2]
                )
                short.append((sentence, audio.pcm16_to_float(pcm.tobytes())))
        for k, sentence in enumerate(HELD_OUT_SENTENCES):
            for v, voice in enumerate(HELD_OUT_VOICES):
                pcm = samples.espeak(
                    sentence, Path(tmp) / "s.wav", voice, SPEEDS[(k + v) % 2]
                )
                held_out.append((sentence, audio.pcm16_to_float(pcm.tobytes())))
    short += [(text, fixture(name)) for name, text in LIBRISPEECH.items()]
    jfk = fixture("jfk.flac")
    long = [(JFK, jfk)]
    for v in range(3):
        turns = [short[k * len(VOICES) + (v + k) % len(VOICES)] for k in range(8)]
        long.append(_joined(turns, 0.8, rng))
    long.append(_joined([*short[-2:], (JFK, jfk)], 1.2, rng))
    return {"short": short, "short_held_out": held_out, "long": long}


def _joined(
    parts: list[tuple[str, np.ndarray]], pause_s: float, rng: np.random.Generator
) -> tuple[str, np.ndarray]:
    pcm = [quiet(1.0, rng)]
    for _, clip in parts:
        pcm += [clip, quiet(pause_s, rng)]
    return " ".join(text for text, _ in parts), np.concatenate(pcm)


def padded(pcm: np.ndarray) -> np.ndarray:
    """A recording as a device would send it: half a second of room noise around it."""
    rng = np.random.default_rng(0)
    return np.concatenate([quiet(0.5, rng), pcm, quiet(0.5, rng)])


def transcribe(
    model: speech.SpeechToText, detector: vad.SileroVad, pcm: np.ndarray
) -> str:
    """Transcribe one recording the way the transcripts asset does."""
    recording = audio.Recording(stream_id="mic", start=0.0, audio=padded(pcm))
    found = utterances(PARTITION, recording, detector, model)
    return " ".join(u.text for u in found)


SPEECH_OPTIONS: dict[str, tuple[weights.ModelSpec, dict[str, Any]]] = {
    "default_whisper_base_int8_speech_window": (speech.WHISPER_BASE, {}),
    "option_whisper_base_float32_speech_window": (speech.WHISPER_BASE_FLOAT32, {}),
    "option_whisper_base_float32_speech_window_beam3": (
        speech.WHISPER_BASE_FLOAT32,
        {"beam_size": 3},
    ),
    "baseline_whisper_base_int8_whole_windows": (
        speech.WHISPER_BASE,
        {"whole_windows": True},
    ),
    "baseline_whisper_tiny_en_int8": (speech.WHISPER_TINY_EN, {}),
}


def whisper_normalised_wer(pairs: list[tuple[str, str]]) -> float:
    """WER after Whisper's English normaliser (the Whisper paper's): "7" is "seven".

    It also maps British to American spellings and drops fillers; Loom's own
    :func:`scoring.words` only folds case and punctuation.
    """
    from whisper_normalizer.english import (  # noqa: PLC0415 - the bench's alone
        EnglishTextNormalizer,
    )

    same = EnglishTextNormalizer()
    return scoring.word_error_rate([(same(r), same(h)) for r, h in pairs])


def speech_option(
    spec: weights.ModelSpec,
    settings: dict[str, Any],
    threads: int,
    sets: dict[str, list[Any]],
) -> dict[str, Any]:
    """WER and RTF of one backend and its settings (beam 5 unless set) over each set."""
    model = speech.FasterWhisper(spec, threads=threads, **settings)
    detector = vad.SileroVad()
    transcribe(model, detector, sets["short"][0][1])  # warm up
    out: dict[str, Any] = {"model": f"{spec.model_name}@{spec.model_version}"}
    out |= settings
    for name, items in sets.items():
        wall, cpu = time.perf_counter(), time.process_time()
        pairs = [(ref, transcribe(model, detector, pcm)) for ref, pcm in items]
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        seconds = sum(pcm.size for _, pcm in items) / 16_000
        again = [transcribe(model, detector, pcm) for _, pcm in items[:3]]
        out[name] = {
            "wer": round(scoring.word_error_rate(pairs), 4),
            "wer_whisper_normalised": round(whisper_normalised_wer(pairs), 4),
            "rtf_wall": round(wall / seconds, 4),
            "rtf_cpu_per_thread": round(cpu / seconds / threads, 4),
            "audio_s": round(seconds, 1),
            "recordings": len(items),
            "same_words_on_rerun": again == [hyp for _, hyp in pairs[:3]],
            "misheard": [f"{r} -> {h}" for r, h in pairs if scoring.word_edits(r, h)],
        }
    return out


def through_api(
    items: list[tuple[str, np.ndarray]], timeout_s: float
) -> dict[str, Any]:
    """Post each clip through the ingest API and score the transcripts Loom stored.

    The platform is `loom demo`'s (its bring-up, device registration and WebSocket
    audio stream); every clip is its own recording, a minute apart.
    """
    from loom_cli.demo import replay  # noqa: PLC0415
    from loom_cli.demo.cli import Demo  # noqa: PLC0415
    from loom_cli.stack.process import free_port  # noqa: PLC0415
    from loom_core.settings import LoomSettings  # noqa: PLC0415

    settings = LoomSettings()
    device_id = f"bench-quality-{int(time.time())}"
    run = Demo(settings, device_id, "short")
    first = datetime.now(UTC).replace(hour=0, minute=5, second=0, microsecond=0)
    with run.cleanup:
        try:
            run.bring_up("127.0.0.1", free_port(), free_port())
            assert run.platform is not None
            target = replay.Target(run.platform.api_url, device_id, run.register())
            posted, streams, chunk_ids = time.perf_counter(), {}, set()
            for k, (reference, pcm) in enumerate(items):
                started = first + timedelta(minutes=k)
                pcm16 = np.clip(padded(pcm) * 32768, -32768, 32767).astype("<i2")
                chunk_ids |= asyncio.run(
                    replay.stream_audio(target, started, pcm16.tobytes(), _ignore)
                )
                streams[f"demo-{started:%Y%m%dT%H%M}"] = reference
            heard = _stored_transcripts(settings, device_id, chunk_ids, timeout_s)
            waited = time.perf_counter() - posted
        finally:
            if run.platform is not None and run.platform.started_here:
                run.platform.stop()
    pairs = [
        (reference, heard.get(stream, "")) for stream, reference in streams.items()
    ]
    return {
        "recordings": len(pairs),
        "recordings_transcribed": sum(stream in heard for stream in streams),
        "audio_chunks": len(chunk_ids),
        "wer": round(scoring.word_error_rate(pairs), 4),
        "wer_whisper_normalised": round(whisper_normalised_wer(pairs), 4),
        "first_post_to_last_transcript_s": round(waited, 1),
        "misheard": [f"{r} -> {h}" for r, h in pairs if scoring.word_edits(r, h)],
    }


def _ignore(*_: object) -> None:
    """The demo's progress callback, unused here."""


def _stored_transcripts(
    settings: Any, device_id: str, chunk_ids: set[str], timeout_s: float
) -> dict[str, str]:
    """Wait until the transcripts asset processed every chunk; return text by stream.

    A platform that first works through other devices' backlog may take longer
    than ``timeout_s``: the recordings not transcribed by then score as unheard.
    """
    import psycopg  # noqa: PLC0415

    deadline = time.monotonic() + timeout_s
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        while True:
            (done,) = conn.execute(
                "SELECT count(*) FROM enrichment_sources WHERE asset = 'transcripts' "
                "AND device_id = %s AND source_event_id = ANY(%s::uuid[])",
                (device_id, list(chunk_ids)),
            ).fetchone()
            print(f"transcribed {done} of {len(chunk_ids)} chunks", file=sys.stderr)
            if done == len(chunk_ids) or time.monotonic() > deadline:
                break  # on time-out, what was transcribed is scored, and said
            time.sleep(5)
        heard: dict[str, list[str]] = {}
        for stream, text in conn.execute(
            "SELECT stream_id, text FROM transcripts WHERE device_id = %s ORDER BY time",
            (device_id,),
        ):
            heard.setdefault(stream, []).append(text)
    return {stream: " ".join(texts) for stream, texts in heard.items()}


FONTS = [
    None,  # Pillow's own (Aileron)
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
]
LINES = [
    "PLATFORM 4 NORTHBOUND",
    "Exit via stairwell B",
    "Invoice 2024-117 paid",
    "No parking at any time",
    "Fresh bread daily until noon",
    "Mind the gap between train and platform",
    "WET FLOOR",
    "Open 9am to 5pm",
    "Keep left on the escalator",
    "Tickets and information",
]
HELD_OUT_LINES = [  # not looked at while the gap rule was chosen
    "Last train departs at midnight",
    "Staff only beyond this point",
    "Please queue here for taxis",
    "Lift out of order",
    "Baggage reclaim hall C",
    "Quiet zone in coach F",
]


def printed(
    text: str, font: str | None, size: int, *, inverted: bool = False
) -> np.ndarray:
    """Return ``text`` printed on a plain background wide enough for it."""
    face = (
        ImageFont.load_default(size=size)
        if font is None
        else ImageFont.truetype(font, size)
    )
    width = int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(text, face)) + 60
    image = Image.new("RGB", (width, size * 4), "black" if inverted else "white")
    ImageDraw.Draw(image).text(
        (30, size * 4 // 3), text, fill="white" if inverted else "black", font=face
    )
    return np.asarray(image)


def ocr_quality() -> dict[str, Any]:
    """Word accuracy (1 - WER on normalised words) with and without the gap rule."""
    reader = ocr.TextReader()
    fonts = [f for f in FONTS if f is None or Path(f).exists()]
    scores = {}
    for name, lines in (("tuned_on", LINES), ("held_out", HELD_OUT_LINES)):
        pairs, before = [], []
        for font in fonts:
            for text in lines:
                for size in (28, 48):
                    for inverted in (False, True):
                        rgb = printed(text, font, size, inverted=inverted)
                        pairs.append((text, reader.read(rgb)))
                        raw, _ = reader._ocr(rgb)  # noqa: SLF001 - the raw lines
                        before.append((text, " ".join(str(x[1]) for x in raw or [])))
        scores[name] = {
            "images": len(pairs),
            "word_accuracy": round(1 - scoring.word_error_rate(pairs), 4),
            "baseline_rapidocr_lines_word_accuracy": round(
                1 - scoring.word_error_rate(before), 4
            ),
            "misread": [
                f"{r!r} -> {h!r}" for r, h in pairs if scoring.word_edits(r, h)
            ],
        }
    return {"fonts": len(fonts), **scores}


def sign(text: str, kind: str) -> np.ndarray:
    """A sign: a plate on a wall, or a round sign on a wall or the sky."""
    rng = np.random.default_rng(len(text))
    if kind == "sky":
        wall = np.zeros((500, 500, 3), np.uint8) + np.uint8([135, 190, 235])
    else:
        wall = np.clip(170 + rng.normal(0, 20, (500, 500, 3)), 0, 255)
    image = Image.fromarray(wall.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    face = ImageFont.load_default(size=44 if kind != "plate" else 32)
    if kind == "plate":
        draw.rounded_rectangle([20, 190, 480, 310], 12, (20, 60, 160), "white", 4)
    else:
        draw.ellipse([100, 100, 400, 400], (220, 30, 30), "white", 10)
    draw.text((250, 250), text, fill="white", font=face, anchor="mm")
    return np.asarray(image)


PHOTOS = {  # scikit-image photo -> the COCO objects in it
    "astronaut": {"person"},
    "chelsea": {"cat"},
    "coffee": {"cup"},
    "camera": {"person"},
    "horse": {"horse"},
    "stereo_motorcycle": {"motorbike"},
    "coins": set(),
    "moon": set(),
    "rocket": set(),
    "brick": set(),
    "grass": set(),
    "colorwheel": set(),
}


def photo(name: str) -> np.ndarray:
    from skimage import data  # noqa: PLC0415

    image = getattr(data, name)()
    image = image[0] if isinstance(image, tuple) else image
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3].astype(np.uint8))


def tag_quality() -> dict[str, Any]:
    """Precision of tags and text-only images with objects, now and before."""
    tagger, reader = tagging.Tagger(), ocr.TextReader()
    nothing: set[str] = set()
    cases: list[tuple[str, np.ndarray, set[str]]] = [
        *((name, photo(name), labels) for name, labels in PHOTOS.items()),
        *(
            (f"{kind} sign {text}", sign(text, kind), nothing)
            for text in ("EXIT", "Open", "Gate 12", "Way out")
            for kind in ("wall", "sky")
        ),
        *((f"plate {text}", sign(text, "plate"), nothing) for text in LINES[:6]),
        *((f"page {text}", printed(text, None, 40), nothing) for text in LINES[6:]),
    ]
    now: dict[str, list[Any]] = {"right": [], "wrong": [], "text_with_objects": []}
    old: dict[str, list[Any]] = {"right": [], "wrong": [], "text_with_objects": []}
    for name, rgb, truth in cases:
        scored = tagger.tags(rgb, min_score=0.2)
        text = reader.read(rgb)
        current = vision.combine(
            [t for t in scored if t.score >= tagging.MIN_SCORE], text
        )
        previous = vision.Description(vision.caption_from_tags(scored), scored, text)
        for tally, seen in ((now, current), (old, previous)):
            for tag in seen.tags:
                tally["right" if tag.label in truth else "wrong"].append(
                    f"{name}: {tag.label} {tag.score}"
                )
            if vision.has_text(text) and not truth and seen.tags:
                tally["text_with_objects"].append(name)
    return {
        "images": len(cases),
        "text_images": len(cases) - len(PHOTOS),
        "min_score": tagging.MIN_SCORE,
        "text_tag_score": vision.TEXT_TAG_SCORE,
        "tag_precision": _precision(now),
        "text_images_with_object_tags": now["text_with_objects"],
        "wrong_tags": now["wrong"],
        "baseline_min_0.2": {
            "tag_precision": _precision(old),
            "text_images_with_object_tags": old["text_with_objects"],
            "wrong_tags": old["wrong"],
        },
    }


def _precision(tally: dict[str, list[Any]]) -> dict[str, Any]:
    right, wrong = len(tally["right"]), len(tally["wrong"])
    return {
        "precision": round(right / (right + wrong), 4) if right + wrong else None,
        "right": right,
        "wrong": wrong,
    }


def place_quality() -> dict[str, Any]:
    """Landmarks named after their town, now and with the nearest point."""
    points = [(lat, lon) for _, lat, lon, _ in samples.LANDMARKS]
    towns = [town for *_, town in samples.LANDMARKS]
    now = [p.name for p in geocoding.containing_places(points)]
    import reverse_geocode  # noqa: PLC0415 - the wheel's own nearest-point lookup

    before = [reverse_geocode.get(point)["city"] for point in points]
    return {
        "landmarks": len(points),
        "place_accuracy": round(np.mean([a == b for a, b in zip(now, towns)]), 4),
        "held_out_accuracy": round(
            np.mean([a == b for a, b in zip(now[-15:], towns[-15:])]), 4
        ),
        "wrong": [f"{m[0]}: {n}" for m, n in zip(samples.LANDMARKS, now) if n != m[3]],
        "baseline_nearest_point_accuracy": round(
            np.mean([a == b for a, b in zip(before, towns)]), 4
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="speech,ocr,tags,places,api")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--api-timeout", type=float, default=1800.0)
    args = parser.parse_args()
    parts = set(args.only.split(","))
    out: dict[str, Any] = {
        "benchmark": "enrichment_quality",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": os.cpu_count(),
        "threads": args.threads,
    }
    if "places" in parts:
        out["places"] = place_quality()
    if "ocr" in parts:
        out["ocr"] = ocr_quality()
    if "tags" in parts:
        out["tags"] = tag_quality()
    if "speech" in parts:
        sets = speech_sets()
        out["speech"] = {
            name: speech_option(spec, settings, args.threads, sets)
            for name, (spec, settings) in SPEECH_OPTIONS.items()
        }
    if "api" in parts:
        out["speech_through_the_api"] = through_api(
            speech_sets()["short"], args.api_timeout
        )
    out["load_average_1m"] = round(os.getloadavg()[0], 2)
    out["finished"] = time.strftime("%H:%M UTC", time.gmtime())
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
