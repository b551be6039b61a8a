"""Training speed as the benchmarks measure it: the median batch of one fit, after a warm-up.

Timing a whole second `fit` instead counts whatever that call sets up again (a step traced anew,
for one), which here made the same model read 37 or 70 images/s from one run to the next."""

from __future__ import annotations

import time

import keras
import numpy as np


class BatchTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds, self.start = [], None

    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def random_faces(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n random grey 48x48 faces (whole grey levels 0-255, as FER2013's) and one-hot labels."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 48, 48, 1)).astype("float32"),
            np.eye(7, dtype="float32")[rng.integers(0, 7, n)])


def images_per_second(model: keras.Model, batches: int, warmup: int = 8, batch_size: int = 32) -> float:
    """Images a second of `model` (compiled) fitting `warmup + batches` batches of random faces,
    from the median time of a batch after the warm-up."""
    x, y = random_faces((batches + warmup) * batch_size)
    timer = BatchTimes()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, callbacks=[timer])
    return batch_size / float(np.median(timer.seconds[warmup:]))
