import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_lab import data, models, steps, training, viz


def tiny_gan(seed=0):
    keras.utils.set_random_seed(seed)
    g = models.build_dcgan_generator(latent_dim=8, width=4)
    d = models.build_dcgan_discriminator(width=4)
    g_opt, d_opt = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
    step = steps.make_gan_step(g, d, g_opt, d_opt)
    parts = {"generator": g, "discriminator": d, "g_optimizer": g_opt, "d_optimizer": d_opt}
    return step, parts


def tiny_dataset(n=32, batch=8):
    x, _ = data.synthetic_digits(n, seed=0)
    return data.to_dataset(x, batch, seed=0)


@pytest.mark.parametrize("compiled", [True, False])
def test_one_step_updates_both_networks_with_finite_losses(compiled):
    step, parts = tiny_gan()
    fn = tf.function(step) if compiled else step
    g_before = [w.numpy().copy() for w in parts["generator"].trainable_weights]
    d_before = [w.numpy().copy() for w in parts["discriminator"].trainable_weights]
    logs = fn(next(iter(tiny_dataset())))
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    # Adam's first step moves every entry with a gradient by ~lr = 1e-3, far above
    # allclose's tolerance (1e-5 |w| + 1e-8): "not allclose" means the step ran.
    for before, w in zip(g_before, parts["generator"].trainable_weights):
        assert not np.allclose(before, w.numpy())
    for before, w in zip(d_before, parts["discriminator"].trainable_weights):
        assert not np.allclose(before, w.numpy())


def test_step_takes_batch_size_from_the_batch():
    step, _ = tiny_gan()
    # One trace with an unknown batch size (what reduce_retracing gives the Trainer after
    # a second batch size): a step that reads a fixed batch size fails here.
    fn = tf.function(step, input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)])
    for n in (3, 5):
        assert np.isfinite(float(fn(tf.zeros((n, 28, 28, 1)))["g_loss"]))


def test_fit_logs_history_frames_tensorboard_and_checkpoint(tmp_path):
    step, parts = tiny_gan()
    z = tf.random.normal([4, 8], seed=1)
    trainer = training.Trainer(
        step,
        tmp_path / "run",
        parts,
        title="test",
        sample_fn=lambda: viz.image_grid(parts["generator"](z, training=False)),
        sample_every=3,
        log_every=2,
        checkpoint_every=4,
    )
    history = trainer.fit(tiny_dataset(), steps=9, progress=False)  # 4 batches per epoch
    assert int(trainer.step) == 9
    assert history["step"] == [2, 4, 6, 8, 9]
    assert [p.name for p in trainer.frames] == [f"step_{s:06d}.png" for s in (0, 3, 6, 9)]
    assert list((tmp_path / "run" / "tensorboard").iterdir())
    assert trainer.latest_checkpoint.endswith("step_000009/ckpt")
    assert json.loads((tmp_path / "run" / "history.json").read_text())["step"][-1] == 9


def test_fit_by_epochs_uses_dataset_length(tmp_path):
    step, parts = tiny_gan()
    trainer = training.Trainer(step, tmp_path / "run", parts, compile=False)  # only counting
    trainer.fit(tiny_dataset(n=32, batch=8), epochs=2, progress=False)
    assert int(trainer.step) == 8


def test_checkpoint_restore_gives_identical_generator_output(tmp_path):
    step, parts = tiny_gan(seed=0)
    trainer = training.Trainer(step, tmp_path / "run", parts)
    trainer.fit(tiny_dataset(), steps=3, progress=False)
    z = tf.random.normal([4, 8], seed=2)
    expected = parts["generator"](z, training=False).numpy()

    step2, parts2 = tiny_gan(seed=99)  # different initial weights
    assert not np.allclose(parts2["generator"](z, training=False).numpy(), expected)
    restored = training.Trainer(step2, tmp_path / "run", parts2, resume=True)
    assert int(restored.step) == 3
    # Exact: the same weights (restored bit for bit) through the same kernels, same process.
    np.testing.assert_array_equal(parts2["generator"](z, training=False).numpy(), expected)


def test_resume_continues_step_counter_and_optimizer_state(tmp_path):
    step, parts = tiny_gan()  # eager steps (compile=False): counting, not numerics
    trainer = training.Trainer(step, tmp_path / "run", parts, log_every=1, compile=False)
    trainer.fit(tiny_dataset(), steps=4, progress=False)

    step2, parts2 = tiny_gan(seed=5)
    resumed = training.Trainer(
        step2, tmp_path / "run", parts2, log_every=1, resume=True, compile=False
    )
    assert int(parts2["g_optimizer"].iterations) == 4
    history = resumed.fit(tiny_dataset(), steps=6, progress=False)
    assert int(resumed.step) == 6 and int(parts2["g_optimizer"].iterations) == 6
    assert history["step"] == [1, 2, 3, 4, 5, 6]


def test_existing_run_is_not_overwritten(tmp_path):
    step, parts = tiny_gan()
    training.Trainer(step, tmp_path / "run", parts).save()  # a checkpoint (step 0)
    before = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    with pytest.raises(FileExistsError, match="resume=True"):
        training.Trainer(step, tmp_path / "run", parts)
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == before


def test_nan_loss_stops_with_step_and_loss_named(tmp_path):
    calls = {"n": 0}
    v = tf.Variable(1.0)

    def step(batch):
        v.assign_add(1.0)
        return {"loss": tf.cond(v > 3.0, lambda: tf.constant(np.nan), lambda: tf.constant(0.5))}

    trainer = training.Trainer(
        step,
        tmp_path / "run",
        {"v": v},
        log_every=1,
        checkpoint_every=1,
        callbacks=[lambda t, s, logs: calls.update(n=s)],
    )
    with pytest.raises(FloatingPointError, match=r"step 3: \{'loss': nan\}"):
        trainer.fit(tiny_dataset(), steps=10, progress=False)
    assert trainer.latest_checkpoint.endswith("step_000002/ckpt")
    assert calls["n"] == 2  # callbacks ran for every good step


def test_bad_fit_arguments_are_named(tmp_path):
    step, parts = tiny_gan()
    trainer = training.Trainer(step, tmp_path / "run", parts)
    with pytest.raises(ValueError, match="exactly one of steps or epochs"):
        trainer.fit(tiny_dataset(), progress=False)
    with pytest.raises(ValueError, match="steps=-1"):
        trainer.fit(tiny_dataset(), steps=-1, progress=False)
    with pytest.raises(ValueError, match="no batches"):
        trainer.fit(tiny_dataset().take(0), steps=2, progress=False)


def test_run_dir_that_is_a_file_is_refused(tmp_path):
    step, parts = tiny_gan()
    (tmp_path / "run").write_text("precious")
    with pytest.raises(NotADirectoryError, match="run"):
        training.Trainer(step, tmp_path / "run", parts)
    assert (tmp_path / "run").read_text() == "precious"


@pytest.mark.parametrize("gan_weight, compiled", [(1.0, True), (0.0, False)])
def test_pix2pix_step_updates_weights_with_finite_losses(gan_weight, compiled):
    keras.utils.set_random_seed(0)
    g = models.build_unet_generator(32, base_filters=8, max_filters=16)
    d = models.build_patchgan_discriminator(base_filters=8)
    g_opt, d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)
    step = steps.make_pix2pix_step(g, d, g_opt, d_opt, gan_weight=gan_weight)
    step = tf.function(step) if compiled else step  # compiling costs seconds: once is enough
    batch = (tf.random.uniform([2, 32, 32, 3], -1, 1), tf.random.uniform([2, 32, 32, 3], -1, 1))
    g_before = [w.numpy().copy() for w in g.trainable_weights]
    d_before = [w.numpy().copy() for w in d.trainable_weights]
    logs = step(batch)
    assert set(logs) == {"gen_total", "gen_gan", "gen_l1", "disc"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    # Adam's first step: ~lr = 2e-4 per entry, >> allclose's 1e-5 |w| + 1e-8 for |w| < 1.
    assert all(not np.allclose(a, w.numpy()) for a, w in zip(g_before, g.trainable_weights))
    d_moved = [not np.allclose(a, w.numpy()) for a, w in zip(d_before, d.trainable_weights)]
    assert all(d_moved) if gan_weight else not any(d_moved)


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
    fused, fused_opt = run(training.FusedAdam)
    for w0, a, b in zip(initial, plain, fused):
        assert np.abs(a.numpy() - w0).max() > 1e-3  # both really stepped (~lr per step)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=STEPS * ADAM_STEP_ERROR)
    path = tf.train.Checkpoint(opt=fused_opt).write(str(tmp_path / "ckpt"))
    tf.train.Checkpoint(opt=plain_opt).read(path).assert_existing_objects_matched()
