"""CNN builders for 48x48 grayscale faces.

The paper (Sarmah et al., 2023) names its models by their number of conv layers and publishes
the tuned search space, the 8-conv parameter count (5,228,487) and the training recipe, but not
the exact layer list. Everything below marked RECONSTRUCTION is our choice, made to match what
the paper does publish (layer counts, the search space, the parameter count within 2%).

Every model takes raw grey levels (0..255, shape 48x48x1) and rescales them itself, so a saved
model carries its own preprocessing. Augmentation layers, when given, sit right after the input:
Keras runs them in training only.
"""

from __future__ import annotations

import keras
from keras import layers

from ferlab.labels import IMAGE_SIZE, NUM_CLASSES
from ferlab.models.batchnorm import BatchNorm
from ferlab.models.config import ARCHITECTURES, DEFAULTS, ModelConfig

# Which conv layers are followed by max pooling (the 48x48 map ends at 3x3 or 1x1).
_POOL_AFTER = {
    "4conv": (0, 1, 2, 3),              # 48 -> 24 -> 12 -> 6 -> 3
    "5conv": (0, 1, 2, 3, 4),           # 48 -> 24 -> 12 -> 6 -> 3 -> 1
    "8conv": (1, 3, 5, 7),              # pairs of convs, as in VGG
    "compact": (2, 4),                  # after the stride-2 stem: 24 -> 12 -> 6
}
_KERNEL = {"4conv": (3, 5, 3, 3)}       # RECONSTRUCTION: the baseline's 5x5 second layer


# BatchNorm's moving statistics with Keras' default momentum (0.99) need ~500 steps to settle: on
# small data sets (the demo set: 35 steps an epoch) inference then collapses to one class while
# training accuracy climbs. 0.9 (PyTorch's default) settles within tens of steps.
BN_MOMENTUM = 0.9


def _conv_bn_relu(x, filters: int, kernel: int, strides: int = 1):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
    x = BatchNorm(momentum=BN_MOMENTUM)(x)
    return layers.Activation("relu")(x)


def build_model(config: ModelConfig, augmentation: keras.Layer | None = None,
                name: str | None = None) -> keras.Model:
    """Build (uncompiled) the CNN that `config` describes."""
    arch = config.architecture
    if arch not in _POOL_AFTER:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    expected = len(DEFAULTS[arch].filters)
    if len(config.filters) != expected:
        raise ValueError(f"{arch} needs {expected} filter counts, got {len(config.filters)}")

    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="face")
    x = augmentation(inputs) if augmentation is not None else inputs
    x = layers.Rescaling(1.0 / 255.0, name="rescale")(x)
    pools = _POOL_AFTER[arch]
    kernels = _KERNEL.get(arch, (3,) * expected)
    for i, filters in enumerate(config.filters):
        stride = 2 if (arch == "compact" and i == 0) else 1
        x = _conv_bn_relu(x, filters, kernels[i], stride)
        if i in pools:
            x = layers.MaxPooling2D(2)(x)
            if config.conv_dropout > 0:
                x = layers.Dropout(config.conv_dropout)(x)
    if arch == "compact":
        x = layers.GlobalAveragePooling2D()(x)
    else:
        x = layers.Flatten()(x)
    for units in config.dense_units:
        x = layers.Dense(units, use_bias=False)(x)
        x = BatchNorm(momentum=BN_MOMENTUM)(x)
        x = layers.Activation("relu")(x)
        if config.dense_dropout > 0:
            x = layers.Dropout(config.dense_dropout)(x)
    # Softmax in float32 so mixed precision keeps probabilities exact.
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name=name or f"ferlab_{arch}")
