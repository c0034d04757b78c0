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
    for before, w in zip(g_before, parts["generator"].trainable_weights):
        assert not np.allclose(before, w.numpy())
    for before, w in zip(d_before, parts["discriminator"].trainable_weights):
        assert not np.allclose(before, w.numpy())


def test_step_takes_batch_size_from_the_batch():
    step, _ = tiny_gan()
    fn = tf.function(step, reduce_retracing=True)
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
    trainer = training.Trainer(step, tmp_path / "run", parts)
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
    np.testing.assert_array_equal(parts2["generator"](z, training=False).numpy(), expected)


def test_resume_continues_step_counter_and_optimizer_state(tmp_path):
    step, parts = tiny_gan()
    trainer = training.Trainer(step, tmp_path / "run", parts, log_every=1)
    trainer.fit(tiny_dataset(), steps=4, progress=False)

    step2, parts2 = tiny_gan(seed=5)
    resumed = training.Trainer(step2, tmp_path / "run", parts2, log_every=1, resume=True)
    assert int(parts2["g_optimizer"].iterations) == 4
    history = resumed.fit(tiny_dataset(), steps=6, progress=False)
    assert int(resumed.step) == 6 and int(parts2["g_optimizer"].iterations) == 6
    assert history["step"] == [1, 2, 3, 4, 5, 6]


def test_existing_run_is_not_overwritten(tmp_path):
    step, parts = tiny_gan()
    training.Trainer(step, tmp_path / "run", parts).fit(tiny_dataset(), steps=2, progress=False)
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


@pytest.mark.parametrize("gan_weight", [1.0, 0.0])
def test_pix2pix_step_updates_weights_with_finite_losses(gan_weight):
    keras.utils.set_random_seed(0)
    g = models.build_unet_generator(32, base_filters=8, max_filters=16)
    d = models.build_patchgan_discriminator(base_filters=8)
    g_opt, d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)
    step = tf.function(steps.make_pix2pix_step(g, d, g_opt, d_opt, gan_weight=gan_weight))
    batch = (tf.random.uniform([2, 32, 32, 3], -1, 1), tf.random.uniform([2, 32, 32, 3], -1, 1))
    g_before = [w.numpy().copy() for w in g.trainable_weights]
    d_before = [w.numpy().copy() for w in d.trainable_weights]
    logs = step(batch)
    assert set(logs) == {"gen_total", "gen_gan", "gen_l1", "disc"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert all(not np.allclose(a, w.numpy()) for a, w in zip(g_before, g.trainable_weights))
    d_moved = [not np.allclose(a, w.numpy()) for a, w in zip(d_before, d.trainable_weights)]
    assert all(d_moved) if gan_weight else not any(d_moved)


def test_fused_adam_matches_keras_adam_and_shares_its_checkpoints(tmp_path):
    def run(make):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16), keras.layers.Dense(1)])
        opt = make(1e-2, beta_1=0.5)

        @tf.function
        def step(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(model(x) ** 2)
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))

        for i in range(5):
            step(tf.random.stateless_normal([4, 8], seed=[i, 0]))
        return model, opt

    plain, plain_opt = run(keras.optimizers.Adam)
    fused, fused_opt = run(training.FusedAdam)
    for a, b in zip(plain.weights, fused.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    path = tf.train.Checkpoint(opt=fused_opt).write(str(tmp_path / "ckpt"))
    tf.train.Checkpoint(opt=plain_opt).read(path).assert_existing_objects_matched()
