import pytest

from ingest_api import media
from tests.unit.ingest_api.samples import tone, wav_bytes, write_mp4

LIMITS = media.DecodeLimits()


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [
        ("audio/wav", True),
        ("audio/mpeg", True),
        ("video/mp4", True),
        ("audio/x-unknown", False),
        ("video/x-ms-asf", False),
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
    probe = media.probe(path, "audio/wav", LIMITS)
    assert probe.sample_rate == 16_000
    assert not probe.has_video
    assert b"".join(media.decoded_pcm(path, "audio/wav", 16_000, LIMITS)) == pcm


def test_stereo_wav_is_mixed_down_to_mono(tmp_path):
    left = tone(0.5, hz=300)
    stereo = b"".join(left[i : i + 2] * 2 for i in range(0, len(left), 2))
    path = tmp_path / "stereo.wav"
    path.write_bytes(wav_bytes(stereo, channels=2))
    decoded = b"".join(media.decoded_pcm(path, "audio/wav", 16_000, LIMITS))
    assert len(decoded) == len(left)


def test_raw_pcm_is_read_in_blocks(tmp_path):
    path = tmp_path / "raw"
    path.write_bytes(b"\x01\x00" * 700_000)
    blocks = list(media.raw_pcm(path))
    assert len(blocks) == 2
    assert b"".join(blocks) == path.read_bytes()


def test_video_gives_audio_and_frames_at_the_interval(tmp_path):
    path = write_mp4(tmp_path / "clip.mp4", seconds=3.0)
    probe = media.probe(path, "video/mp4", LIMITS)
    assert probe.has_video
    assert probe.sample_rate == 16_000
    frames = list(
        media.video_frames(
            path, "video/mp4", interval_s=1.0, max_side=80, limits=LIMITS
        )
    )
    assert [round(at) for at, _ in frames] == [0, 1, 2]
    assert all(jpeg.startswith(b"\xff\xd8") for _, jpeg in frames)
    pcm = b"".join(media.decoded_pcm(path, "video/mp4", 16_000, LIMITS))
    assert abs(len(pcm) / 2 / 16_000 - 3.0) < 0.2


def test_garbage_is_a_media_error(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"this is not a recording" * 100)
    with pytest.raises(media.MediaError, match="cannot decode"):
        media.probe(path, "audio/wav", LIMITS)


# -- hostile uploads: FFmpeg reads nothing but the upload's own bytes ----------------
def _victim(folder):
    """Another upload beside the hostile one, which it tries to read."""
    (folder / "victim.data").write_bytes(wav_bytes(tone(1.0)))


HOSTILE = {
    "ffconcat": "ffconcat version 1.0\nfile victim.data\n",
    "ffconcat-self": "ffconcat version 1.0\nfile hostile.data\nfile hostile.data\n",
    "hls": "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nvictim.data\n"
    "#EXT-X-ENDLIST\n",
    "m3u": "#EXTM3U\nvictim.data\n",
    "sdp": "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\n"
    "m=audio 5004 RTP/AVP 0\n",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("content_type", ["audio/wav", "audio/mpeg", "video/mp4"])
def test_playlists_and_lists_decode_nothing(tmp_path, monkeypatch, kind, content_type):
    monkeypatch.chdir(tmp_path)  # even relative to the working directory
    _victim(tmp_path)
    path = tmp_path / "hostile.data"
    path.write_text(HOSTILE[kind])
    with pytest.raises(media.MediaError) as probed:
        media.probe(path, content_type, LIMITS)
    with pytest.raises(media.MediaError) as decoded:
        list(media.decoded_pcm(path, content_type, 16_000, LIMITS))
    for caught in (probed, decoded):
        assert str(tmp_path) not in str(caught.value)


def test_an_ffconcat_list_is_415_not_a_read_of_its_neighbour(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _victim(tmp_path)
    path = tmp_path / "hostile.data"
    path.write_text(HOSTILE["ffconcat"])
    with pytest.raises(media.WrongFormatError, match="not audio/wav"):
        media.probe(path, "audio/wav", LIMITS)


def test_a_png_declared_as_wav_is_415(tmp_path):
    from PIL import Image  # noqa: PLC0415

    path = tmp_path / "frame.data"
    Image.new("RGB", (64, 64)).save(path, format="PNG")
    with pytest.raises(media.WrongFormatError):
        media.probe(path, "audio/wav", LIMITS)


def test_a_wav_declared_as_mp4_is_415(tmp_path):
    path = tmp_path / "a.data"
    path.write_bytes(wav_bytes(tone(0.2)))
    with pytest.raises(media.WrongFormatError, match="not video/mp4"):
        media.probe(path, "video/mp4", LIMITS)


def test_decoding_stops_at_the_duration_bound(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(wav_bytes(tone(3.0)))
    short = media.DecodeLimits(max_seconds=1.0)
    with pytest.raises(media.TooCostlyError, match="longer than 1 s"):
        media.probe(path, "audio/wav", short)
    with pytest.raises(media.TooCostlyError):
        list(media.decoded_pcm(path, "audio/wav", 16_000, short))


def test_decoding_stops_at_the_ratio_bound(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(wav_bytes(tone(1.0)))
    # A WAV decodes to its own size: a ratio under 1 is passed at once.
    with pytest.raises(media.TooCostlyError, match="times its size"):
        list(
            media.decoded_pcm(
                path, "audio/wav", 16_000, media.DecodeLimits(max_ratio=0.5)
            )
        )


def test_decoding_stops_at_the_wall_time_bound(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(wav_bytes(tone(1.0)))
    with pytest.raises(media.TooCostlyError, match="took longer"):
        list(
            media.decoded_pcm(
                path, "audio/wav", 16_000, media.DecodeLimits(max_wall_seconds=0)
            )
        )
