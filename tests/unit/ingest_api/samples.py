"""Recordings made on the fly for upload tests: WAV, raw PCM and MP4 (PyAV)."""

import io
import math
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def tone(seconds: float, rate: int = 16_000, hz: float = 440.0) -> bytes:
    """Return a sine tone as PCM16 little-endian mono."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * 32767 * np.sin(2 * math.pi * hz * t)).astype("<i2")
    return samples.tobytes()


def wav_bytes(pcm: bytes, rate: int = 16_000, channels: int = 1) -> bytes:
    """Return ``pcm`` (interleaved PCM16) wrapped in a WAV header."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def write_mp4(
    path: Path, seconds: float, fps: int = 10, rate: int = 16_000, audio: bool = True
) -> Path:
    """Write a small MP4 (MPEG-4 video with moving colours, AAC tone)."""
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        sound = container.add_stream("aac", rate=rate, layout="mono") if audio else None
        for i in range(int(seconds * fps)):
            rgb = np.zeros((120, 160, 3), dtype=np.uint8)
            rgb[:, :, 0] = (i * 25) % 256
            rgb[:, : (i * 7) % 160, 1] = 200
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if sound is not None:
            pcm = np.frombuffer(tone(seconds, rate), dtype="<i2")
            floats = (pcm.astype(np.float32) / 32768).reshape(1, -1)
            for start in range(0, floats.shape[1], 1024):
                block = np.ascontiguousarray(floats[:, start : start + 1024])
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = rate, start
                frame.time_base = Fraction(1, rate)
                container.mux(sound.encode(frame))
            container.mux(sound.encode())
    return path
