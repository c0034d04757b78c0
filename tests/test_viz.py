import numpy as np
import pytest
from PIL import Image

from gan_lab import viz


def test_image_grid_tiles_and_scales():
    images = np.zeros((5, 4, 6, 1), np.float32)
    grid = viz.image_grid(images, ncols=3, scale=2, pad=1)
    assert grid.shape == (2 * (8 + 1) + 1, 3 * (12 + 1) + 1, 3) and grid.dtype == np.uint8
    assert grid[1, 1].tolist() == [128, 128, 128]  # 0.0 in [-1, 1] is mid grey


def test_to_uint8_maps_range_ends():
    assert viz.to_uint8(np.array([-1.0, 1.0, 5.0])).tolist() == [0, 255, 255]


def test_caption_adds_strip_above():
    image = np.zeros((40, 200, 3), np.uint8)
    out = viz.add_caption(image, "SYNTHETIC step 10", height=20)
    assert out.shape == (60, 200, 3) and out[:20].mean() > 200


def test_gif_is_animated_with_every_frame(tmp_path):
    frames = [np.full((10, 12, 3), 40 * i, np.uint8) for i in range(6)]
    pngs = [viz.save_png(f, tmp_path / f"f{i}.png") for i, f in enumerate(frames)]
    path = viz.save_gif(pngs, tmp_path / "out" / "progress.gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.is_animated and gif.n_frames == 6
        assert gif.info.get("loop") == 0


def test_gif_rejects_mixed_sizes_and_empty(tmp_path):
    with pytest.raises(ValueError, match="same size"):
        viz.save_gif(
            [np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)], tmp_path / "x.gif"
        )
    with pytest.raises(ValueError, match="0 frames"):
        viz.save_gif([], tmp_path / "x.gif")
