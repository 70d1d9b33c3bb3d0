"""Voice activity detection with Silero VAD: the ONNX model from PyPI's wheel.

The ``silero-vad`` wheel carries its models as ONNX files; they are run here with
onnxruntime directly, so torch (which the wheel's own helpers import) is never
needed. Loom uses ``silero_vad_16k_sequence.onnx``: the same network as the
streaming ``silero_vad.onnx``, exported to score a block of up to 512 windows in
one call (bit-exact, per the wheel's ``sequence_vad`` module), which removes the
per-window Python round trip. It scores 32 ms windows of 16 kHz audio;
:func:`speech_segments` turns the scores into speech segments with hysteresis.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from loom_dagster.enrichment.audio import SAMPLE_RATE

WINDOW = 512  # samples per score at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window the v5+ model expects in front
BLOCK = 512  # windows per call of the sequence model (about 16 s)
MODEL_NAME = "silero-vad"
MODEL_VERSION = version("silero-vad")


def model_path(name: str = "silero_vad_16k_sequence.onnx") -> Path:
    """Return an ONNX file inside the installed ``silero-vad`` wheel."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        msg = "silero-vad is not installed; run `uv sync` (it is a locked dependency)"
        raise RuntimeError(msg)
    return Path(spec.submodule_search_locations[0]) / "data" / name


@dataclass(frozen=True)
class VadParams:
    """Thresholds of :func:`speech_segments`.

    Attributes
    ----------
    threshold
        Score above which a window starts speech.
    neg_threshold
        Score below which a window may end speech (hysteresis).
    min_speech_s
        Shorter bursts are dropped (clicks, coughs).
    min_silence_s
        Pauses shorter than this stay inside one utterance.
    pad_s
        Added on both sides of a segment, so word onsets are not clipped.
    """

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech_s: float = 0.25
    min_silence_s: float = 0.6
    pad_s: float = 0.1


class SileroVad:
    """Scores audio with the Silero ONNX model; one instance per thread."""

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime as ort  # noqa: PLC0415

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def probabilities(self, audio: NDArray[np.float32]) -> NDArray[np.float32]:
        """Return the speech probability of each 32 ms window of 16 kHz audio."""
        n = -(-audio.size // WINDOW)
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        frames = np.zeros((n, WINDOW), dtype=np.float32)
        frames.reshape(-1)[: audio.size] = audio
        # Each window is preceded by the last CONTEXT samples of the one before.
        context = np.zeros((n, CONTEXT), dtype=np.float32)
        context[1:] = frames[:-1, -CONTEXT:]
        windows = np.concatenate((context, frames), axis=1)
        hidden = np.zeros((1, 1, 128), dtype=np.float32)
        cell = np.zeros((1, 1, 128), dtype=np.float32)
        out = []
        for first in range(0, n, BLOCK):
            probs, hidden, cell = self._session.run(
                ["speech_probs", "hn", "cn"],
                {"input": windows[first : first + BLOCK], "h": hidden, "c": cell},
            )
            out.append(probs.reshape(-1))
        return np.concatenate(out).astype(np.float32, copy=False)


def speech_segments(
    probs: NDArray[np.float32], duration_s: float, params: VadParams | None = None
) -> list[tuple[float, float]]:
    """Return ``(start_s, end_s)`` of the speech in a recording.

    Parameters
    ----------
    probs
        Window scores from :meth:`SileroVad.probabilities`.
    duration_s
        Length of the recording; segments are clipped to ``[0, duration_s]``.
    params
        Thresholds; the defaults suit conversational speech.
    """
    p = params or VadParams()
    window_s = WINDOW / SAMPLE_RATE
    raw: list[list[float]] = []
    start: float | None = None
    for k, prob in enumerate(probs):
        if start is None and prob >= p.threshold:
            start = k * window_s
        elif start is not None and prob < p.neg_threshold:
            raw.append([start, k * window_s])
            start = None
    if start is not None:
        raw.append([start, len(probs) * window_s])
    merged: list[list[float]] = []
    for seg in raw:
        if merged and seg[0] - merged[-1][1] < p.min_silence_s:
            merged[-1][1] = seg[1]
        else:
            merged.append(seg)
    segments = []
    for s, e in merged:
        if e - s < p.min_speech_s:
            continue
        segments.append((max(0.0, s - p.pad_s), min(duration_s, e + p.pad_s)))
    return _unoverlap(segments)


def _unoverlap(segments: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Split padding that makes neighbours overlap at the middle of their gap."""
    out = list(segments)
    for k in range(1, len(out)):
        (s0, e0), (s1, e1) = out[k - 1], out[k]
        if s1 < e0:
            mid = (e0 + s1) / 2
            out[k - 1], out[k] = (s0, mid), (mid, e1)
    return out
