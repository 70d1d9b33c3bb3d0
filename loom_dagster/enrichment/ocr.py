"""Printed-text recognition with RapidOCR (PP-OCRv4 ONNX models inside the wheel)."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
from numpy.typing import NDArray

MODEL_NAME = "pp-ocrv4"
MODEL_VERSION = f"rapidocr-onnxruntime-{version('rapidocr-onnxruntime')}"
MIN_SCORE = 0.8  # lower-scored lines are mostly texture read as letters


class TextReader:
    """Reads the text lines of an image, top to bottom."""

    def __init__(self, threads: int = 2) -> None:
        from rapidocr_onnxruntime import RapidOCR  # noqa: PLC0415

        # The wheel's default scales the *short* side up to 736 px, which makes a
        # wide screenshot enormous; scaling the long side down to 960 px reads
        # the same text several times faster.
        self._ocr = RapidOCR(
            det_limit_type="max",
            det_limit_side_len=960,
            text_score=MIN_SCORE,
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
        )

    def read(self, rgb: NDArray[np.uint8]) -> str:
        """Return the recognised lines joined by newlines ('' when there is none)."""
        result, _ = self._ocr(rgb)
        if not result:
            return ""
        lines = sorted(result, key=lambda r: (round(r[0][0][1] / 10), r[0][0][0]))
        return "\n".join(str(text).strip() for _, text, _ in lines if str(text).strip())
