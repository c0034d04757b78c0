"""Lesson 1 (GAN intuition): the alternating step and the ring recipes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_lab import data, evaluation, losses, models, recipes, runtime, steps


def tiny_gan(seed=0):
    runtime.seed_everything(seed)
    return models.build_mlp(3, 1, hidden=(8,)), models.build_mlp(1, 1, hidden=(8,))


def flat(variables):
    return np.concatenate([np.ravel(v.numpy()) for v in variables])


def sgd_update(model, loss_fn, lr):
    """Weights of ``model`` after one plain gradient-descent step on ``loss_fn()``."""
    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, model.trainable_variables)
    return [w.numpy() - lr * g.numpy() for w, g in zip(model.trainable_variables, grads)]


def test_alternating_step_updates_d_then_g_against_the_updated_d():
    lr = 0.5  # plain SGD, so each update is exactly lr * gradient
    g, d = tiny_gan()
    real = tf.constant([[3.0], [2.5], [3.5], [2.0]])
    z_d, z_g = tf.random.normal([4, 3], seed=1), tf.random.normal([4, 3], seed=2)
    g0, d0 = [w.numpy() for w in g.trainable_variables], [w.numpy() for w in d.trainable_variables]

    # By hand: D's step on (real, G(z_d)); then G's step through the *updated* D on z_g.
    fake = g(z_d, training=True)
    d1 = sgd_update(d, lambda: losses.discriminator_loss(d(real), d(fake)), lr)
    for w, v in zip(d.trainable_variables, d1):
        w.assign(v)
    g1 = sgd_update(g, lambda: losses.generator_loss(d(g(z_g))), lr)
    for w, v in zip(d.trainable_variables, d0):  # G's step against the *old* D, to compare
        w.assign(v)
    g1_old_d = sgd_update(g, lambda: losses.generator_loss(d(g(z_g))), lr)

    step = steps.make_alternating_gan_step(g, d, keras.optimizers.SGD(lr), keras.optimizers.SGD(lr))
    logs = step((real, z_d, z_g))
    np.testing.assert_allclose(
        flat(d.trainable_variables), np.concatenate([np.ravel(v) for v in d1]), rtol=1e-5, atol=1e-6
    )
    g_after = flat(g.trainable_variables)
    np.testing.assert_allclose(
        g_after, np.concatenate([np.ravel(v) for v in g1]), rtol=1e-5, atol=1e-6
    )
    # The test can tell the two apart: against the old D, G would have moved elsewhere.
    assert np.abs(g_after - np.concatenate([np.ravel(v) for v in g1_old_d])).max() > 1e-4
    assert not np.allclose(g_after, np.concatenate([np.ravel(v) for v in g0]))
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}


def test_simultaneous_step_takes_g_gradient_through_the_old_d():
    # The contrast the lesson draws: make_gan_step's G update sees D before its update.
    lr = 0.5
    g, d = tiny_gan()
    real, z = tf.constant([[3.0], [2.5], [3.5], [2.0]]), tf.random.normal([4, 3], seed=1)
    g1_old_d = sgd_update(g, lambda: losses.generator_loss(d(g(z))), lr)
    steps.make_gan_step(g, d, keras.optimizers.SGD(lr), keras.optimizers.SGD(lr))((real, z))
    np.testing.assert_allclose(
        flat(g.trainable_variables),
        np.concatenate([np.ravel(v) for v in g1_old_d]),
        rtol=1e-5,
        atol=1e-6,
    )


def test_alternating_step_takes_k_d_steps_per_g_step_and_checks_k():
    g, d = tiny_gan()
    g_opt, d_opt = keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3)
    step = steps.make_alternating_gan_step(g, d, g_opt, d_opt, d_steps=3)
    batches = data.toy_dataset("gaussian", n=300, batch_size=16, batches_per_step=3)
    logs = step(next(iter(batches)))  # (16, 3, 1): a real batch for each D update
    assert int(d_opt.iterations) == 3 and int(g_opt.iterations) == 1
    assert all(np.isfinite(float(v)) for v in logs.values())
    with pytest.raises(ValueError, match="d_steps=0"):
        steps.make_alternating_gan_step(g, d, g_opt, d_opt, d_steps=0)


def test_quick_ring_budget_is_shorter_and_full_mode_repeats_over_seeds():
    quick, full = recipes.defaults("toy", True), recipes.defaults("toy", False)
    assert len(quick["ring_seeds"]) == 1 and len(full["ring_seeds"]) == 3
    assert quick["steps"] < full["steps"]
    # The contenders share one discriminator budget: d_steps updates per G update, at ten
    # times G's learning rate; WGAN-GP's penalty weight is the paper's lambda.
    assert (full["d_steps"], full["gp_weight"]) == (5, 10.0)
    assert full["d_learning_rate"] == 10 * full["learning_rate"]


# ------------------------------------------------------------------ the ring contenders


@pytest.mark.parametrize("method", list(recipes.TOY_METHODS))
def test_each_ring_contender_has_the_same_budget_and_consumes_d_steps_real_batches(method):
    config = recipes.defaults("toy", True, method=method, precision="float32")
    runtime.seed_everything(0)
    experiment = recipes.build(config)
    d_role = "critic" if method == "wgan_gp" else "discriminator"
    g_opt, d_opt = experiment.optimizers["generator"], experiment.optimizers[d_role]
    assert float(g_opt.learning_rate) == pytest.approx(config["learning_rate"])
    assert float(d_opt.learning_rate) == pytest.approx(config["d_learning_rate"])
    for opt in (g_opt, d_opt):  # the same Adam for every contender
        assert (float(opt.beta_1), float(opt.beta_2)) == (config["beta_1"], config["beta_2"])
    batch = next(iter(experiment.batches))
    assert batch.shape == (config["batch_size"], config["d_steps"], 2)  # one per D update
    before = flat(experiment.generators["generator"].trainable_variables)
    logs = experiment.train_step(batch)
    assert int(d_opt.iterations) == config["d_steps"] and int(g_opt.iterations) == 1
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert not np.allclose(before, flat(experiment.generators["generator"].trainable_variables))
    score = experiment.evaluate()
    assert set(score) == {"modes_covered", "of_modes", "high_quality"} and score["of_modes"] == 8


def test_ring_contenders_start_from_the_same_weights():
    # The lesson attributes their differences to the losses: same seed, same initial networks.
    weights = {}
    for method in recipes.TOY_METHODS:
        runtime.seed_everything(0)
        experiment = recipes.build(recipes.defaults("toy", True, method=method))
        weights[method] = [flat(net.weights) for net in experiment.networks.values()]
    first, *others = weights.values()
    for other in others:
        assert all(np.array_equal(a, b) for a, b in zip(first, other))


def test_unknown_ring_method_is_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        recipes.build(recipes.defaults("toy", True, method="lsgan"))


def perfect_generator(center):
    """A 'generator' that maps every noise vector exactly onto ``center``."""
    inputs = keras.Input((2,))
    dense = keras.layers.Dense(2, kernel_initializer="zeros", bias_initializer="zeros")
    model = keras.Model(inputs, dense(inputs))
    dense.bias.assign(center)
    return model


def test_ring_coverage_counts_one_mode_and_ignores_earlier_random_draws():
    g = perfect_generator(data.ring_centers()[3])
    first = evaluation.ring_coverage(g, seed=0)
    assert first["modes"] == 1 and first["high_quality"] == 1.0
    assert first["per_mode"].tolist() == [0, 0, 0, evaluation.RING_SAMPLES, 0, 0, 0, 0]
    tf.random.normal([7])  # whatever TensorFlow drew before, the judged noise is the same
    runtime.seed_everything(5)
    g2 = models.build_mlp(2, 2, hidden=(4,))
    a, b = (
        evaluation.ring_coverage(g2, seed=1),
        (tf.random.uniform([3]), evaluation.ring_coverage(g2, seed=1))[1],
    )
    np.testing.assert_array_equal(a["samples"], b["samples"])


# ------------------------------------------------------------------ WGAN-GP: Algorithm 1


def spied_critic(inputs_seen, scores_seen):
    """A small critic that records, when run eagerly, every batch it is called on and the
    scores it gave (with the weights it had at that moment)."""

    def record(seen):  # a layer that appends what passes through it to `seen`
        class Record(keras.layers.Layer):  # (a list attribute would be copied by Keras)
            def call(self, x):
                if tf.executing_eagerly():  # not while Keras traces the model's shapes
                    seen.append(np.array(x))
                return x

        return Record()

    runtime.seed_everything(3)
    inputs = keras.Input((2,))
    scores = models.build_mlp(2, 1, hidden=(8,))(record(inputs_seen)(inputs))
    return keras.Model(inputs, record(scores_seen)(scores))


def constant_generator(point):
    """A generator whose every sample is ``point``: its fakes are recognisable."""
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(2, kernel_initializer="zeros", bias_initializer="zeros")
    model = keras.Model(inputs, dense(inputs))
    dense.bias.assign(point)
    return model


def same(x, batch):
    return x.shape == batch.shape and (x == batch).all()


def spied_step(kind, k=3):
    """One eager step of ``kind`` ("alternating" or "wgan_gp") with ``k`` D updates on k
    distinct real batches, and a spied discriminator."""
    inputs_seen, scores_seen = [], []
    d = spied_critic(inputs_seen, scores_seen)
    g = constant_generator([5.0, -5.0])
    g_opt, d_opt = keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1)
    if kind == "wgan_gp":
        step = steps.make_wgan_gp_step(g, d, g_opt, d_opt, gp_weight=10.0, n_critic=k, seed=1)
    else:
        step = steps.make_alternating_gan_step(g, d, g_opt, d_opt, d_steps=k, seed=1)
    real = next(iter(data.toy_dataset("ring", n=400, batch_size=16, batches_per_step=k)))
    logs = step(real)
    return real.numpy(), logs, inputs_seen, scores_seen, d, d_opt


@pytest.mark.parametrize("kind", ["alternating", "wgan_gp"])
def test_each_d_update_gets_its_own_real_batch_once_in_order(kind):
    # Algorithm 1 of Goodfellow et al. and of Gulrajani et al.: a new real minibatch for
    # each of the k discriminator (critic) updates of a step.
    n_critic = 3
    real, _, inputs_seen, _, _, c_opt = spied_step(kind, n_critic)
    assert real.shape == (16, n_critic, 2)
    batches = [real[:, k] for k in range(n_critic)]
    # The step's real batches are different samples (no sample twice in a step).
    assert len(np.unique(real.reshape(-1, 2), axis=0)) == 16 * n_critic
    seen_real = [k for x in inputs_seen for k, b in enumerate(batches) if same(x, b)]
    assert seen_real == list(range(n_critic))  # each once, update k on batch k
    assert int(c_opt.iterations) == n_critic


def test_wgan_gp_logs_one_critic_before_its_last_update():
    n_critic = 3
    real, logs, inputs_seen, scores_seen, critic, _ = spied_step("wgan_gp", n_critic)
    last_real = real[:, -1]
    i_real = max(i for i, x in enumerate(inputs_seen) if same(x, last_real))
    fakes = [i for i, x in enumerate(inputs_seen) if (x == [5.0, -5.0]).all()]
    assert len(fakes) == n_critic + 1  # one per critic update, one for G's update
    i_fake = fakes[n_critic - 1]  # the last critic update's fakes
    gap_before = scores_seen[i_real].mean() - scores_seen[i_fake].mean()
    # The same float32 scores, averaged in another order: 16 values of size ~1 differ by
    # a few float32 ulps (~1e-7 each), far below 1e-5.
    np.testing.assert_allclose(float(logs["w_estimate"]), gap_before, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        float(logs["d_loss"]),
        -float(logs["w_estimate"]) + 10.0 * float(logs["d_gp"]),
        rtol=1e-5,
        atol=1e-5,
    )
    # The test can tell "before" from "after": the updated critic scores them otherwise.
    after = critic(inputs_seen[i_real]).numpy().mean() - critic(inputs_seen[i_fake]).numpy().mean()
    assert abs(after - gap_before) > 1e-3


def test_wgan_gp_step_refuses_a_single_real_batch():
    runtime.seed_everything(0)
    g, c = models.build_mlp(3, 2, hidden=(8,)), models.build_mlp(2, 1, hidden=(8,))
    opt = keras.optimizers.SGD(0.1)
    step = steps.make_wgan_gp_step(g, c, opt, keras.optimizers.SGD(0.1), gp_weight=10.0, n_critic=3)
    with pytest.raises(ValueError, match="n_critic=3"):
        step(tf.constant(data.sample_toy("ring", 16)))  # (16, 2): one batch, not three
    with pytest.raises(ValueError, match="n_critic=3"):
        step(tf.zeros((16, 2, 2)))


def test_toy_batches_per_step_use_each_sample_once_an_epoch():
    batches = data.toy_dataset("ring", n=1000, batch_size=20, seed=4, batches_per_step=5)
    epoch = np.concatenate([b.numpy().reshape(-1, 2) for b in batches.epoch()])
    assert epoch.shape == (1000, 2)  # 10 steps of 5 batches of 20
    assert len(np.unique(epoch, axis=0)) == 1000
    with pytest.raises(ValueError, match="batches_per_step"):
        data.toy_dataset("ring", batches_per_step=0)
