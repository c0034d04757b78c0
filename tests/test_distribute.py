"""Multi-device training: one distributed step equals one single-device step.

TensorFlow fixes its logical devices when it first starts, so the check runs in a fresh
process that splits the CPU into two logical devices. One process trains one step of the
same GAN from the same weights and batch, with and without ``MirroredStrategy``, under
three update rules: plain SGD (learning rate 1, so the weight change *is* the summed
gradient), Keras Adam and gan_lab's FusedAdam.

Why the gradients and not Adam's weights: Adam's first step is
``lr * g / (|g| + eps_hat)``, i.e. about ``lr * sign(g)``, whose slope at ``g = 0`` is
``lr / eps_hat`` (about 3000 here). A gradient entry near zero that two summation orders
round differently by 1e-9 moves the weight differently by ~1e-5, on one CPU and not on
another (AVX2 vs AVX-512 kernels sum in different orders). So the gradients are compared
with a float32 tolerance, and the Adam steps are checked against that same tolerance pushed
through Adam's first-step formula, entry by entry.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # a fresh TensorFlow process: ~10 s

LR = 1e-2  # Adam's learning rate in the script
EPS_HAT = 1e-7 / np.sqrt(1 - 0.999)  # Keras' epsilon over sqrt(1 - beta_2): Adam's step-1 eps
U = 2.0**-24  # float32 unit roundoff

# Gradient tolerance, relative to the largest |entry| of each gradient tensor. Each entry is
# a chain of float32 dot products: G forward (lengths 4, 16), D forward (2, 16), D backward
# (1, 16), G backward (2, 16) and the sum over the batch (8: one sum of 8 on one device, two
# sums of 4 plus an all-reduce on two). A dot product of length n has an error of at most
# n*u times the sum of |terms| (Higham, Accuracy and Stability, Sec. 3.1), and errors of a
# chain add to first order: (4+16+2+16+1+16+2+16+8) u = 81 u ~ 4.8e-6 of the computation
# done on absolute values, for each of the two ways. That absolute-value magnitude is not
# the entry's own (which can cancel to ~0) but is bounded by the tensor's scale up to the
# cancellation, which we allow to be 10x: 2 * 81 * 10 u ~ 1e-4 of max |g| per tensor. A
# real bug (no all-reduce, a replica's gradient counted twice, sum instead of mean) is off
# by O(1) of max |g|, four orders of magnitude above this.
GRAD_RTOL = 2 * 81 * 10 * U
LOSS_RTOL = 2 * 81 * U  # the loss: same chain, all terms of one sign (no cancellation)

SCRIPT = textwrap.dedent(
    """
    import contextlib, json, sys, tempfile, traceback
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    from gan_lab import models, optim, steps, training

    OPTIMIZERS = {
        "sgd": lambda: keras.optimizers.SGD(1.0),  # weight change = -(summed gradient)
        "keras": lambda: keras.optimizers.Adam(1e-2),
        "fused": lambda: optim.FusedAdam(1e-2),
    }

    def build(kind):
        keras.utils.set_random_seed(0)
        g, d = models.build_mlp(4, 2, hidden=(16,)), models.build_mlp(2, 1, hidden=(16,))
        return g, d, OPTIMIZERS[kind](), OPTIMIZERS[kind]()

    rng = np.random.default_rng(0)
    batch = (rng.normal(size=(8, 2)).astype("float32"), rng.normal(size=(8, 4)).astype("float32"))
    dataset = tf.data.Dataset.from_tensors(batch)

    def train(kind, strategy):
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            g, d, go, do = build(kind)
            step = steps.make_gan_step(g, d, go, do)
        parts = {"g": g, "d": d, "go": go, "do": do}
        trainer = training.Trainer(step, tempfile.mkdtemp(), parts, strategy=strategy,
                                   sample_every=1, log_every=1, checkpoint_every=1)
        history = trainer.fit(dataset, steps=1, progress=False)
        return {
            "weights": [w.numpy().tolist() for w in g.weights + d.weights],
            "g_loss": history["g_loss"][0],
            "d_loss": history["d_loss"][0],
            "iterations": [int(go.iterations.numpy()), int(do.iterations.numpy())],
        }

    g0, d0, _, _ = build("sgd")
    result = {"initial": [w.numpy().tolist() for w in g0.weights + d0.weights]}
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    for kind in OPTIMIZERS:  # one failing optimizer does not hide the others' results
        try:
            result[kind] = {"single": train(kind, None), "multi": train(kind, strategy)}
        except Exception:
            result[kind] = {"error": traceback.format_exc()}
    print("RESULT", json.dumps(result))
    """
)


@pytest.fixture(scope="module")
def steps_taken():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(row for row in out.stdout.splitlines() if row.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    as_arrays = lambda ws: [np.asarray(w, np.float32) for w in ws]
    result["initial"] = as_arrays(result["initial"])
    for kind in ("sgd", "keras", "fused"):
        if "error" in result[kind]:
            continue
        for way in ("single", "multi"):
            result[kind][way]["weights"] = as_arrays(result[kind][way]["weights"])
    return result


def gradients(result, way):
    """The summed gradient of each weight: SGD with learning rate 1 moved it by -g. The
    subtraction is exact in float64; the update's own rounding is half an ulp of the weight,
    at most ulp(max |w|) for the tensor: added to the tolerance below."""
    return [
        w0.astype(np.float64) - w1.astype(np.float64)
        for w0, w1 in zip(result["initial"], result["sgd"][way]["weights"])
    ]


def ulp(x):
    """The spacing of float32 numbers at ``x``."""
    return float(np.spacing(np.float32(x)))


def gradient_tolerance(g, w0):
    return GRAD_RTOL * np.abs(g).max() + 2 * ulp(np.abs(w0).max() + np.abs(g).max())


def test_mirrored_gradients_equal_single_device_gradients(steps_taken):
    assert "error" not in steps_taken["sgd"], steps_taken["sgd"].get("error")
    single, multi = gradients(steps_taken, "single"), gradients(steps_taken, "multi")
    assert max(np.abs(g).max() for g in single) > 1e-3  # the gradients are not all zero
    for i, (a, b, w0) in enumerate(zip(single, multi, steps_taken["initial"])):
        tolerance = gradient_tolerance(a, w0)
        assert np.abs(a - b).max() <= tolerance, (i, np.abs(a - b).max(), tolerance)
    for loss in ("g_loss", "d_loss"):
        one, two = steps_taken["sgd"]["single"][loss], steps_taken["sgd"]["multi"][loss]
        assert one == pytest.approx(two, rel=LOSS_RTOL), loss


@pytest.mark.parametrize("optimizer", ["keras", "fused"])
def test_mirrored_adam_step_equals_single_device_step(optimizer, steps_taken):
    """Adam (or FusedAdam) ran under the strategy: one step each, the weights moved by
    Adam's first step, and multi equals single within the gradient tolerance carried
    through that step: |d/dg lr*g/(|g|+eps_hat)| = lr*eps_hat/(|g|+eps_hat)^2."""
    assert "error" not in steps_taken["sgd"], steps_taken["sgd"].get("error")
    ran = steps_taken[optimizer]
    assert "error" not in ran, ran.get("error")
    assert ran["single"]["iterations"] == ran["multi"]["iterations"] == [1, 1]
    g_single = gradients(steps_taken, "single")
    moved = 0.0
    for i, (w0, g) in enumerate(zip(steps_taken["initial"], g_single)):
        w0 = w0.astype(np.float64)
        one, two = (ran[way]["weights"][i].astype(np.float64) for way in ("single", "multi"))
        moved = max(moved, np.abs(two - w0).max())
        delta = gradient_tolerance(g, w0)
        slope = LR * EPS_HAT / (np.maximum(np.abs(g) - delta, 0) + EPS_HAT) ** 2
        # Adam's formula in float32: ~10 ops (10 u of lr), plus 0.999 rounded to float32
        # (off by u * 0.999): Keras takes 1 - beta_2 from the Python float in one place and
        # from float32(beta_2) in another, a relative error of u * 0.999 / 0.001 ~ 6e-5 in
        # the step's size (6.4e-6 seen); and the weight update's rounding (half an ulp of
        # the weight, each way).
        rounding = (10 + 0.999 / 0.001) * U * LR + ulp(np.abs(w0).max() + LR)
        tolerance = slope * delta + rounding
        assert np.all(np.abs(one - two) <= tolerance), (i, np.abs(one - two).max())
        # And it was Adam's step: lr * g / (|g| + eps_hat), from the gradients of SGD's run.
        expected = w0 - LR * g / (np.abs(g) + EPS_HAT)
        assert np.all(np.abs(two - expected) <= tolerance), (i, np.abs(two - expected).max())
    assert moved > 0.5 * LR  # the step really changed the weights (by about lr)
