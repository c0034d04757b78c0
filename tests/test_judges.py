"""Judges: they learn what they judge, and training one neither reads nor changes the global
random generators (so judging does not change what a lesson draws afterwards)."""

import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_lab import data, judges, metrics, runtime


def _seed_all(seed):
    runtime.seed_everything(seed)


def _draws():
    """One draw from each global random generator a lesson uses."""
    return (
        random.random(),
        float(np.random.rand()),
        tf.random.normal([3]).numpy().tolist(),
        tf.random.get_global_generator().normal([3]).numpy().tolist(),
        keras.random.normal([3]).numpy().tolist(),
    )


def test_judge_training_leaves_the_global_random_generators_alone():
    x, y = data.synthetic_digits(200, seed=1)
    _seed_all(7)
    expected = _draws()
    _seed_all(7)
    judges.train_digit_classifier(x, y, epochs=1, batch_size=64, seed=0)
    assert _draws() == expected


def test_judge_weights_come_from_its_own_seed_not_the_global_state():
    _seed_all(1)
    a = judges.build_digit_classifier(seed=3).get_weights()
    _seed_all(2)
    random.random(), np.random.rand(), keras.random.normal([5])  # move every global stream
    b = judges.build_digit_classifier(seed=3).get_weights()
    c = judges.build_digit_classifier(seed=4).get_weights()
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, c))


def test_digit_outputs_are_probabilities_and_the_64_penultimate_activations():
    model = judges.build_digit_classifier()
    images = data.synthetic_digits(5, seed=0)[0]
    probs, features = judges.digit_outputs(model, images)
    assert probs.shape == (5, 10) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert features.shape == (5, 64) and features.dtype == np.float64
    assert (features >= 0).all()  # ReLU outputs
    _, scaled = judges.digit_outputs(model, data.normalize(images))  # uint8 or [-1, 1] alike
    np.testing.assert_allclose(features, scaled, rtol=1e-6, atol=1e-6)


def fruit():
    return data.synthetic_fruit(8, "apple", seed=0, size=16), data.synthetic_fruit(
        8, "orange", seed=1, size=16
    )


def test_domain_judge_training_leaves_the_global_generators_alone():
    apples, oranges = fruit()
    _seed_all(7)
    expected = _draws()
    _seed_all(7)
    judges.train_domain_classifier(apples, oranges, epochs=1, batch_size=8, seed=3)
    assert _draws() == expected


@pytest.mark.slow  # two trainings
def test_domain_judge_follows_its_own_seed_whatever_the_global_state():
    apples, oranges = fruit()
    _seed_all(7)
    a = judges.train_domain_classifier(apples, oranges, epochs=1, batch_size=8, seed=3)
    _seed_all(8)
    b = judges.train_domain_classifier(apples, oranges, epochs=1, batch_size=8, seed=3)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


@pytest.mark.slow
def test_digit_classifier_learns_separable_digits():
    x, y = data.synthetic_digits(400, seed=3)
    model, (held_x, held_y) = judges.train_digit_classifier(x, y, epochs=4, batch_size=32)
    assert model.count_params() == 121_930 and len(held_x) == 40  # as its docstring says
    predicted = judges.digit_outputs(model, held_x)[0].argmax(axis=1)
    assert np.mean(predicted == held_y) > 0.8  # chance is 0.1


@pytest.mark.slow
def test_domain_classifier_separates_synthetic_fruit():
    apples = data.synthetic_fruit(60, "apple", seed=0, size=32)
    oranges = data.synthetic_fruit(60, "orange", seed=1, size=32)
    clf = judges.train_domain_classifier(apples, oranges, epochs=8)
    test_a = data.synthetic_fruit(20, "apple", seed=5, size=32)
    test_b = data.synthetic_fruit(20, "orange", seed=6, size=32)
    unchanged = lambda images, training=False: images  # noqa: E731
    scores = metrics.cyclegan_scores(unchanged, unchanged, test_a, test_b, clf)
    assert scores["real_accuracy"] > 0.8


@pytest.mark.slow  # a training, traced (about 20 s on a busy 2-core CPU)
def test_facade_segmenter_training_leaves_the_global_generators_alone():
    labels, photos = data.synthetic_facades(4, seed=0, size=16)
    _seed_all(7)
    expected = _draws()
    _seed_all(7)
    segmenter = judges.train_facade_segmenter(photos, labels, epochs=1, image_size=16, seed=3)
    assert _draws() == expected
    assert segmenter.output.shape == (None, 16, 16, 12)


@pytest.mark.slow
def test_facade_segmenter_reads_real_synthetic_photos_better_than_the_mean_photo():
    """The FCN-score's order on quick mode's data: the real photos (the ceiling) read back
    well, far above the mean training photo (the floor), which ignores the label map."""
    labels, photos = data.synthetic_facades(80, seed=0, size=32)
    test_labels, test_photos = data.synthetic_facades(20, seed=1, size=32)
    assert judges.build_facade_segmenter(64).count_params() == 295_984  # as its docstring says
    segmenter = judges.train_facade_segmenter(photos, labels, epochs=4, image_size=32)
    real = metrics.fcn_scores(segmenter, test_photos, test_labels)
    mean_photo = np.broadcast_to(photos.mean(axis=0).round().astype(np.uint8), test_photos.shape)
    floor = metrics.fcn_scores(segmenter, mean_photo, test_labels)
    assert real["pixel_acc"] > floor["pixel_acc"] + 0.1, (real, floor)  # measured: 0.66, 0.52
    assert real["iou"] > floor["iou"], (real, floor)
