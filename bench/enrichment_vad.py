"""Voice activity detection speed (target >= 100x real time on one core).

Loom's Silero VAD (the wheel's sequence model: 512 windows per ONNX call) against,
in the same run: the streaming model the wheel's own helpers use, one ONNX call per
32 ms window (the baseline), and a NumPy energy gate (a floor: what any VAD costs
at least). Prints JSON.

    .venv/bin/python bench/enrichment_vad.py [--minutes 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime as ort

from loom_dagster.enrichment import audio, samples, vad


def streaming_onnx(pcm: np.ndarray) -> int:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        str(vad.model_path("silero_vad.onnx")),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )
    state = np.zeros((2, 1, 128), dtype=np.float32)
    sr = np.array(16_000, dtype=np.int64)
    padded = np.concatenate([np.zeros(vad.CONTEXT, dtype=np.float32), pcm])
    n = pcm.size // vad.WINDOW
    for k in range(n):
        frame = padded[k * vad.WINDOW : (k + 1) * vad.WINDOW + vad.CONTEXT][None, :]
        _, state = session.run(None, {"input": frame, "state": state, "sr": sr})
    return n


def energy_gate(pcm: np.ndarray) -> int:
    frames = pcm[: pcm.size // vad.WINDOW * vad.WINDOW].reshape(-1, vad.WINDOW)
    return int((np.sqrt((frames**2).mean(axis=1)) > 0.02).sum())


def timed(fn: Callable[..., Any], *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    spoken = samples.speech(
        ["Voice activity detection finds the speech.", "Silence is skipped."],
        silence_s=2.0,
    )
    one = audio.pcm16_to_float(spoken.pcm.tobytes())
    pcm = np.tile(one, max(1, round(args.minutes * 60 / spoken.duration_s)))
    seconds = pcm.size / audio.SAMPLE_RATE
    detector = vad.SileroVad(threads=1)
    detector.probabilities(one)  # warm up
    loom_s = timed(
        lambda x: vad.speech_segments(detector.probabilities(x), seconds), pcm
    )
    bare_s = timed(streaming_onnx, pcm)
    energy_s = timed(energy_gate, pcm)
    print(
        json.dumps(
            {
                "benchmark": "vad_speed",
                "model": f"{vad.MODEL_NAME} {vad.MODEL_VERSION}",
                "audio_s": round(seconds, 1),
                "loom_silero_x_realtime": round(seconds / loom_s, 1),
                "baseline_streaming_model_x_realtime": round(seconds / bare_s, 1),
                "floor_numpy_energy_gate_x_realtime": round(seconds / energy_s, 1),
                "target_x_realtime": 100,
                "load_average_1m": round(os.getloadavg()[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
