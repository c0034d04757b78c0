import numpy as np
import pytest

from gan_lab import metrics


def test_confident_share_counts_max_probability_over_threshold():
    p = np.array([[0.95, 0.05], [0.6, 0.4], [0.02, 0.98], [0.5, 0.5]])
    assert metrics.confident_share(p, 0.9) == 0.5
    assert metrics.confident_share(p, 0.5) == 1.0


def test_class_coverage_counts_confident_predictions_per_class():
    p = np.array([[0.95, 0.05, 0.0], [0.6, 0.4, 0.0], [0.0, 0.02, 0.98], [0.0, 0.01, 0.99]])
    np.testing.assert_array_equal(metrics.class_coverage(p, 0.9), [1, 0, 2])


def test_confident_share_rejects_bad_input():
    with pytest.raises(ValueError, match="threshold"):
        metrics.confident_share(np.ones((2, 2)), 0.0)
    with pytest.raises(ValueError, match=r"\(n, classes\)"):
        metrics.confident_share(np.ones(3))


def test_digit_classifier_learns_separable_digits():
    from gan_lab import data

    x, y = data.synthetic_digits(400, seed=3)
    model, (held_x, held_y) = metrics.train_digit_classifier(x, y, epochs=4, batch_size=32)
    assert model.count_params() < 50_000 and len(held_x) == 40
    assert metrics.accuracy(model, held_x, held_y) > 0.8  # chance is 0.1
