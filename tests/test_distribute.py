"""Multi-device training: one distributed step equals one single-device step.

TensorFlow fixes its logical devices when it first starts, so the check runs in a fresh
process that splits the CPU into two logical devices.
"""

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys, tempfile
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    from gan_lab import models, steps, training

    def build():
        keras.utils.set_random_seed(0)
        g, d = models.build_mlp(4, 2, hidden=(16,)), models.build_mlp(2, 1, hidden=(16,))
        make = training.FusedAdam if sys.argv[1] == "fused" else keras.optimizers.Adam
        return g, d, make(1e-2), make(1e-2)

    rng = np.random.default_rng(0)
    batch = (rng.normal(size=(8, 2)).astype("float32"), rng.normal(size=(8, 4)).astype("float32"))
    dataset = tf.data.Dataset.from_tensors(batch)

    def train(strategy):
        if strategy is None:
            g, d, go, do = build()
            step = steps.make_gan_step(g, d, go, do)
        else:
            with strategy.scope():
                g, d, go, do = build()
                step = steps.make_gan_step(g, d, go, do)
        parts = {"g": g, "d": d, "go": go, "do": do}
        trainer = training.Trainer(step, tempfile.mkdtemp(), parts,
                                   strategy=strategy, log_every=1)
        history = trainer.fit(dataset, steps=1, progress=False)
        return [w.numpy() for w in g.weights + d.weights], history, trainer.images_per_second

    single, h1, _ = train(None)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    multi, h2, _ = train(strategy)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(single, multi))
    g0, d0, _, _ = build()  # the initial weights
    moved = max(float(np.abs(a - b.numpy()).max()) for a, b in zip(single, g0.weights + d0.weights))
    print("MAXDIFF", diff, "MOVED", moved, "LOSSES", h1["g_loss"][0], h2["g_loss"][0])
    """
)


@pytest.mark.parametrize("optimizer", ["keras", "fused"])
def test_mirrored_step_equals_single_device_step(optimizer):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, optimizer], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(row for row in out.stdout.splitlines() if row.startswith("MAXDIFF"))
    _, diff, _, moved, _, loss_single, loss_multi = line.split()
    assert float(moved) > 1e-3  # the step really changed the weights
    assert float(diff) < 1e-5  # and both ways changed them identically
    assert abs(float(loss_single) - float(loss_multi)) < 1e-5
