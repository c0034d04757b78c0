"""``make bench``: gan_lab's train steps against plain tutorial-style baselines.

For each configuration (DCGAN 28 px batch 256; Pix2Pix 256 px batch 1; CycleGAN 256 px and
128 px batch 1) a separate process builds the contenders, then times them in alternation:

* ``baseline``: the step written the way the reference tutorials write it: float32, one
  ``tf.function``, ``keras.losses.BinaryCrossentropy`` / ``MeanAbsoluteError`` objects,
  gradients applied with ``optimizer.apply_gradients``. DCGAN and Pix2Pix models are built
  here tutorial-style (Sequential blocks); CycleGAN reuses gan_lab's builders, since the
  comparison is about the step, and its baseline uses no image pool.
* ``gan_lab float32`` and ``gan_lab mixed_bfloat16`` (when the CPU or GPU supports bf16):
  ``gan_lab.steps`` under ``gan_lab.training.Trainer`` compilation settings.
* ``gan_lab float32 XLA``: the same step compiled with ``jit_compile=True`` (the Trainer's
  option), on the configurations marked ``xla``; its warm-up column includes XLA's compile.

Reported per configuration and contender: median step time and images per second over
repeated runs after warm-up, the ratio to the baseline, FLOPs per step (counted per layer:
3x the forward multiply-adds of every network evaluation) and the achieved GFLOP/s as a
share of the matmul peak measured in the same process, the input pipeline's overhead (the
full ``tf.data`` pipeline against one cached batch), the training loop's overhead
(``Trainer.fit`` against the bare step, per step, fastest of 5 alternated blocks, in wall
and in process CPU time; the checkpoint each ``fit`` ends with is
timed apart and reported with its share at one checkpoint per 500 steps), and the
process's peak memory. Results go to
``benchmarks/results/`` as JSON, Markdown and a bar chart. Times are wall-clock on whatever
machine runs it: read the ratios, not the absolute numbers, and never turn them into test
assertions.

The scaling row (one process against two workers) is ``benchmarks/scaling.py``.

Usage: python benchmarks/bench.py [--configs dcgan pix2pix cyclegan256 cyclegan128]
       [--repeats 5] [--steps 5] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gan_lab.runtime import describe_machine as machine

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIGS = {  # repeats x steps per timed run, per contender; fewer for the slow ones
    "dcgan": {"model": "dcgan", "size": 28, "batch": 256, "repeats": 5, "steps": 5, "xla": True},
    "pix2pix": {
        "model": "pix2pix",
        "size": 256,
        "batch": 1,
        "repeats": 5,
        "steps": 5,
        "xla": True,
    },
    "cyclegan256": {
        "model": "cyclegan",
        "size": 256,
        "batch": 1,
        "blocks": 9,
        "repeats": 3,
        "steps": 2,
    },
    "cyclegan128": {
        "model": "cyclegan",
        "size": 128,
        "batch": 1,
        "blocks": 6,
        "repeats": 3,
        "steps": 3,
    },
}


# --------------------------------------------------------------------------- baselines


def baseline_dcgan(tf, keras, batch):
    layers = keras.layers
    generator = keras.Sequential(
        [
            keras.Input((100,)),
            layers.Dense(7 * 7 * 256, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(
                1, 5, strides=2, padding="same", use_bias=False, activation="tanh"
            ),
        ]
    )
    discriminator = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(64, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ]
    )
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt, d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([batch, 100])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = cross_entropy(tf.ones_like(real_output), real_output) + cross_entropy(
                tf.zeros_like(fake_output), fake_output
            )
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return gen_loss, disc_loss

    return train_step


def baseline_pix2pix(tf, keras, size):
    layers = keras.layers
    init = tf.random_normal_initializer(0.0, 0.02)

    def down(filters, norm=True):
        block = keras.Sequential()
        block.add(
            layers.Conv2D(
                filters, 4, strides=2, padding="same", kernel_initializer=init, use_bias=False
            )
        )
        if norm:
            block.add(layers.BatchNormalization())
        block.add(layers.LeakyReLU())
        return block

    def up(filters, dropout=False):
        block = keras.Sequential()
        block.add(
            layers.Conv2DTranspose(
                filters, 4, strides=2, padding="same", kernel_initializer=init, use_bias=False
            )
        )
        block.add(layers.BatchNormalization())
        if dropout:
            block.add(layers.Dropout(0.5))
        block.add(layers.ReLU())
        return block

    inputs = keras.Input((size, size, 3))
    downs = [down(64, False), down(128), down(256)] + [down(512) for _ in range(5)]
    ups = [up(512, True) for _ in range(3)] + [up(512), up(256), up(128), up(64)]
    x, skips = inputs, []
    for block in downs:
        x = block(x)
        skips.append(x)
    for block, skip in zip(ups, reversed(skips[:-1])):
        x = layers.Concatenate()([block(x), skip])
    out = layers.Conv2DTranspose(
        3, 4, strides=2, padding="same", kernel_initializer=init, activation="tanh"
    )(x)
    generator = keras.Model(inputs, out)

    inp, tar = keras.Input((size, size, 3)), keras.Input((size, size, 3))
    x = layers.concatenate([inp, tar])
    x = down(256)(down(128)(down(64, False)(x)))
    x = layers.ZeroPadding2D()(x)
    x = layers.Conv2D(512, 4, kernel_initializer=init, use_bias=False)(x)
    x = layers.LeakyReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2D(1, 4, kernel_initializer=init)(layers.ZeroPadding2D()(x))
    discriminator = keras.Model([inp, tar], x)

    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    g_opt, d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)

    @tf.function
    def train_step(batch):
        input_image, target = batch
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            gen_output = generator(input_image, training=True)
            disc_real = discriminator([input_image, target], training=True)
            disc_fake = discriminator([input_image, gen_output], training=True)
            l1 = tf.reduce_mean(tf.abs(target - gen_output))
            gen_loss = bce(tf.ones_like(disc_fake), disc_fake) + 100 * l1
            disc_loss = bce(tf.ones_like(disc_real), disc_real) + bce(
                tf.zeros_like(disc_fake), disc_fake
            )
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        return gen_loss, disc_loss

    return train_step


def baseline_cyclegan(tf, keras, models, blocks):
    g, f = (
        models.build_resnet_generator(n_blocks=blocks),
        models.build_resnet_generator(n_blocks=blocks),
    )
    d_x = models.build_patchgan_discriminator(conditional=False, norm="instance")
    d_y = models.build_patchgan_discriminator(conditional=False, norm="instance")
    opts = [keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(4)]
    mse = keras.losses.MeanSquaredError()

    @tf.function
    def train_step(batch):
        real_x, real_y = batch
        with tf.GradientTape(persistent=True) as tape:
            fake_y, fake_x = g(real_x, training=True), f(real_y, training=True)
            cycle = tf.reduce_mean(tf.abs(real_x - f(fake_y, training=True))) + tf.reduce_mean(
                tf.abs(real_y - g(fake_x, training=True))
            )
            same_y, same_x = g(real_y, training=True), f(real_x, training=True)
            dy_fake, dx_fake = d_y(fake_y, training=True), d_x(fake_x, training=True)
            g_loss = (
                mse(tf.ones_like(dy_fake), dy_fake)
                + 10 * cycle
                + 5 * tf.reduce_mean(tf.abs(real_y - same_y))
            )
            f_loss = (
                mse(tf.ones_like(dx_fake), dx_fake)
                + 10 * cycle
                + 5 * tf.reduce_mean(tf.abs(real_x - same_x))
            )
            dy_real, dx_real = d_y(real_y, training=True), d_x(real_x, training=True)
            dy_loss = 0.5 * (
                mse(tf.ones_like(dy_real), dy_real)
                + mse(tf.zeros_like(dy_fake), d_y(fake_y, training=True))
            )
            dx_loss = 0.5 * (
                mse(tf.ones_like(dx_real), dx_real)
                + mse(tf.zeros_like(dx_fake), d_x(fake_x, training=True))
            )
        for loss, model, opt in zip([g_loss, f_loss, dx_loss, dy_loss], [g, f, d_x, d_y], opts):
            opt.apply_gradients(
                zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
            )
        return g_loss, dy_loss

    return train_step


# --------------------------------------------------------------------------- gan_lab contenders


def gan_lab_step(cfg, precision):
    import numpy as np
    import tensorflow as tf

    from gan_lab import data, image_pool, models, optim, recipes, runtime, steps, training

    runtime.set_precision(precision)
    size, batch = cfg["size"], cfg["batch"]
    c = recipes.defaults(cfg["model"], False)  # the lesson's own settings
    try:
        if cfg["model"] == "dcgan":  # the TF tutorial's Adam, as the baseline
            g, d = models.build_dcgan_generator(), models.build_dcgan_discriminator()
            opts = {"g_opt": optim.adam(1e-4, 0.9), "d_opt": optim.adam(1e-4, 0.9)}
            step = steps.make_gan_step(g, d, *opts.values())
            parts = {"g": g, "d": d, **opts}
            images = np.random.default_rng(0).integers(0, 256, (batch * 8, 28, 28, 1), np.uint8)
            pipeline = data.to_dataset(images, batch).from_batch(0)
        elif cfg["model"] == "pix2pix":
            g, d = models.build_unet_generator(size), models.build_patchgan_discriminator()
            opts = {k: optim.adam(c["learning_rate"], c["beta_1"]) for k in ("g_opt", "d_opt")}
            step = steps.make_pix2pix_step(
                g, d, *opts.values(), l1_weight=c["lambda_l1"], gan_weight=c["lambda_gan"]
            )
            parts = {"g": g, "d": d, **opts}
            labels, photos = data.synthetic_facades(8, size=size)
            pairs = data.PairSet(labels, photos, list(range(8)), "SYNTHETIC bench", True)
            pipeline = data.pair_dataset(pairs, batch).from_batch(0)
        else:
            nets = [models.build_resnet_generator(n_blocks=cfg["blocks"]) for _ in range(2)] + [
                models.build_patchgan_discriminator(conditional=False, norm="instance")
                for _ in range(2)
            ]
            opts = {
                k: optim.adam(c["learning_rate"], c["beta_1"]) for k in ("g", "f", "d_x", "d_y")
            }
            pools = [image_pool.ImagePool((size, size, 3), c["pool_size"]) for _ in range(2)]
            weights = {k: c[k] for k in ("lambda_cycle", "lambda_identity", "adversarial")}
            step = steps.make_cyclegan_step(*nets, opts, *pools, **weights)
            parts = {
                **{f"net{i}": n for i, n in enumerate(nets)},
                **opts,
                "pool_x": pools[0],
                "pool_y": pools[1],
            }
            a = data.synthetic_fruit(8, "apple", size=size)
            b = data.synthetic_fruit(8, "orange", size=size)
            pipeline = data.unpaired_dataset(a, b, batch).from_batch(0)
    finally:
        runtime.set_precision("float32")
    compiled = tf.function(step, reduce_retracing=True)
    compiled.parts = parts  # what a Trainer checkpoints
    return compiled, pipeline, training


def make_batch(tf, cfg):
    size, batch = cfg["size"], cfg["batch"]
    if cfg["model"] == "dcgan":
        return tf.random.uniform([batch, 28, 28, 1], -1, 1)
    return (
        tf.random.uniform([batch, size, size, 3], -1, 1),
        tf.random.uniform([batch, size, size, 3], -1, 1),
    )


# --------------------------------------------------------------------------- measurements


def forward_flops(model, batch: int) -> float:
    """Multiply-add FLOPs (2 per MAC) of one forward pass, counted per layer: Dense, Conv2D
    and Conv2DTranspose (at the input resolution, the work a real implementation does)."""
    from keras import layers

    total = 0.0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2DTranspose):
            _, h, w, c_in = layer.input.shape
            k = layer.kernel_size[0] * layer.kernel_size[1]
            total += 2 * h * w * k * c_in * layer.filters
        elif isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            k = layer.kernel_size[0] * layer.kernel_size[1]
            total += 2 * h * w * k * layer.input.shape[-1] * c_out
        elif isinstance(layer, layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return total * batch


def step_flops(cfg) -> float:
    """FLOPs of one train step: 3x the forward passes (forward, and a backward pass costing
    about twice the forward), over every network evaluation in the step."""
    from gan_lab import models

    size, batch = cfg["size"], cfg["batch"]
    if cfg["model"] == "dcgan":
        g, d = models.build_dcgan_generator(), models.build_dcgan_discriminator()
        return 3 * (forward_flops(g, batch) + 2 * forward_flops(d, batch))
    if cfg["model"] == "pix2pix":
        g = models.build_unet_generator(size)
        d = models.build_patchgan_discriminator(image_size=size)
        return 3 * (forward_flops(g, batch) + 2 * forward_flops(d, batch))
    g = models.build_resnet_generator(size, n_blocks=cfg["blocks"])
    d = models.build_patchgan_discriminator(conditional=False, norm="instance", image_size=size)
    # each generator runs 3 times (translate, cycle, identity), each discriminator 3 times
    return 3 * (6 * forward_flops(g, batch) + 6 * forward_flops(d, batch))


def matmul_peak(tf, dtype, n=2048, repeats=10):
    a = tf.random.uniform([n, n], dtype=tf.float32)
    a = tf.cast(a, dtype)
    mm = tf.function(lambda x: tf.matmul(x, x))
    float(tf.reduce_sum(tf.cast(mm(a), tf.float32)))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        out = mm(a)
        _ = out.numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def time_steps(fn, batch, n):
    start = time.perf_counter()
    for _ in range(n):
        out = fn(batch)
    import tensorflow as tf

    [t.numpy() for t in tf.nest.flatten(out)]  # wait for the last step
    return (time.perf_counter() - start) / n


def run_config(name, repeats, steps_per_run):
    import keras
    import numpy as np
    import tensorflow as tf

    from gan_lab import models, runtime

    cfg = CONFIGS[name]
    bf16 = runtime.cpu_has_bf16() or bool(tf.config.list_physical_devices("GPU"))
    contenders = {}
    if cfg["model"] == "dcgan":
        contenders["baseline"] = baseline_dcgan(tf, keras, cfg["batch"])
    elif cfg["model"] == "pix2pix":
        contenders["baseline"] = baseline_pix2pix(tf, keras, cfg["size"])
    else:
        contenders["baseline"] = baseline_cyclegan(tf, keras, models, cfg["blocks"])
    pipelines = {}
    for precision in ["float32"] + (["mixed_bfloat16"] if bf16 else []):
        step, pipeline, training = gan_lab_step(cfg, precision)
        contenders[f"gan_lab {precision}"] = step
        pipelines[f"gan_lab {precision}"] = pipeline
    if cfg.get("xla"):  # Trainer(jit_compile=True): measured, not assumed
        step, _, _ = gan_lab_step(cfg, "float32")
        contenders["gan_lab float32 XLA"] = tf.function(
            step.python_function, jit_compile=True, reduce_retracing=True
        )
    batch = make_batch(tf, cfg)
    flops = step_flops(cfg)  # the same architecture for every contender
    warmup = {}
    for key, fn in list(contenders.items()):  # warm-up: trace, build (XLA: compile), steps
        start = time.perf_counter()
        try:
            time_steps(fn, batch, 2)
        except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as e:
            if "XLA" not in key:
                raise
            print(f"{key}: not compilable ({str(e).splitlines()[0][:200]})", file=sys.stderr)
            del contenders[key]
            continue
        warmup[key] = time.perf_counter() - start
    times = {k: [] for k in contenders}
    for _ in range(repeats):  # alternate the contenders
        for key, fn in contenders.items():
            times[key].append(time_steps(fn, batch, steps_per_run))
    peak32 = matmul_peak(tf, tf.float32)
    peak16 = matmul_peak(tf, tf.bfloat16) if bf16 else None

    # Input pipeline: the same step fed by its full tf.data pipeline vs one cached batch.
    key = "gan_lab float32"
    iterator = iter(pipelines[key])
    fn = contenders[key]
    fn(next(iterator))
    start = time.perf_counter()
    for _ in range(steps_per_run):
        out = fn(next(iterator))
    [t.numpy() for t in tf.nest.flatten(out)]
    piped = (time.perf_counter() - start) / steps_per_run
    cached = time_steps(fn, batch, steps_per_run)

    # Loop overhead: Trainer.fit (iterator, progress, history, logging, final checkpoint)
    # against the bare calls of the very same compiled step, alternated 5 times. The Trainer
    # gets that compiled step (compile=False): at 256 px the Trainer's own trace of the same
    # function, called bare with no loop, ran 3-4% slower than this one, which is not the
    # loop's doing (that the Trainer's tf.function traces once per run is a test in
    # tests/test_training.py). Other load only ever adds time, so
    # the fastest block of each is the estimate (as timeit does); process CPU time, which
    # other processes and the host do not inflate, is reported beside it.
    trainer = training.Trainer(
        contenders[key],
        tempfile.mkdtemp(),
        contenders[key].parts,
        compile=False,
        sample_every=10**9,
        log_every=10,
        checkpoint_every=10**9,
        checkpoint_seconds=float("inf"),
    )
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    n = max(steps_per_run, 10 if np.median(times[key]) < 1.0 else 2)
    trainer.fit(dataset, steps=2, progress=False)
    saves, save = [], trainer.save

    def timed_save():  # each fit ends with a checkpoint: timed apart, it is not per step
        start = time.perf_counter(), time.process_time()
        path = save()
        saves.append((time.perf_counter() - start[0], time.process_time() - start[1]))
        return path

    trainer.save = timed_save
    looped, bare = [], []
    for _ in range(5):
        start, saved = (time.perf_counter(), time.process_time()), len(saves)
        trainer.fit(dataset, steps=int(trainer.step) + n, progress=False)
        save_wall = sum(w for w, _ in saves[saved:])
        save_cpu = sum(c for _, c in saves[saved:])
        looped.append(
            (
                (time.perf_counter() - start[0] - save_wall) / n,
                (time.process_time() - start[1] - save_cpu) / n,
            )
        )
        start = time.perf_counter(), time.process_time()
        time_steps(contenders[key], batch, n)  # the same compiled step
        bare.append(((time.perf_counter() - start[0]) / n, (time.process_time() - start[1]) / n))
    loop_wall = min(w for w, _ in looped) / min(w for w, _ in bare) - 1
    loop_cpu = min(c for _, c in looped) / min(c for _, c in bare) - 1
    bare_s = min(w for w, _ in bare)

    images = cfg["batch"] * (2 if cfg["model"] == "cyclegan" else 1)
    base = float(np.median(times["baseline"]))
    rows = []
    for key, ts in times.items():
        median = float(np.median(ts))
        peak = peak16 if "bfloat16" in key else peak32
        rows.append(
            {
                "config": name,
                "contender": key,
                "median_step_s": median,
                "images_per_s": images / median,
                "ratio_to_baseline": base / median,
                "gflop_per_step": flops / 1e9,
                "gflop_per_s": flops / median / 1e9,
                "share_of_matmul_peak": flops / median / 1e9 / peak,
                "warmup_s": warmup[key],
            }
        )
    return {
        "config": name,
        **cfg,
        "rows": rows,
        "matmul_peak_gflops": {"float32": peak32, "bfloat16": peak16},
        "input_pipeline_overhead": piped / cached - 1,
        "loop_overhead": loop_wall,
        "loop_overhead_cpu": loop_cpu,
        "checkpoint_s": float(np.median([w for w, _ in saves])),
        "checkpoint_share_per_500_steps": float(np.median([w for w, _ in saves])) / (500 * bare_s),
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


# --------------------------------------------------------------------------- scaling


def write_report(results, out: Path):
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    lines = [f"Measured on: {results['machine']}", *config_lines(results)]
    (out / "bench.md").write_text("\n".join(lines) + "\n")
    plot(results, out)
    print("\n".join(lines))


def config_lines(results):
    lines = [
        "",
        "| config | contender | step (median) | images/s | vs baseline | GFLOP/step | GFLOP/s "
        "| % of matmul peak | warm-up (trace/compile + 2 steps) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results["configs"]:
        for r in res["rows"]:
            lines.append(
                f"| {r['config']} | {r['contender']} | {r['median_step_s'] * 1000:.0f} ms | "
                f"{r['images_per_s']:.1f} | {r['ratio_to_baseline']:.2f}x | "
                f"{r['gflop_per_step']:.1f} | "
                f"{r['gflop_per_s']:.0f} | {100 * r['share_of_matmul_peak']:.0f}% | "
                f"{r['warmup_s']:.1f} s |"
            )
    lines += [
        "",
        "| config | input pipeline overhead | training-loop overhead per step (wall / CPU) "
        "| checkpoint (share at 1 per 500 steps) | peak memory | matmul peak f32 / bf16 |",
        "|---|---|---|---|---|---|",
    ]
    for res in results["configs"]:
        peaks = res["matmul_peak_gflops"]
        bf = f"{peaks['bfloat16']:.0f}" if peaks["bfloat16"] else "n/a"
        lines.append(
            f"| {res['config']} | {100 * res['input_pipeline_overhead']:+.1f}% | "
            f"{100 * res['loop_overhead']:+.1f}% / {100 * res['loop_overhead_cpu']:+.1f}% | "
            f"{res['checkpoint_s']:.2f} s "
            f"({100 * res['checkpoint_share_per_500_steps']:.2f}%) | "
            f"{res['peak_memory_mb']:.0f} MB | "
            f"{peaks['float32']:.0f} / {bf} GFLOP/s |"
        )
    return lines


def plot(results, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    configs = [res["config"] for res in results["configs"]]
    contenders = sorted({r["contender"] for res in results["configs"] for r in res["rows"]})
    width = 0.8 / len(contenders)
    for i, contender in enumerate(contenders):
        values = [
            next((r["ratio_to_baseline"] for r in res["rows"] if r["contender"] == contender), 0)
            for res in results["configs"]
        ]
        ax.bar([c + i * width for c in range(len(configs))], values, width, label=contender)
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_xticks([c + width * (len(contenders) - 1) / 2 for c in range(len(configs))], configs)
    ax.set_ylabel("speed vs baseline (x)")
    ax.set_title("Train-step speed relative to the tutorial-style baseline")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "bench.png", dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument(
        "--repeats", type=int, help="timed runs per contender (default: per config)"
    )
    parser.add_argument("--steps", type=int, help="steps per timed run (default: per config)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one config, print JSON
    args = parser.parse_args(argv)
    if args.one:
        cfg = CONFIGS[args.one]
        result = run_config(args.one, args.repeats or cfg["repeats"], args.steps or cfg["steps"])
        print("RESULT " + json.dumps(result))
        return
    results = {"machine": machine(), "configs": []}
    for name in args.configs:  # one process per model
        print(f"benchmarking {name} ...", flush=True)
        began = time.perf_counter()
        command = [sys.executable, __file__, "--one", name]
        for flag, value in (("--repeats", args.repeats), ("--steps", args.steps)):
            if value:
                command += [flag, str(value)]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"benchmark of {name} failed:\n{proc.stderr[-3000:]}")
        line = next(row for row in proc.stdout.splitlines() if row.startswith("RESULT "))
        results["configs"].append(json.loads(line[len("RESULT ") :]))
        print(f"  {name}: {time.perf_counter() - began:.0f} s", flush=True)
    write_report(results, args.out)


if __name__ == "__main__":
    main()
