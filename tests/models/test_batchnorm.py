"""ferlab's BatchNorm trains as Keras' BatchNormalization does, through TensorFlow's fused kernel in
bfloat16, and is Keras' own layer everywhere else."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from ferlab.models.batchnorm import BatchNorm

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the fused path is TensorFlow's")


@pytest.fixture
def bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def _pair(channels: int):
    """A BatchNorm and a Keras BatchNormalization with the same (non-trivial) weights."""
    ours, theirs = BatchNorm(momentum=0.9), keras.layers.BatchNormalization(momentum=0.9)
    rng = np.random.default_rng(1)
    for layer in (ours, theirs):
        layer.build((None, 6, 6, channels))
    weights = [rng.normal(1, 0.2, channels), rng.normal(0, 0.2, channels), rng.normal(0, 1, channels),
               rng.uniform(0.5, 2, channels)]
    for layer in (ours, theirs):
        layer.set_weights([w.astype("float32") for w in weights])
    return ours, theirs


def _ops(layer, x, training: bool) -> set[str]:
    graph = tf.function(lambda t: layer(t, training=training)).get_concrete_function(
        tf.TensorSpec(x.shape, x.dtype)).graph
    return {op.type for op in graph.get_operations()}


def test_in_bfloat16_training_it_runs_the_fused_kernel_and_matches_keras(bfloat16):
    ours, theirs = _pair(16)
    rng = np.random.default_rng(2)
    x = tf.cast(rng.normal(3, 2, (8, 6, 6, 16)), "bfloat16")
    upstream = tf.constant(rng.normal(0, 1, (8, 6, 6, 16)), "float32")
    assert "FusedBatchNormV3" in _ops(ours, x, training=True)
    assert "FusedBatchNormV3" not in _ops(theirs, x, training=True)

    def run(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.cast(y, "float32") * upstream)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        return [y] + grads + [layer.moving_mean, layer.moving_variance]

    for a, b, name in zip(run(ours), run(theirs), ["output", "d/dx", "d/dgamma", "d/dbeta", "moving mean",
                                                   "moving variance"]):
        a, b = (np.asarray(tf.cast(v, "float32")) for v in (a, b))
        assert a.dtype == b.dtype and a.shape == b.shape, name
        # bfloat16 keeps 8 bits of mantissa: both round their bfloat16 output, in other orders
        np.testing.assert_allclose(a, b, rtol=2e-2, atol=2e-2 * np.abs(b).max(), err_msg=name)
    assert ours(x, training=True).dtype == theirs(x, training=True).dtype == "bfloat16"


def test_the_moving_variance_is_the_uncorrected_one_keras_keeps(bfloat16):
    """The fused kernel returns the batch variance times n / (n - 1): with 2 values a channel that is
    twice the variance, which the layer must undo before averaging it in."""
    ours, theirs = _pair(3)
    x = tf.cast(np.random.default_rng(3).normal(0, 4, (2, 1, 1, 3)), "bfloat16")
    ours(x, training=True)
    theirs(x, training=True)
    np.testing.assert_allclose(np.asarray(ours.moving_variance), np.asarray(theirs.moving_variance), rtol=1e-3)


def test_elsewhere_it_is_keras_own_layer(bfloat16):
    ours, theirs = _pair(16)
    x = tf.cast(np.random.default_rng(4).normal(0, 1, (4, 6, 6, 16)), "bfloat16")
    assert "FusedBatchNormV3" not in _ops(ours, x, training=False)        # inference: moving statistics
    np.testing.assert_array_equal(np.asarray(tf.cast(ours(x, training=False), "float32")),
                                  np.asarray(tf.cast(theirs(x, training=False), "float32")))
    keras.mixed_precision.set_global_policy("float32")
    ours32, theirs32 = _pair(16)
    x32 = tf.cast(x, "float32")
    assert "FusedBatchNormV3" not in _ops(ours32, x32, training=True)     # float32: measured slower fused
    np.testing.assert_array_equal(np.asarray(ours32(x32, training=True)), np.asarray(theirs32(x32, training=True)))
    dense = BatchNorm()
    assert "FusedBatchNormV3" not in _ops(dense, tf.zeros((4, 8), "float32"), training=True)   # 2-D input


def test_a_model_trained_with_it_saves_loads_and_hands_over_plain_keras(bfloat16, tmp_path):
    from ferlab.models import DEFAULTS
    from ferlab.models.builders import build_model
    from ferlab.models.saved import load, modules, save

    model = build_model(DEFAULTS["compact"])
    assert {type(layer) for layer in model.layers} >= {BatchNorm}
    model.compile("adam", "categorical_crossentropy")
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (32, 48, 48, 1)).astype("float32")
    model.fit(x, np.eye(7)[rng.integers(0, 7, 32)], batch_size=16, epochs=1, verbose=0)
    checkpoint = tmp_path / "best.keras"
    model.save(checkpoint)
    assert "ferlab" in modules(checkpoint) and BatchNorm in {type(layer) for layer in load(checkpoint).layers}
    handed = save(model, tmp_path / "model.keras", portable=True)
    assert modules(handed) == {"keras"} and BatchNorm not in {type(layer) for layer in load(handed).layers}
    np.testing.assert_array_equal(load(handed).predict(x, verbose=0), model.predict(x, verbose=0))
