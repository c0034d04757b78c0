"""Pictures: image grids, captions, loss curves, and GIFs of training progress.

Frames are plain uint8 arrays built with NumPy and Pillow (fast, identical in a
terminal and a notebook); ``plot_*`` functions return matplotlib Figures for the
notebooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gan_lab import runtime


def to_uint8(images) -> np.ndarray:
    """Images in [-1, 1] (float) to uint8 0..255; uint8 input is returned unchanged."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.round((images.astype(np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images, ncols: int | None = None, scale: int = 1, pad: int = 2) -> np.ndarray:
    """Tile images into one RGB uint8 picture.

    Args:
        images: (n, h, w, c) with c in {1, 3}, float in [-1, 1] or uint8.
        ncols: images per row (default: the smallest square that fits).
        scale: integer up-scaling with nearest neighbour, so 28 px digits stay crisp
            (default 1).
        pad: pixels of dark grey between tiles (default 2).

    Returns:
        uint8 array (rows * (h + pad) + pad, ...) of shape (H, W, 3).
    """
    images = to_uint8(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have shape (n, h, w, 1 or 3). Received: {images.shape}")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    if scale > 1:
        images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w, _ = images.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, 3), 48, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, ncols)
        grid[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = image
    return grid


def add_caption(image: np.ndarray, text: str, height: int = 22) -> np.ndarray:
    """Return ``image`` with a white strip of ``text`` above it (uint8 RGB)."""
    from PIL import Image, ImageDraw, ImageFont

    image = to_uint8(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    font = ImageFont.load_default(size=max(10, height - 8))
    width = image.shape[1]
    # Shrink the font until the caption fits the width.
    while (
        font.size > 8
        and ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(text, font) > width - 8
    ):
        font = ImageFont.load_default(size=font.size - 1)
    strip = Image.new("RGB", (width, height), (255, 255, 255))
    ImageDraw.Draw(strip).text((4, (height - font.size) // 2 - 1), text, fill=(0, 0, 0), font=font)
    return np.concatenate([np.asarray(strip), image], axis=0)


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write a uint8 image to ``path``, all or nothing (folders are created)."""
    import imageio.v3 as iio

    with runtime.atomic_path(path) as tmp:
        iio.imwrite(tmp, to_uint8(image))
    return Path(path)


def save_gif(
    frames: Sequence, path: str | Path, duration_ms: int = 250, hold_last_ms: int = 1500
) -> Path:
    """Assemble frames (arrays or PNG paths) into an endlessly looping animated GIF.

    Args:
        frames: uint8 images of one size, or paths to PNG files.
        path: the GIF to write, all or nothing (folders are created).
        duration_ms: display time of each frame (default 250 ms).
        hold_last_ms: display time of the last frame, so the result can be seen
            (default 1500 ms).

    Raises:
        ValueError: no frames, or frames of different sizes.
    """
    import imageio.v3 as iio

    images = [iio.imread(f) if isinstance(f, (str, Path)) else to_uint8(f) for f in frames]
    if not images:
        raise ValueError("save_gif needs at least one frame. Received: 0 frames")
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ValueError(f"All frames must have the same size. Received sizes: {sorted(shapes)}")
    durations = [duration_ms] * (len(images) - 1) + [hold_last_ms]
    with runtime.atomic_path(path) as tmp:
        iio.imwrite(tmp, np.stack(images), extension=".gif", duration=durations, loop=0)
    return Path(path)


def show_gif(path: str | Path):
    """Display a GIF inline in a notebook (returns an IPython display object)."""
    from IPython.display import Image

    return Image(data=Path(path).read_bytes(), format="gif")


def plot_images(
    images,
    title: str = "",
    ncols: int | None = None,
    labels: Sequence | None = None,
    cell: float = 0.9,
):
    """A matplotlib Figure of images in a grid, optionally with one label per image."""
    import matplotlib.pyplot as plt

    images = to_uint8(images)
    n = len(images)
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(ncols * cell, nrows * cell + 0.5), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            image = images[i]
            ax.imshow(
                image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=255
            )
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_history(history: dict, keys: Sequence[str] | None = None, title: str = "Losses"):
    """A matplotlib Figure of logged values against the step."""
    import matplotlib.pyplot as plt

    keys = keys or [k for k in history if k != "step"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for key in keys:
        ax.plot(history["step"], history[key], label=key)
    ax.set_xlabel("step")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def figure_to_array(fig) -> np.ndarray:
    """Render a matplotlib Figure to a uint8 RGB array and close it (for GIF frames)."""
    import matplotlib.pyplot as plt

    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return image


def plot_toy_1d(real_density, samples, xs, d_values, title: str = "", optimal_d=None):
    """One frame of a 1-D toy GAN: real density, histogram of fakes, and D's verdicts.

    Args:
        real_density: p_data evaluated at ``xs``.
        samples: generated samples (n,) or (n, 1).
        xs: the grid of x values, ascending.
        d_values: D(x) = sigmoid(logit) at ``xs``, in [0, 1].
        title: figure title.
        optimal_d: optional D*(x) = p_data / (p_data + p_g) at ``xs``, drawn dashed.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=90)
    ax.fill_between(xs, real_density, color="tab:green", alpha=0.35, label="real density p_data")
    ax.hist(
        np.ravel(samples),
        bins=80,
        range=(xs[0], xs[-1]),
        density=True,
        color="tab:blue",
        alpha=0.6,
        label="generated samples (histogram)",
    )
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(0, max(1.2, 1.15 * float(np.max(real_density))))
    ax.set_xlabel("x")
    ax.plot(xs, d_values, color="tab:red", lw=2, label="D(x): probability 'real'")
    if optimal_d is not None:
        ax.plot(xs, optimal_d, color="tab:red", lw=1, ls="--", label="D*(x) for this generator")
    ax.axhline(0.5, color="gray", lw=0.8, ls=":")
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_ring(samples, centers, title: str = "", ax=None, covered=None, limit: float = 2.6):
    """Where 2-D samples fall over the modes of the ring toy, as a density image.

    Args:
        samples: (n, 2) generated samples.
        centers: (modes, 2) mode centres, drawn as circles.
        title: axes title.
        ax: matplotlib Axes to draw into (default: a new figure).
        covered: optional boolean per mode; covered modes are circled green, missed red.
        limit: half-width of the square shown (default 2.6).

    Returns:
        The Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2), dpi=90)
    samples = np.asarray(samples)
    ax.hist2d(
        samples[:, 0],
        samples[:, 1],
        bins=90,
        range=[[-limit, limit], [-limit, limit]],
        norm=LogNorm(),
        cmap="viridis",
        cmin=1,
    )
    ax.set_facecolor("black")
    colors = (
        ["white"] * len(centers) if covered is None else ["lime" if c else "red" for c in covered]
    )
    ax.scatter(centers[:, 0], centers[:, 1], s=180, facecolors="none", edgecolors=colors, lw=1.5)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    return ax.figure
