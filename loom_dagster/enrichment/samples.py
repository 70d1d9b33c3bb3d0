"""Generated sample data with a known answer: for tests, benchmarks and the demo.

- :func:`gps_day`: home -> walk -> office -> drive -> home, with jitter and one wild
  outlier, plus the segments it was built from.
- :func:`speech`: sentences spoken by espeak-ng (Debian) with silences between them,
  plus where each sentence is.
- :func:`text_image`: an image with printed text (Pillow).
- :data:`LANDMARKS`: well-known places and the town each stands in.
- :func:`at`: an instant of a sample day (UTC).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

HOME = (42.3736, -71.1097)  # Cambridge, MA
OFFICE = (42.3601, -71.0589)  # Boston, MA
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Leg:
    """One constructed stay or move of the synthetic day."""

    kind: str
    start: datetime
    end: datetime
    origin: tuple[float, float]
    destination: tuple[float, float]


@dataclass(frozen=True)
class GpsDay:
    """Fixes ``(time, lat, lon, accuracy_m)`` and the legs they were built from."""

    fixes: list[tuple[datetime, float, float, float]]
    legs: list[Leg]
    outlier: tuple[datetime, float, float]


def at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """Return the UTC instant of ``hh:mm:ss`` on ``day`` (samples are in UTC)."""
    return datetime.combine(day, time(hh, mm, ss), tzinfo=UTC)


def gps_day(day: date, seed: int = 7, jitter_m: float = 8.0) -> GpsDay:
    """Return a synthetic device-day with a known answer.

    Home 06:00-08:00, a walk to the office at 1.4 m/s, the office until 17:00
    (with one fix 5 km off at 12:00), a drive home at 12 m/s, home until 22:00.
    Stays have a fix every 30 s, moves every 10 s; all fixes get Gaussian jitter.
    """
    rng = np.random.default_rng(seed)
    walk_s = _distance(HOME, OFFICE) / 1.4
    drive_s = _distance(OFFICE, HOME) / 12.0
    walk_start, drive_start = at(day, 8), at(day, 17)
    walk_end = walk_start + timedelta(seconds=round(walk_s))
    drive_end = drive_start + timedelta(seconds=round(drive_s))
    legs = [
        Leg("stay", at(day, 6), walk_start, HOME, HOME),
        Leg("move", walk_start, walk_end, HOME, OFFICE),
        Leg("stay", walk_end, drive_start, OFFICE, OFFICE),
        Leg("move", drive_start, drive_end, OFFICE, HOME),
        Leg("stay", drive_end, at(day, 22), HOME, HOME),
    ]
    fixes: list[tuple[datetime, float, float, float]] = []
    for k, leg in enumerate(legs):
        step = 30 if leg.kind == "stay" else 10
        total = (leg.end - leg.start).total_seconds()
        last = k == len(legs) - 1
        for s in np.arange(0, total + (step if last else 0), step):
            if s > total:
                break
            f = s / total if total else 0.0
            lat = leg.origin[0] + f * (leg.destination[0] - leg.origin[0])
            lon = leg.origin[1] + f * (leg.destination[1] - leg.origin[1])
            dlat, dlon = _jitter(rng, lat, jitter_m)
            t = leg.start + timedelta(seconds=float(s))
            fixes.append((t, lat + dlat, lon + dlon, 10.0))
    noon = at(day, 12)
    outlier = (noon + timedelta(seconds=15), OFFICE[0] + 0.045, OFFICE[1])
    fixes.append((*outlier, 15.0))
    fixes.sort()
    return GpsDay(fixes, legs, outlier)


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    from loom_dagster.enrichment.geodesy import haversine_m  # noqa: PLC0415

    return float(haversine_m(a[0], a[1], b[0], b[1]))


def _jitter(
    rng: np.random.Generator, lat: float, sigma_m: float
) -> tuple[float, float]:
    north, east = rng.normal(0.0, sigma_m, 2)
    return north / 111_320.0, east / (111_320.0 * np.cos(np.radians(lat)))


@dataclass(frozen=True)
class Speech:
    """16 kHz mono PCM16 audio and where each sentence was placed, in seconds."""

    pcm: NDArray[np.int16]
    sentences: list[tuple[str, float, float]]

    @property
    def duration_s(self) -> float:
        """Length of the audio."""
        return self.pcm.size / SAMPLE_RATE


def speech(
    sentences: list[str], silence_s: float = 2.0, lead_s: float = 1.0, seed: int = 3
) -> Speech:
    """Speak ``sentences`` with espeak-ng, separated by ``silence_s`` of quiet noise.

    Raises
    ------
    RuntimeError
        When espeak-ng or sox is not installed (``scripts/bootstrap.sh`` installs them).
    """
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        msg = f"{' and '.join(missing)} not found; run scripts/bootstrap.sh (apt-get install espeak-ng sox)"
        raise RuntimeError(msg)
    rng = np.random.default_rng(seed)
    parts: list[NDArray[np.int16]] = [_quiet(rng, lead_s)]
    placed: list[tuple[str, float, float]] = []
    cursor = lead_s
    with tempfile.TemporaryDirectory() as tmp:
        for k, sentence in enumerate(sentences):
            voice = espeak(sentence, Path(tmp) / f"{k}.wav")
            placed.append((sentence, cursor, cursor + voice.size / SAMPLE_RATE))
            parts += [voice, _quiet(rng, silence_s)]
            cursor += voice.size / SAMPLE_RATE + silence_s
    return Speech(np.concatenate(parts), placed)


def _quiet(rng: np.random.Generator, seconds: float) -> NDArray[np.int16]:
    """Room noise about 60 dB below full scale: silence as microphones record it."""
    noise = rng.normal(0.0, 30.0, round(seconds * SAMPLE_RATE))
    return noise.astype(np.int16)


def espeak(
    sentence: str, path: Path, voice: str | None = None, speed: int = 150
) -> NDArray[np.int16]:
    """Synthesise ``sentence`` with espeak-ng: PCM16 mono at :data:`SAMPLE_RATE`.

    ``path`` is where the resampled WAV goes (its directory holds the raw one);
    ``speed`` is in words per minute.
    """
    raw = path.with_suffix(".raw.wav")
    voice_args = ["-v", voice] if voice else []
    subprocess.run(
        ["espeak-ng", *voice_args, "-s", str(speed), "-w", str(raw), sentence],
        check=True,
        timeout=30,
    )
    subprocess.run(
        [
            "sox",
            "-R",  # repeatable: the same dither on every run and every machine
            "-G",
            str(raw),
            "-r",
            str(SAMPLE_RATE),
            "-c",
            "1",
            "-b",
            "16",
            str(path),
        ],
        check=True,
        timeout=30,
    )
    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).copy()


def text_image(
    text: str, size: tuple[int, int] = (640, 200), fmt: str = "PNG"
) -> bytes:
    """Return an encoded image with ``text`` printed in black on white."""
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, size[1] // 5))
    draw.text((20, size[1] // 3), text, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def photo(name: str = "chelsea", fmt: str = "JPEG") -> bytes:
    """Return a scikit-image sample photo (``chelsea``: a cat, ``coffee``: a cup), encoded.

    scikit-image is a dev dependency: tests, benchmarks and the demo use it.
    """
    from PIL import Image  # noqa: PLC0415
    from skimage import data  # noqa: PLC0415

    out = io.BytesIO()
    Image.fromarray(getattr(data, name)()).save(out, format=fmt)
    return out.getvalue()


# (landmark, lat, lon, the town it stands in as GeoNames spells it). The first 28
# were used while choosing the geocoder's rule; the last 15 were not.
LANDMARKS: list[tuple[str, float, float, str]] = [
    ("Eiffel Tower", 48.8584, 2.2945, "Paris"),
    ("Big Ben", 51.5007, -0.1246, "London"),
    ("Brandenburg Gate", 52.5163, 13.3777, "Berlin"),
    ("Colosseum", 41.8902, 12.4922, "Rome"),
    ("Sagrada Familia", 41.4036, 2.1744, "Barcelona"),
    ("Golden Gate Bridge", 37.8199, -122.4783, "San Francisco"),
    ("Sydney Opera House", -33.8568, 151.2153, "Sydney"),
    ("Times Square", 40.7580, -73.9855, "New York City"),
    ("Statue of Liberty", 40.6892, -74.0445, "New York City"),
    ("Tokyo Tower", 35.6586, 139.7454, "Tokyo"),
    ("Leaning Tower of Pisa", 43.7230, 10.3966, "Pisa"),
    ("King's College Chapel", 52.2043, 0.1165, "Cambridge"),
    ("Royal Crescent", 51.3870, -2.3680, "Bath"),
    ("Belfry of Bruges", 51.2085, 3.2247, "Brugge"),
    ("Harvard Yard", 42.3744, -71.1169, "Cambridge"),
    ("Palace of Versailles", 48.8049, 2.1204, "Versailles"),
    ("Space Needle", 47.6205, -122.3493, "Seattle"),
    ("Alhambra", 37.1761, -3.5881, "Granada"),
    ("Heidelberg Castle", 49.4106, 8.7153, "Heidelberg"),
    ("Christ the Redeemer", -22.9519, -43.2105, "Rio de Janeiro"),
    ("Kinkaku-ji", 35.0394, 135.7292, "Kyoto"),
    ("Edinburgh Castle", 55.9486, -3.1999, "Edinburgh"),
    ("Rynek Glowny", 50.0617, 19.9373, "Kraków"),
    ("Charles Bridge", 50.0865, 14.4114, "Prague"),
    ("Salzburg Cathedral", 47.7977, 13.0467, "Salzburg"),
    ("Zermatt station", 46.0244, 7.7476, "Zermatt"),
    ("Salisbury Cathedral", 51.0651, -1.7973, "Salisbury"),
    ("Central Park Zoo", 40.7678, -73.9718, "New York City"),
    ("Shakespeare's Birthplace", 52.1942, -1.7080, "Stratford-upon-Avon"),
    ("Rothenburg market square", 49.3770, 10.1790, "Rothenburg ob der Tauber"),
    ("Basilica of St Francis", 43.0751, 12.6054, "Assisi"),
    ("Bled Castle", 46.3697, 14.1006, "Bled"),
    ("Cite de Carcassonne", 43.2063, 2.3636, "Carcassonne"),
    ("Radcliffe Camera", 51.7534, -1.2540, "Oxford"),
    ("Empire State Building", 40.7484, -73.9857, "New York City"),
    ("Sacre-Coeur", 48.8867, 2.3431, "Paris"),
    ("Hollywood Sign", 34.1341, -118.3215, "Los Angeles"),
    ("Louvre", 48.8606, 2.3376, "Paris"),
    ("Buckingham Palace", 51.5014, -0.1419, "London"),
    ("Reichstag", 52.5186, 13.3761, "Berlin"),
    ("Gateway Arch", 38.6247, -90.1848, "St. Louis"),
    ("Marienplatz", 48.1374, 11.5755, "Munich"),
    ("Florence Cathedral", 43.7731, 11.2560, "Florence"),
]
