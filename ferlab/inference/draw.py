"""Boxes and labels drawn on images and video frames."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ferlab.labels import CLASSES

COLOURS = {"angry": (220, 50, 47), "disgust": (133, 153, 0), "fear": (108, 113, 196), "happy": (250, 190, 0),
           "sad": (38, 139, 210), "surprise": (211, 54, 130), "neutral": (147, 161, 161)}


def annotate(rgb: np.ndarray, faces, numbered: bool = False) -> np.ndarray:
    """`faces`: objects with .box, .label and .confidence. Returns a new RGB array."""
    im = Image.fromarray(rgb)
    draw = ImageDraw.Draw(im)
    size = max(12, min(im.size) // 40)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # older Pillow
        font = ImageFont.load_default()
    width = max(2, min(im.size) // 250)
    for i, f in enumerate(faces, start=1):
        b, colour = f.box, COLOURS.get(f.label, (255, 255, 255))
        draw.rectangle([b.x, b.y, b.x + b.w, b.y + b.h], outline=colour, width=width)
        text = f"{f'{i}: ' if numbered else ''}{f.label} {f.confidence:.0%}"
        tw, th = draw.textbbox((0, 0), text, font=font)[2:]
        ty = b.y - th - 4 if b.y - th - 4 > 0 else b.y + b.h + 2
        draw.rectangle([b.x, ty, b.x + tw + 6, ty + th + 4], fill=colour)
        draw.text((b.x + 3, ty + 1), text, fill=(0, 0, 0), font=font)
    return np.asarray(im)


def probabilities_frame(faces):
    import pandas as pd

    return pd.DataFrame([{"face": i, "emotion": c, "probability": p}
                         for i, f in enumerate(faces, start=1) for c, p in zip(CLASSES, f.probabilities)])
