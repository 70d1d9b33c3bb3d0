"""Speech-to-text real-time factor on the CPU (target <= 0.1 on 2 cores).

Loom's path: Silero VAD finds the utterances, the default Whisper (base float32,
beam 5, the encoder reading the speech) transcribes them packed into 28 s windows. Baseline, same audio, same run: faster-whisper over the whole
recording in one call (its own 30 s windows, no VAD). RTF = compute seconds per
second of audio; lower is faster. Prints JSON.

    .venv/bin/python bench/enrichment_speech.py [--minutes 1]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from loom_dagster.enrichment import audio, samples, speech, vad

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back tomorrow morning.",
    "The meeting moved to the third floor.",
    "Remember to buy milk and bread on the way home.",
    "Our train leaves from platform nine at half past six.",
    "I think the report needs one more chart.",
]


def loom_path(
    pcm: np.ndarray, model: speech.FasterWhisper, detector: vad.SileroVad
) -> int:
    duration = pcm.size / audio.SAMPLE_RATE
    segments = vad.speech_segments(detector.probabilities(pcm), duration)
    heard = speech.transcribe_segments(model, pcm, segments, audio.SAMPLE_RATE)
    return sum(len(h.words) for h in heard)


def whole_recording(pcm: np.ndarray, model: speech.FasterWhisper) -> int:
    segments, _ = model._model.transcribe(  # noqa: SLF001 - the same loaded model
        pcm, language="en", beam_size=5, word_timestamps=True, vad_filter=False
    )
    return sum(len(s.words or []) for s in segments)


def timed(fn: Callable[..., int], *args: Any) -> tuple[float, int]:
    started = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    repeats = max(1, round(args.minutes * 60 / 40))  # the sentences last ~40 s
    spoken = samples.speech(SENTENCES * repeats, silence_s=1.5)
    pcm = audio.pcm16_to_float(spoken.pcm.tobytes())
    model = speech.FasterWhisper(speech.WHISPER, threads=args.threads)
    detector = vad.SileroVad()
    loom_path(pcm[: audio.SAMPLE_RATE * 5], model, detector)  # warm up
    loom_s, loom_words = timed(loom_path, pcm, model, detector)
    greedy = speech.FasterWhisper(speech.WHISPER, threads=args.threads, beam_size=1)
    greedy_s, greedy_words = timed(loom_path, pcm, greedy, detector)
    base_s, base_words = timed(whole_recording, pcm, model)
    print(
        json.dumps(
            {
                "benchmark": "speech_to_text_rtf",
                "model": f"{speech.WHISPER.model_name}@{speech.WHISPER.model_version}",
                "threads": args.threads,
                "cpus": os.cpu_count(),
                "audio_s": round(spoken.duration_s, 1),
                "loom_vad_then_whisper": {
                    "seconds": round(loom_s, 2),
                    "rtf": round(loom_s / spoken.duration_s, 4),
                    "words": loom_words,
                },
                "loom_with_greedy_decoding": {
                    "seconds": round(greedy_s, 2),
                    "rtf": round(greedy_s / spoken.duration_s, 4),
                    "words": greedy_words,
                },
                "baseline_whisper_whole_recording": {
                    "seconds": round(base_s, 2),
                    "rtf": round(base_s / spoken.duration_s, 4),
                    "words": base_words,
                },
                "target_rtf": 0.1,
                "load_average_1m": round(os.getloadavg()[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
