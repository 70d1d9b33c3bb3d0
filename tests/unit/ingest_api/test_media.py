import pytest

from ingest_api import media
from tests.unit.ingest_api.samples import tone, wav_bytes, write_mp4


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("audio/wav", True),
        ("audio/mpeg", True),
        ("video/mp4", True),
        ("audio/pcm", True),
        ("Audio/PCM; rate=16000", True),
        ("image/png", False),
        ("text/plain", False),
        ("application/octet-stream", False),
    ],
)
def test_supported_media_types(content_type, ok):
    assert media.supported(content_type) is ok


@pytest.mark.parametrize(
    ("rate", "kept"),
    [(16_000, 16_000), (44_100, 44_100), (96_000, 48_000), (4_000, 16_000)],
)
def test_output_rate_keeps_what_the_contract_allows(rate, kept):
    assert media.output_rate(rate) == kept


def test_wav_decodes_to_the_same_pcm(tmp_path):
    pcm = tone(1.5)
    path = tmp_path / "a.wav"
    path.write_bytes(wav_bytes(pcm))
    probe = media.probe(path)
    assert probe.sample_rate == 16_000
    assert not probe.has_video
    assert b"".join(media.decoded_pcm(path, 16_000)) == pcm


def test_stereo_wav_is_mixed_down_to_mono(tmp_path):
    left = tone(0.5, hz=300)
    stereo = b"".join(left[i : i + 2] * 2 for i in range(0, len(left), 2))
    path = tmp_path / "stereo.wav"
    path.write_bytes(wav_bytes(stereo, channels=2))
    decoded = b"".join(media.decoded_pcm(path, 16_000))
    assert len(decoded) == len(left)


def test_raw_pcm_is_read_in_blocks(tmp_path):
    path = tmp_path / "raw"
    path.write_bytes(b"\x01\x00" * 700_000)
    blocks = list(media.raw_pcm(path))
    assert len(blocks) == 2
    assert b"".join(blocks) == path.read_bytes()


def test_video_gives_audio_and_frames_at_the_interval(tmp_path):
    path = write_mp4(tmp_path / "clip.mp4", seconds=3.0)
    probe = media.probe(path)
    assert probe.has_video
    assert probe.sample_rate == 16_000
    frames = list(media.video_frames(path, interval_s=1.0, max_side=80))
    assert [round(at) for at, _ in frames] == [0, 1, 2]
    assert all(jpeg.startswith(b"\xff\xd8") for _, jpeg in frames)
    pcm = b"".join(media.decoded_pcm(path, 16_000))
    assert abs(len(pcm) / 2 / 16_000 - 3.0) < 0.2


def test_garbage_is_a_media_error(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"this is not a recording" * 100)
    with pytest.raises(media.MediaError, match="cannot decode"):
        media.probe(path)
