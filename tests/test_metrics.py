import numpy as np
import pytest

from gan_lab import data, judges, metrics


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


def test_wasserstein_1d_known_values():
    assert metrics.wasserstein_1d([0.0, 0.0], [1.0, 1.0]) == pytest.approx(1.0)
    assert metrics.wasserstein_1d([0.0, 1.0], [0.0, 1.0]) == 0.0
    # Unequal sizes: {0} against {0, 2}: half the mass moves by 2.
    assert metrics.wasserstein_1d([0.0], [0.0, 2.0]) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 20_000), rng.normal(2, 1, 20_000)
    # Sampling error, not rounding (float64, numpy's seeded generator: the same numbers on
    # every machine): the estimate's sd is ~sqrt(2 / 20000) ~ 0.01, so 0.05 is 5 sd.
    assert metrics.wasserstein_1d(a, b) == pytest.approx(2.0, abs=0.05)  # shift of the means


def test_wasserstein_1d_matches_numpy_quantiles():
    rng = np.random.default_rng(1)
    a, b = rng.exponential(1.0, 5000), rng.uniform(0, 3, 5000)
    levels = (np.arange(5000) + 0.5) / 5000
    by_quantiles = np.mean(np.abs(np.quantile(a, levels) - np.quantile(b, levels)))
    # Two discretisations of the same integral (float64): they differ by the quantile
    # interpolation, O(1 / n) per level, not by rounding; 2% is that, not machine slack.
    assert metrics.wasserstein_1d(a, b) == pytest.approx(by_quantiles, rel=0.02)


def test_mode_coverage_counts_covered_modes_and_quality():
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    on_first = np.zeros((30, 2)) + [0.01, 0.0]
    few_on_second = np.tile([10.0, 0.05], (5, 1))  # 5 < min_count: not covered
    off_mode = np.tile([5.0, 5.0], (15, 1))
    result = metrics.mode_coverage(
        np.concatenate([on_first, few_on_second, off_mode]), centers, std=0.1, min_count=20
    )
    assert result["modes"] == 1
    assert result["high_quality"] == pytest.approx(35 / 50)
    assert result["per_mode"].tolist() == [30, 5, 0]


def test_mode_coverage_on_the_real_ring_is_perfect():
    from gan_lab import data

    real = data.sample_toy("ring", 2500, seed=0)
    result = metrics.mode_coverage(real, data.ring_centers(), std=0.02)
    assert result["modes"] == 8 and result["high_quality"] > 0.98


def test_image_scores_identical_and_known_perturbation():
    rng = np.random.default_rng(0)
    images = rng.uniform(0.2, 0.8, size=(3, 32, 32, 3)).astype(np.float32)
    same = metrics.image_scores(images * 2 - 1, images * 2 - 1)
    assert same["l1"] == 0.0 and same["ssim"] == pytest.approx(1.0) and np.isinf(same["psnr"])
    shifted = metrics.image_scores((images + 0.1) * 2 - 1, images * 2 - 1)
    # float32 values in [0, 1]: each pixel's difference is 0.1 within a few ulps of 1
    # (~1e-7), the mean of 3072 of them adds ~log2(3072) u relative (pairwise sum): 1e-6
    # abs on L1 is ~10x that; PSNR = -10 log10(MSE) moves by 4.3 x the relative error of
    # the MSE (~1e-6), so abs 1e-3 dB is loose. SSIM of identical images is exactly 1.
    assert shifted["l1"] == pytest.approx(0.1, abs=1e-6)
    assert shifted["psnr"] == pytest.approx(20.0, abs=1e-3)  # MSE 0.01 -> 20 dB
    assert shifted["ssim"] < 1.0


def test_image_scores_accept_uint8_and_check_shapes():
    a = np.zeros((1, 16, 16, 3), np.uint8)
    assert metrics.image_scores(a, a)["l1"] == 0.0
    with pytest.raises(ValueError, match="one shape"):
        metrics.image_scores(a, np.zeros((1, 8, 8, 3), np.uint8))


def test_digit_scores_compare_equal_sample_sizes_against_the_real_floor():
    model = judges.build_digit_classifier()
    real = data.synthetic_digits(40, seed=0)[0]
    # "Generated" images that are the second real half: exactly the floor.
    same = metrics.digit_scores(model, data.normalize(real[20:]), real)
    assert same["frechet_samples"] == 20
    assert same["frechet_real_floor"] > 0
    # The same images in batches of another size: equal up to float32 round-off.
    assert same["frechet_generated"] == pytest.approx(same["frechet_real_floor"], rel=1e-4)
    noise = np.random.default_rng(0).uniform(-1, 1, (30, 28, 28, 1)).astype(np.float32)
    scores = metrics.digit_scores(model, noise, real)
    assert scores["frechet_generated"] > scores["frechet_real_floor"]
    assert set(scores) == {
        "confident_share_generated",
        "confident_share_real",
        "classes_covered",
        "classes_covered_real",
        "frechet_generated",
        "frechet_real_floor",
        "frechet_samples",
    }
    with pytest.raises(ValueError, match="half as many generated"):
        metrics.digit_scores(model, noise[:10], real)


def test_segmentation_scores_known_values_leave_out_classes_absent_from_the_truth():
    truth = np.array([[0, 0, 0, 0], [0, 0, 1, 1]])  # class 2 is absent
    predicted = np.array([[0, 0, 0, 0], [0, 1, 1, 2]])  # one 0 -> 1, one 1 -> 2
    s = metrics.segmentation_scores(predicted, truth, num_classes=3)
    assert s["pixel_acc"] == pytest.approx(6 / 8)
    assert s["class_acc"] == pytest.approx((5 / 6 + 1 / 2) / 2)  # class 2 has no accuracy
    # IoU: class 0 5 / 6, class 1 1 / 3 (1 hit; 2 true, 2 said); class 2 (absent) left out
    assert s["iou"] == pytest.approx((5 / 6 + 1 / 3) / 2)
    assert s["classes"] == 2
    perfect = metrics.segmentation_scores(truth, truth, num_classes=3)
    assert perfect["pixel_acc"] == perfect["class_acc"] == perfect["iou"] == 1.0
    with pytest.raises(ValueError, match="one shape"):
        metrics.segmentation_scores(predicted[:1], truth, 3)
    with pytest.raises(ValueError, match="outside"):
        metrics.segmentation_scores(predicted + 1, truth, 3)


def test_fcn_scores_decode_the_label_maps_and_read_the_segmenters_argmax():
    from gan_lab import data

    labels, photos = data.synthetic_facades(3, seed=0, size=32)
    truth = data.label_classes(labels)

    def oracle(images, training=False):  # reads every photo perfectly (the same 3 in order)
        return np.eye(12, dtype=np.float32)[truth[: len(images)]]

    assert metrics.fcn_scores(oracle, photos, labels)["pixel_acc"] == 1.0
    wrong = metrics.fcn_scores(oracle, photos, labels[::-1])  # each label map of another photo
    assert wrong["pixel_acc"] == pytest.approx(np.mean(truth == truth[::-1]))
    with pytest.raises(ValueError, match="one label map per photo"):
        metrics.fcn_scores(oracle, photos, labels[:2])
