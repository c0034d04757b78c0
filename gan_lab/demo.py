"""``make demo``: train the DCGAN of lesson 2 briefly and write an animated GIF of it.

Run with ``GAN_LAB_QUICK=1`` (as ``make demo`` does) to train in about two minutes on a
CPU on gan_lab's synthetic digits; without it, it trains on real MNIST (downloaded or
placed in ``data/``) for the same number of steps.
"""

from __future__ import annotations

import argparse

import keras
import tensorflow as tf

from gan_lab import data, models, runtime, steps, training, viz


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Example: GAN_LAB_QUICK=1 python -m gan_lab.demo",
    )
    parser.add_argument("--steps", type=int, default=1200, help="train steps (default 1200)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be positive. Received: {args.steps}")

    runtime.setup(args.seed)
    digits = data.load_digits("train", seed=args.seed)
    dataset = data.to_dataset(digits.images, batch_size=64, seed=args.seed)
    generator, discriminator = models.build_dcgan_generator(), models.build_dcgan_discriminator()
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    fixed_noise = tf.random.normal([16, generator.input_shape[-1]], seed=args.seed)
    kind = "SYNTHETIC digits" if digits.synthetic else "MNIST"
    run_dir = runtime.new_run_dir("demo_dcgan")
    trainer = training.Trainer(
        steps.make_gan_step(generator, discriminator, g_opt, d_opt),
        run_dir,
        {
            "generator": generator,
            "discriminator": discriminator,
            "g_optimizer": g_opt,
            "d_optimizer": d_opt,
        },
        sample_fn=lambda: viz.image_grid(generator(fixed_noise, training=False), ncols=4, scale=3),
        title=f"DCGAN on {kind}",
        sample_every=max(1, args.steps // 20),
    )
    trainer.fit(dataset, steps=args.steps)
    gif = viz.save_gif(trainer.frames, run_dir / "dcgan_progress.gif")
    print(f"trained {args.steps} steps at {trainer.images_per_second:.0f} images/s on {kind}")
    print(f"GIF of training progress ({len(trainer.frames)} frames): {gif}")


if __name__ == "__main__":
    main()
