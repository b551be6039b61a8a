"""BatchNorm: Keras' BatchNormalization, trained through TensorFlow's fused kernel in bfloat16.

Keras 3 normalises a batch with a dozen separate whole-tensor operations (a cast to float32, the
moments, the scale and shift, a cast back, and as many again for the gradient): on a 2-core CPU in
mixed bfloat16, calling the fused kernel instead takes 39% off a training step of the paper's 8-conv
(benchmarks/batchnorm.py; keras-team/keras-core#225, "BatchNorm is slow", is the upstream report). TensorFlow's
FusedBatchNormV3 does the same in one kernel each way (oneDNN's, on CPUs), with its statistics in
float32. So in training, under the TensorFlow backend, on bfloat16 feature maps (mixed_bfloat16),
this layer calls that kernel; everywhere else (inference, float32, where a one-off probe found the
fused kernel slower, JAX, PyTorch, dense layers' 2-D inputs) it is Keras' own layer, line for line.
`benchmarks/batchnorm.py` times both; tests/models/test_batchnorm.py checks that they agree.

The weights, their order and the saved config's fields are Keras' own, so a model built with this
layer takes another's weights as they are (`--init-from`), and `ferlab.models.saved.portable` swaps
it for Keras' BatchNormalization in every file ferlab hands over (plain Keras reads those).
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="ferlab")
class BatchNorm(keras.layers.BatchNormalization):
    def call(self, inputs, training=None, mask=None):
        if training and self.trainable and mask is None and self._fusable(inputs):
            return self._fused_training(inputs)
        return super().call(inputs, training=training, mask=mask)

    def _fusable(self, inputs) -> bool:
        return (keras.backend.backend() == "tensorflow" and keras.backend.standardize_dtype(inputs.dtype) == "bfloat16"
                and len(inputs.shape) == 4 and self.axis in (-1, 3) and not self.renorm and not self.synchronized)

    def _fused_training(self, inputs):
        import tensorflow as tf

        channels = inputs.shape[-1]
        gamma = self.gamma if self.scale else tf.ones(channels)
        beta = self.beta if self.center else tf.zeros(channels)
        outputs, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=inputs, scale=tf.cast(gamma, "float32"), offset=tf.cast(beta, "float32"), mean=tf.zeros(0),
            variance=tf.zeros(0), epsilon=self.epsilon, is_training=True)
        # the kernel normalises with the batch's variance but returns it Bessel-corrected (n / (n - 1));
        # Keras keeps the uncorrected one in its moving average
        n = tf.cast(tf.size(inputs) // channels, "float32")
        variance = variance * (n - 1.0) / n
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return outputs
