import io
import random

import pytest
from PIL import Image

from loom_cli.demo import sample_day as s


def test_track_follows_the_itinerary_with_sparse_stays_and_dense_moves():
    fixes = s.track(random.Random(1))
    assert fixes[0].at == s.at("00:00")
    assert fixes[-1].at < s.at("23:59")
    assert [f.at for f in fixes] == sorted(f.at for f in fixes)
    office = [f for f in fixes if s.at("09:00") <= f.at < s.at("16:00")]
    assert len(office) == 7 * 30  # every 2 minutes
    assert all(abs(f.lat - s.OFFICE.lat) < 0.001 for f in office)
    drive = [f for f in fixes if s.at("16:30") <= f.at < s.at("17:15")]
    assert len(drive) == 45 * 4  # every 15 seconds
    assert 8 < sum(f.speed_mps for f in drive) / len(drive) < 12


def test_the_day_is_reproducible():
    assert s.track(random.Random(7)) == s.track(random.Random(7))


def test_heart_rate_rests_at_night():
    readings = dict(s.heart_rate(random.Random(1)))
    assert len(readings) == 288
    assert max(bpm for when, bpm in readings.items() if when.hour < 6) < 70


@pytest.mark.slow
def test_speech_is_pcm16_with_silence_around_it(tmp_path):
    pcm = s.speak(("Hello there.",), tmp_path)
    assert len(pcm) % 2 == 0
    silence = int(s.SAMPLE_RATE * 1.5) * 2
    assert pcm[:silence] == b"\x00" * silence
    assert any(pcm[silence:-silence])
    assert s.wav_bytes(pcm)[:4] == b"RIFF"


def test_frames_are_decodable_jpegs_with_one_pair():
    frames = s.frames()
    for frame in frames:
        assert Image.open(io.BytesIO(frame.jpeg)).format == "JPEG"
    paired = [f for f in frames if f.pair_id]
    assert sorted(f.camera for f in paired) == ["back", "front"]
    assert {f.kind for f in frames} == {"camera", "screenshot"}


def test_the_short_sample_is_a_morning_walk_between_two_stays():
    script = s.SAMPLES["short"]
    fixes = s.track(random.Random(1), script.itinerary)
    assert fixes[0].at == s.at("07:40")
    assert fixes[-1].at < s.at("08:40")
    near_home = [f for f in fixes if f.at < s.at("08:00")]
    near_cafe = [f for f in fixes if f.at >= s.at("08:20")]
    assert all(abs(f.lat - s.HOME.lat) < 0.001 for f in near_home)
    assert all(abs(f.lat - s.CAFE.lat) < 0.001 for f in near_cafe)
    readings = s.heart_rate(random.Random(1), script.itinerary)
    assert [w for w, _ in readings] == [
        s.at("07:40") + i * (s.at("07:45") - s.at("07:40")) for i in range(12)
    ]
    assert len(script.conversations) == 1
    assert {f.label for f in s.frames()} >= set(script.frames)
