"""FusedAdam relies on Keras internals: when a Keras release lacks them it says so in one
line and uses Keras' own Adam update, bit for bit."""

import keras
import numpy as np
import tensorflow as tf

from gan_lab import training


def _train(make, steps=3):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    opt = make(1e-2, beta_1=0.5)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(x) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))

    for i in range(steps):
        step(tf.random.stateless_normal([4, 8], seed=[i, 0]))
    return [w.numpy() for w in model.weights], opt


def test_the_tested_keras_has_the_internals(capsys):
    _, opt = _train(training.FusedAdam, steps=1)
    assert opt._fused, "the pinned Keras should take the fused path"
    assert "lacks" not in capsys.readouterr().err


def test_missing_internals_fall_back_to_keras_adam_with_a_notice(monkeypatch, capsys):
    monkeypatch.setattr(
        training, "FUSED_ADAM_NEEDS", (*training.FUSED_ADAM_NEEDS, "_renamed_by_a_new_keras")
    )
    fallback, opt = _train(training.FusedAdam)
    err = capsys.readouterr().err.strip().splitlines()
    assert not opt._fused
    assert len(err) == 1 and "lacks _renamed_by_a_new_keras" in err[0]
    plain, _ = _train(keras.optimizers.Adam)
    for a, b in zip(fallback, plain):  # the very same update code: identical bits
        np.testing.assert_array_equal(a, b)
