"""FaceAugment: the training augmentation as one batched Keras layer, written in `keras.ops` so that
it runs as a handful of whole-batch operations under TensorFlow, JAX and PyTorch alike.

Keras' own RandomRotation, RandomZoom and RandomTranslation resample the batch three times, and
under PyTorch (Keras 3.15) one image at a time in a Python loop; here one affine map per face
(flip, rotation, zoom, shift together) is sampled once, bilinearly, with the nearest edge pixel
repeated outside the face, as Keras' layers and the paper's ImageDataGenerator (fill_mode
"nearest") do. Random erasing (Zhong et al., 2017, arXiv:1708.04896) is a mask on the result.

The distributions are those of ferlab's earlier Keras-layer pipeline: rotation uniform in
+-`rotation` degrees, one zoom factor in 1 +- `zoom` for both axes, shifts uniform in +-`shift` of
each side, a horizontal flip for half the faces; erasing picks each side of the rectangle as
sqrt(U(erasing_scale)) of the face's, a uniform position inside it, and fills it with clipped noise
(normal x 255). The layer is active in training only. A run's checkpoints name it, so loading one
needs this module imported: read saved models with `ferlab.models.saved.load`, which does. The
models ferlab hands over (a run's model.keras, ensembles, the shipped default) have it swapped for
Keras' Identity by `ferlab.models.saved.portable`, and load without ferlab.

`mirror()` is the face's mirror image made of Keras' own layers (a fixed permutation matrix), so that
a model that averages each face with its mirror image loads in plain Keras; MirrorFace, ferlab's own
layer for it, stays registered for the files written with it.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="ferlab")
class FaceAugment(keras.layers.Layer):
    def __init__(self, rotation: float = 10.0, zoom: float = 0.1, shift: float = 0.1, flip: bool = True,
                 erasing: float = 0.0, erasing_scale: tuple[float, float] = (0.02, 0.33),
                 seed: int | None = None, **kwargs):
        kwargs.setdefault("dtype", "float32")     # coordinates and grey levels stay exact under mixed precision
        super().__init__(**kwargs)
        if not 0.0 <= erasing <= 1.0:
            raise ValueError(f"erasing is a probability, got {erasing}")
        if not 0.0 < erasing_scale[0] <= erasing_scale[1] <= 1.0:
            raise ValueError(f"erasing_scale must satisfy 0 < low <= high <= 1, got {erasing_scale}")
        self.rotation, self.zoom, self.shift, self.flip = float(rotation), float(zoom), float(shift), bool(flip)
        self.erasing, self.erasing_scale = float(erasing), tuple(float(v) for v in erasing_scale)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)   # found by training.augment.EpochSeeds

    def call(self, images, training=None):
        if not training:
            return images
        x = ops.cast(images, "float32")
        height, width = x.shape[1], x.shape[2]
        u = keras.random.uniform((ops.shape(x)[0], 10), seed=self.generator)
        x = self._affine(x, u[:, :5], height, width)
        if self.erasing > 0:
            x = self._erase(x, u[:, 5:], height, width)
        return ops.cast(x, images.dtype)

    def _affine(self, x, u, height, width):
        """Each output pixel reads the input at flip -> rotate -> zoom -> shift of its position,
        measured from the centre."""
        signed = u * 2.0 - 1.0                                          # uniform in [-1, 1)
        angle = signed[:, 0] * (self.rotation * math.pi / 180.0)
        scale = 1.0 + signed[:, 1] * self.zoom
        tx, ty = signed[:, 2] * (self.shift * width), signed[:, 3] * (self.shift * height)
        mirror = ops.where(u[:, 4] < 0.5, -1.0, 1.0) if self.flip else ops.ones_like(angle)
        cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
        rows = ops.arange(height, dtype="float32")[None, :, None] - cy      # (1, H, 1)
        cols = ops.arange(width, dtype="float32")[None, None, :] - cx       # (1, 1, W)
        per_face = [v[:, None, None] for v in (angle, scale, tx, ty, mirror)]
        angle, scale, tx, ty, mirror = per_face
        cos, sin = ops.cos(angle), ops.sin(angle)
        cols = cols * mirror
        src_x = scale * (cos * cols - sin * rows) + cx + tx               # (B, H, W)
        src_y = scale * (sin * cols + cos * rows) + cy + ty
        return bilinear(x, src_x, src_y)

    def _erase(self, x, u, height, width):
        low, high = self.erasing_scale
        side_w = ops.sqrt(low + u[:, 0] * (high - low)) * width
        side_h = ops.sqrt(low + u[:, 1] * (high - low)) * height
        left = u[:, 2] * (width - side_w)
        top = u[:, 3] * (height - side_h)
        apply = u[:, 4] < self.erasing
        rows = ops.arange(height, dtype="float32")[None, :, None, None]
        cols = ops.arange(width, dtype="float32")[None, None, :, None]
        box = [v[:, None, None, None] for v in (left, top, side_w, side_h)]
        left, top, side_w, side_h = box
        inside = (cols >= left) & (cols < left + side_w) & (rows >= top) & (rows < top + side_h)
        inside = inside & apply[:, None, None, None]
        noise = ops.clip(keras.random.normal(ops.shape(x), seed=self.generator) * 255.0, 0.0, 255.0)
        return ops.where(inside, noise, x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "zoom": self.zoom, "shift": self.shift,
                "flip": self.flip, "erasing": self.erasing, "erasing_scale": list(self.erasing_scale),
                "seed": self.seed}


def bilinear(images, src_x, src_y):
    """`images` (B, H, W, C) read at float positions `src_x`, `src_y` (B, H, W), bilinearly; a
    position outside the image reads its nearest edge pixel."""
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    src_x = ops.clip(src_x, 0.0, width - 1.0)
    src_y = ops.clip(src_y, 0.0, height - 1.0)
    x0, y0 = ops.floor(src_x), ops.floor(src_y)
    fx, fy = (src_x - x0)[..., None], (src_y - y0)[..., None]
    x0, y0 = ops.cast(x0, "int32"), ops.cast(y0, "int32")
    x1, y1 = ops.minimum(x0 + 1, width - 1), ops.minimum(y0 + 1, height - 1)
    flat = ops.reshape(images, (-1, height * width * channels))
    offsets = ops.arange(channels, dtype="int32")

    def read(y, x):
        index = ops.reshape((y * width + x) * channels, (-1, height * width, 1)) + offsets
        values = ops.take_along_axis(flat, ops.reshape(index, (-1, height * width * channels)), axis=1)
        return ops.reshape(values, (-1, height, width, channels))

    top = read(y0, x0) * (1.0 - fx) + read(y0, x1) * fx
    bottom = read(y1, x0) * (1.0 - fx) + read(y1, x1) * fx
    return top * (1.0 - fy) + bottom * fy


MIRROR_EQUATION = "bhwc,wv->bhvc"      # column w of the face goes to column v of the mirror image


def mirror(shape: tuple[int, int, int], name: str = "mirror") -> keras.layers.EinsumDense:
    """A layer giving the mirror image (left and right swapped) of faces of `shape` (height, width,
    channels), always, in training and inference alike, made of Keras' own EinsumDense: the columns
    times a fixed, frozen width x width permutation matrix (ones on the anti-diagonal). It is exact
    in float32: each output is one input times 1 plus zeros (and whole grey levels 0-255 stay exact
    even where a GPU multiplies in TF32 or bfloat16). Its matrix is a constant, saved with the weights
    (48 x 48 numbers for a FER face), not something learnt."""
    height, width, channels = shape
    layer = keras.layers.EinsumDense(MIRROR_EQUATION, output_shape=(height, width, channels), name=name,
                                     trainable=False, dtype="float32")
    layer.build((None, height, width, channels))
    layer.kernel.assign(_reversal(width))
    return layer


def _reversal(n: int) -> np.ndarray:
    """The n x n matrix that reverses the order of n columns (ones on the anti-diagonal)."""
    return np.eye(n, dtype="float32")[::-1]


def is_mirror(layer: keras.layers.Layer) -> bool:
    """Whether `layer` gives the mirror image of its input: a `mirror()` layer (recognised by its
    equation and its anti-diagonal matrix) or a MirrorFace."""
    if isinstance(layer, MirrorFace):
        return True
    if not (isinstance(layer, keras.layers.EinsumDense) and layer.equation == MIRROR_EQUATION and layer.built):
        return False
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    return np.array_equal(kernel, _reversal(len(kernel)))     # False for a matrix of another shape too


@keras.saving.register_keras_serializable(package="ferlab")
class MirrorFace(keras.layers.Layer):
    """The face's mirror image, as ferlab's ensembles built it before `mirror()`: kept so that their
    files still load (ferlab.models.saved.portable swaps it for `mirror()`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def call(self, images):
        return ops.flip(images, axis=2)

    def compute_output_shape(self, input_shape):
        return input_shape
