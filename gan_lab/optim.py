"""Optimizers and learning-rate schedules for the GAN steps.

``adam`` makes the optimizer every lesson uses: ``FusedAdam`` (Keras' Adam with a fused
update), loss-scaled under mixed_float16. ``LinearDecay`` is CycleGAN's schedule.
"""

from __future__ import annotations

import sys

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="gan_lab")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant learning rate, then a linear decay to zero (CycleGAN's schedule).

    ``lr(step) = lr0`` for ``step <= constant_steps``, falling linearly to 0 at
    ``constant_steps + decay_steps`` and staying 0 after. CycleGAN: 100 epochs constant,
    100 epochs of decay.

    Args:
        initial_learning_rate: lr0.
        constant_steps: steps at lr0.
        decay_steps: steps of linear decay.
    """

    def __init__(self, initial_learning_rate: float, constant_steps: int, decay_steps: int):
        if initial_learning_rate <= 0 or constant_steps < 0 or decay_steps < 1:
            raise ValueError(
                "Need initial_learning_rate > 0, constant_steps >= 0, decay_steps >= 1. "
                f"Received: {initial_learning_rate}, {constant_steps}, {decay_steps}"
            )
        self.initial_learning_rate = initial_learning_rate
        self.constant_steps = constant_steps
        self.decay_steps = decay_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        done = tf.clip_by_value((step - self.constant_steps) / self.decay_steps, 0.0, 1.0)
        return self.initial_learning_rate * (1.0 - done)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "constant_steps": self.constant_steps,
            "decay_steps": self.decay_steps,
        }


FUSED_ADAM_NEEDS = ("_get_variable_index", "_momentums", "_velocities", "iterations")
"""The Keras internals ``FusedAdam`` uses (Keras 3.15)."""


@keras.saving.register_keras_serializable(package="gan_lab")
class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam with each variable's update done by one fused kernel.

    Keras 3 writes Adam's update as about ten element-wise operations per variable, each a
    pass over memory with a temporary as large as the variable. For the 54 M-parameter
    Pix2Pix U-Net that is a quarter of a float32 step on a CPU, and a third of a bf16 one,
    since mixed precision speeds up the convolutions but not the float32 update.
    TensorFlow's ``ResourceApplyAdam`` does the same arithmetic in one pass. The maths is
    identical (Kingma & Ba's "epsilon hat" form, as Keras), and so are the variables, so
    checkpoints are interchangeable with ``keras.optimizers.Adam``. Falls back to Keras'
    update for AMSGrad and non-TensorFlow backends, and, with a one-line notice, when a
    Keras version lacks the private attributes it relies on (``FUSED_ADAM_NEEDS``; the
    tested versions are pinned in requirements.txt and capped in pyproject.toml).
    """

    def build(self, var_list):
        super().build(var_list)
        # (the slots' ``.handle`` is not checked here: under a tf.distribute strategy it
        # exists only in the replica context that ``update_step`` runs in)
        missing = [name for name in FUSED_ADAM_NEEDS if not hasattr(self, name)]
        self._fused = not missing
        if missing:
            print(
                f"gan_lab: Keras {keras.__version__} lacks {', '.join(missing)}; FusedAdam "
                "uses Keras' own Adam update instead (same maths, slower).",
                file=sys.stderr,
            )

    def update_step(self, gradient, variable, learning_rate):
        fused = getattr(self, "_fused", False)
        if not fused or self.amsgrad or keras.backend.backend() != "tensorflow":
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        tf.raw_ops.ResourceApplyAdam(
            var=getattr(variable, "handle", variable),
            m=m.handle,
            v=v.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
            use_locking=False,
        )


def adam(learning_rate, beta_1: float, beta_2: float = 0.999):
    """An Adam optimizer (``FusedAdam``) for the current precision policy.

    Under ``mixed_float16`` it is wrapped in ``keras.optimizers.LossScaleOptimizer``, which
    scales losses up (``scale_loss``) and gradients back down, skipping steps whose
    gradients overflowed; under float32 and mixed_bfloat16 it is plain (fused) Adam.

    Args:
        learning_rate: a float or a schedule (e.g. ``LinearDecay``).
        beta_1: decay of the first moment (the GAN papers use 0.5, Keras' default is 0.9).
        beta_2: decay of the second moment (default 0.999, Keras' default).

    Returns:
        A ``FusedAdam``, or a ``LossScaleOptimizer`` around one under mixed_float16.
    """
    optimizer = FusedAdam(learning_rate, beta_1=beta_1, beta_2=beta_2)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
