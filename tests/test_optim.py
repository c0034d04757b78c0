"""Optimizers: FusedAdam equals Keras' Adam (and falls back to it, saying so), LinearDecay's
schedule, and ``adam`` adds loss scaling under mixed_float16 only."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_lab import optim, runtime


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
    _, opt = _train(optim.FusedAdam, steps=1)
    assert opt._fused, "the pinned Keras should take the fused path"
    assert "lacks" not in capsys.readouterr().err


def test_missing_internals_fall_back_to_keras_adam_with_a_notice(monkeypatch, capsys):
    monkeypatch.setattr(
        optim, "FUSED_ADAM_NEEDS", (*optim.FUSED_ADAM_NEEDS, "_renamed_by_a_new_keras")
    )
    fallback, opt = _train(optim.FusedAdam)
    err = capsys.readouterr().err.strip().splitlines()
    assert not opt._fused
    assert len(err) == 1 and "lacks _renamed_by_a_new_keras" in err[0]
    plain, _ = _train(keras.optimizers.Adam)
    for a, b in zip(fallback, plain):  # the very same update code: identical bits
        np.testing.assert_array_equal(a, b)


# FusedAdam vs Keras Adam on the same gradients, step by step. The gradients are fixed
# (not computed from the weights), so a difference does not feed back: near g = 0 Adam's
# step lr * m / (sqrt(v) + eps) has a slope of ~lr / eps, and feeding back weight
# differences through the gradients would amplify rounding into anything. Per step, the two
# evaluate the same formula in float32: ~10 operations (10 u of lr), plus Keras taking
# 1 - beta_2 from the Python float where ResourceApplyAdam uses float32(0.999), whose
# rounding (u * 0.999) is u * 0.999 / 0.001 ~ 6e-5 relative to 1 - beta_2 and to the step
# size; plus rounding the updated weight (half an ulp of |w| <= 1, each). Summed over STEPS.
# A wrong formula (bias correction, epsilon placement, beta_1 for beta_2) is off by >= 1e-3
# of lr per step.
STEPS = 5
U = 2.0**-24
ADAM_STEP_ERROR = (10 + 0.999 / 0.001) * U * 1e-2 + float(np.spacing(np.float32(1.0)))


def test_fused_adam_matches_keras_adam_and_shares_its_checkpoints(tmp_path):
    rng = np.random.default_rng(0)
    shapes = [(8, 16), (16,), (16, 1), (1,)]
    initial = [rng.uniform(-0.5, 0.5, s).astype("float32") for s in shapes]
    # Gradients over five orders of magnitude, some exactly 0, signs changing over steps.
    grads = [
        [(rng.normal(size=s) * 10.0 ** rng.integers(-6, 0, s)).astype("float32") for s in shapes]
        for _ in range(STEPS)
    ]
    grads[0][1][:4] = 0.0

    def run(make):
        variables = [tf.Variable(w) for w in initial]
        opt = make(1e-2, beta_1=0.5)

        @tf.function
        def step(gs):
            opt.apply_gradients(zip(gs, variables))

        for gs in grads:
            step([tf.constant(g) for g in gs])
        return variables, opt

    plain, plain_opt = run(keras.optimizers.Adam)
    fused, fused_opt = run(optim.FusedAdam)
    for w0, a, b in zip(initial, plain, fused):
        assert np.abs(a.numpy() - w0).max() > 1e-3  # both really stepped (~lr per step)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=STEPS * ADAM_STEP_ERROR)
    path = tf.train.Checkpoint(opt=fused_opt).write(str(tmp_path / "ckpt"))
    tf.train.Checkpoint(opt=plain_opt).read(path).assert_existing_objects_matched()


def test_linear_decay_schedule_boundaries():
    # float32 schedule values: within an ulp or two of 2e-4 * fraction (rel ~1e-7), inside
    # pytest.approx's default rel=1e-6; the ends are exact.
    lr = optim.LinearDecay(2e-4, constant_steps=100, decay_steps=100)
    assert float(lr(0)) == pytest.approx(2e-4) and float(lr(100)) == pytest.approx(2e-4)
    assert float(lr(150)) == pytest.approx(1e-4) and float(lr(200)) == 0.0
    assert float(lr(500)) == 0.0
    with pytest.raises(ValueError, match="decay_steps"):
        optim.LinearDecay(2e-4, 10, 0)


def test_adam_is_loss_scaled_under_mixed_float16_only():
    try:
        for precision, scaled in [
            ("float32", False),
            ("mixed_bfloat16", False),
            ("mixed_float16", True),
        ]:
            runtime.set_precision(precision)
            opt = optim.adam(2e-4, 0.5)
            assert isinstance(opt, keras.optimizers.LossScaleOptimizer) is scaled, precision
            inner = opt.inner_optimizer if scaled else opt
            assert isinstance(inner, optim.FusedAdam) and float(inner.beta_1) == 0.5
    finally:
        keras.mixed_precision.set_global_policy("float32")
