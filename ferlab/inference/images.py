"""Loading any user image safely: bad files get a clear message, odd modes are converted, EXIF
orientation is honoured and large photos are downscaled."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 1600            # photos are downscaled to this for detection and display
MAX_PIXELS = 120_000_000   # refuse beyond this (decompression bombs)
FORMATS = "jpg, png, webp or bmp"


class ImageError(ValueError):
    """An image that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class LoadedImage:
    rgb: np.ndarray          # uint8 H x W x 3, upright, at most MAX_SIDE on its longer side
    notes: tuple[str, ...]   # what was done to it (converted, rotated, downscaled)

    @property
    def gray(self) -> np.ndarray:
        return np.asarray(Image.fromarray(self.rgb).convert("L"))


def load_image(data: bytes, name: str = "image") -> LoadedImage:
    if not data:
        raise ImageError(f"{name} is empty (0 bytes); choose a {FORMATS} photo")
    notes = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            w, h = original = im.size
            if w * h > MAX_PIXELS:
                raise ImageError(f"{name} is {w * h / 1e6:.0f} megapixels; ferlab reads photos up to "
                                 f"{MAX_PIXELS / 1e6:.0f} MP: downscale it first")
            if im.format == "JPEG" and max(w, h) > 2 * MAX_SIDE:
                im.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode big JPEGs at a reduced size
            im.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name} is larger than {MAX_PIXELS / 1e6:.0f} megapixels; downscale it first") from None
    except UnidentifiedImageError as e:
        raise ImageError(f"{name} is not an image ferlab can read ({e.__class__.__name__}); use a {FORMATS} file") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{name} is truncated or damaged ({e}); save it again or choose another photo") from None
    if _exif_rotated(im):
        notes.append("rotated upright (EXIF orientation)")
    im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        im = Image.fromarray(((arr - lo) * (255.0 / max(hi - lo, 1.0))).astype(np.uint8))
        notes.append(f"{'16-bit' if 'I;16' in mode else mode} image scaled to 8-bit")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im.convert("RGBA"))
        notes.append("transparency flattened on white")
    if im.mode == "CMYK":
        notes.append("CMYK converted to RGB")
    im = im.convert("RGB")
    if max(im.size) > MAX_SIDE:
        im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    if max(original) > MAX_SIDE:
        notes.append(f"large photo ({original[0] * original[1] / 1e6:.0f} MP) downscaled from "
                     f"{original[0]}x{original[1]} to {im.size[0]}x{im.size[1]}")
    return LoadedImage(np.asarray(im), tuple(notes))


def _exif_rotated(im: Image.Image) -> bool:
    try:
        return im.getexif().get(0x0112, 1) not in (1, None)
    except Exception:  # noqa: BLE001 - unreadable EXIF means no rotation
        return False
