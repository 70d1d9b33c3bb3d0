"""Printed-text recognition with RapidOCR (PP-OCRv4 ONNX models inside the wheel).

The recogniser often drops the space between words ("PLATFORM4NORTHBOUND"). Each
line's gaps are therefore measured in the image: a run of ink-free columns at least
:data:`WORD_GAP` of the line's ink height wide, between two recognised characters
with no space between them, is a word boundary. Letter gaps measure at most about
0.31 of the ink height and word gaps at least 0.33 (four fonts, two sizes).
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import numpy as np
from numpy.typing import NDArray

MODEL_NAME = "pp-ocrv4"
MODEL_VERSION = f"rapidocr-onnxruntime-{version('rapidocr-onnxruntime')}+gaps-v1"
MIN_SCORE = 0.8  # lower-scored lines are mostly texture read as letters
WORD_GAP = 0.33  # ink-free width, as a share of the ink height, that separates words
_JOINED = set("-./:,'")  # never split next to these, nor between two digits


class TextReader:
    """Reads the text lines of an image, top to bottom, with spaces between words."""

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
        # Passing any option resets the others to the library's defaults: all are
        # given. ``return_word_box`` adds each character's box to a line.
        result, _ = self._ocr(
            rgb,
            return_word_box=True,
            text_score=MIN_SCORE,
            box_thresh=0.5,
            unclip_ratio=1.6,
        )
        if not result:
            return ""
        lines = sorted(result, key=lambda r: (round(r[0][0][1] / 10), r[0][0][0]))
        texts = (_with_word_gaps(rgb, line) for line in lines)
        return "\n".join(text for text in texts if text)


def _with_word_gaps(rgb: NDArray[np.uint8], line: list[Any]) -> str:
    """Return a line's text with a space at every wide gap the recogniser ran over."""
    box, text = np.asarray(line[0], dtype=float), str(line[1])
    chars = line[3] if len(line) > 3 else None
    if not chars or len(chars) != len(text) or not _level(box):
        return text.strip()
    left = max(0, int(box[:, 0].min()))
    top = max(0, int(box[:, 1].min()))
    crop = rgb[top : int(box[:, 1].max()), left : int(box[:, 0].max())]
    gaps = ink_gaps(crop)
    if not gaps:
        return text.strip()
    centres = [np.asarray(c, dtype=float)[:, 0].mean() - left for c in chars]
    out = list(text)
    for start, end in reversed(gaps):  # right to left: indices stay valid
        k = int(np.searchsorted(centres, (start + end) / 2))
        if 0 < k < len(text) and _splittable(text[k - 1], text[k]):
            out.insert(k, " ")
    return "".join(out).strip()


def _level(box: NDArray[np.float64]) -> bool:
    """Whether a line's box is near horizontal (columns then cross the text)."""
    dx, dy = box[1] - box[0]
    return abs(dy) <= 0.1 * abs(dx)


def _splittable(before: str, after: str) -> bool:
    if " " in (before, after) or before in _JOINED or after in _JOINED:
        return False
    return not (before.isdigit() and after.isdigit())


def ink_gaps(crop: NDArray[np.uint8]) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` columns of word-wide ink-free runs inside a line.

    Ink is whichever side of the mid-grey threshold is the minority, so light text on
    a dark sign works as dark text on paper does.
    """
    if crop.size == 0:
        return []
    grey = crop.mean(axis=2) if crop.ndim == 3 else crop.astype(float)
    low, high = float(grey.min()), float(grey.max())
    if high - low < 32:
        return []
    ink = grey < (low + high) / 2
    if ink.mean() > 0.5:
        ink = ~ink
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    height = rows[-1] - rows[0] + 1
    gaps, run_start = [], None
    for x in range(cols[0], cols[-1] + 1):
        inked = ink[:, x].any()
        if not inked and run_start is None:
            run_start = x
        elif inked and run_start is not None:
            if x - run_start >= WORD_GAP * height:
                gaps.append((run_start, x))
            run_start = None
    return gaps
