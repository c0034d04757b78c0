"""CycleGAN's image pool: fills, then returns a stored image about half the time."""

import numpy as np
import tensorflow as tf

from gan_lab import image_pool


def test_image_pool_fills_then_swaps_about_half():
    tf.random.set_seed(0)
    pool = image_pool.ImagePool((1, 1, 1), size=4)
    first = [float(pool(tf.fill([1, 1, 1, 1], float(i)))[0, 0, 0, 0]) for i in range(4)]
    assert first == [0.0, 1.0, 2.0, 3.0] and int(pool.count) == 4
    returned = [float(pool(tf.fill([1, 1, 1, 1], 100.0 + i))[0, 0, 0, 0]) for i in range(100)]
    old = sum(r < 100.0 + i for i, r in enumerate(returned))  # a stored, older image
    assert 30 < old < 70  # Binomial(100, 1/2): mean 50, sd 5; TF's seeded Philox draws


def test_image_pool_of_size_zero_is_a_no_op():
    images = tf.random.uniform([2, 3, 3, 1])
    np.testing.assert_array_equal(image_pool.ImagePool((3, 3, 1), size=0)(images), images)
