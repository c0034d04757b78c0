"""Toy distributions for lesson 1: 1-D Gaussians and a ring of 2-D Gaussians."""

from __future__ import annotations

import numpy as np

RING_STD = 0.02  # of each of the ring's 8 Gaussians (lesson 1)


def ring_centers(modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """Centres (modes, 2) of the ring-of-Gaussians toy, evenly spaced on a circle."""
    angles = 2 * np.pi * np.arange(modes) / modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


# name -> (dimension, components as (weight, mean, std)); the ring's means come from ring_centers.
TOY_DISTRIBUTIONS = {
    "gaussian": (1, [(1.0, 3.0, 0.5)]),
    "mixture": (1, [(0.5, -2.0, 0.4), (0.5, 2.0, 0.4)]),
    "ring": (2, [(1 / 8, tuple(c), RING_STD) for c in ring_centers()]),
}


def _toy(kind: str):
    if kind not in TOY_DISTRIBUTIONS:
        raise ValueError(
            f"kind must be one of {sorted(TOY_DISTRIBUTIONS)}. Received: kind={kind!r}"
        )
    return TOY_DISTRIBUTIONS[kind]


def sample_toy(kind: str, n: int, seed: int = 0) -> np.ndarray:
    """Draw ``n`` samples of a toy distribution (a mixture of Gaussians).

    Args:
        kind: ``"gaussian"`` (1-D, N(3, 0.5^2)), ``"mixture"`` (1-D, two bumps at -2 and 2,
            std 0.4) or ``"ring"`` (2-D, 8 Gaussians of std 0.02 on a circle of radius 2).
        n: number of samples.
        seed: seed of the draw.

    Returns:
        float32 array (n, dim).
    """
    dim, components = _toy(kind)
    rng = np.random.default_rng(seed)
    weights = np.array([w for w, _, _ in components])
    which = rng.choice(len(components), size=n, p=weights / weights.sum())
    means = np.array([np.broadcast_to(m, (dim,)) for _, m, _ in components], np.float64)
    stds = np.array([s for _, _, s in components])
    return (means[which] + rng.normal(size=(n, dim)) * stds[which, None]).astype(np.float32)


def toy_density(kind: str, x: np.ndarray) -> np.ndarray:
    """The probability density of a 1-D toy distribution at points ``x``."""
    dim, components = _toy(kind)
    if dim != 1:
        raise ValueError(f"toy_density is for 1-D toys. Received: kind={kind!r} ({dim}-D)")
    x = np.asarray(x, np.float64)
    return sum(
        w * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi)) for w, m, s in components
    )


def toy_dataset(
    kind: str,
    n: int = 20_000,
    batch_size: int = 256,
    seed: int = 0,
    noise_dim: int | None = None,
    batches_per_step: int = 1,
):
    """``n`` samples of a toy distribution as shuffled ``IndexedBatches``
    (with ``noise_dim``: (samples, noise) pairs, as ``digits.to_dataset``).

    Batches are full (the remainder is dropped), so every step sees ``batch_size`` samples;
    batch ``b`` is a pure function of ``seed`` and ``b`` (``images.IndexedBatches``).
    With ``batches_per_step`` k > 1, each element holds the k real batches of one step,
    batch axis first, (batch_size, k, dim) (WGAN-GP's critic updates,
    ``steps.make_wgan_gp_step``): the samples are cut into ``n // k`` rows of k, so no
    sample appears twice in a step, and each appears once an epoch.
    """
    import tensorflow as tf

    from gan_lab.data.images import IndexedBatches, stream_seed

    if not isinstance(batches_per_step, int) or batches_per_step < 1:
        raise ValueError(
            f"batches_per_step must be a positive integer. Received: {batches_per_step!r}"
        )
    if noise_dim is not None and batches_per_step > 1:
        raise ValueError("noise_dim is for one batch a step; use batches_per_step=1 with it.")
    rows = n // batches_per_step
    if batch_size < 1 or batch_size > rows:
        raise ValueError(f"batch_size must be in [1, {rows}]. Received: batch_size={batch_size}")
    drawn = sample_toy(kind, rows * batches_per_step, seed)
    if batches_per_step > 1:
        drawn = drawn.reshape(rows, batches_per_step, drawn.shape[-1])
    samples = tf.constant(drawn)

    def load(batch, indices, positions):
        real = tf.gather(samples, indices)
        if noise_dim is None:
            return real
        noise = tf.random.stateless_normal(
            [batch_size, noise_dim], seed=stream_seed(seed, "noise", batch)
        )
        return real, tf.gather(noise, positions)

    return IndexedBatches(rows, batch_size, load, seed=seed)
