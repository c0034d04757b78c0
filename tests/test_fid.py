"""FID and KID (gan_lab.metrics, gan_lab.inception): hand-computed values, independent
references, the InceptionV3 extractor's preprocessing and dtype, the offline error and
``gan-lab score``.

The references here share no code with gan_lab: FID's matrix square root by eigen-
decomposition of sqrt(S_a) S_b sqrt(S_a) (gan_lab uses an SVD of covariance factors) and by
the Denman-Beavers iteration; KID by an explicit double loop.
"""

import json

import numpy as np
import pytest

from gan_lab import cli, inception, metrics
from gan_lab.errors import DataError, DatasetNotFoundError


@pytest.fixture(autouse=True)
def _no_inception_download(tmp_path, monkeypatch):
    """An empty Keras cache, and a closed local port instead of the weights' URL: the
    weights are never downloaded by a test (as on an offline machine)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(
        inception, "INCEPTION_URL", "http://127.0.0.1:9/" + inception.INCEPTION_WEIGHTS
    )


# --------------------------------------------------------------------------- references


def _sqrtm_psd(s):
    """Square root of a symmetric PSD matrix by eigendecomposition (round-off clipped)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _fid_by_eigh(a, b):
    """FID with Tr((S_a S_b)^1/2) = Tr((sqrt(S_a) S_b sqrt(S_a))^1/2) (symmetric PSD)."""
    sa, sb = np.cov(a, rowvar=False, ddof=1), np.cov(b, rowvar=False, ddof=1)
    sa, sb = np.atleast_2d(sa), np.atleast_2d(sb)
    root = _sqrtm_psd(sa)
    eigenvalues = np.linalg.eigvalsh(root @ sb @ root)
    # Zero eigenvalues (n < d) come out as +-eps * max; their square roots, ~1e-8 * max^1/2
    # each, would swamp the comparison: treat values below d * eps * max as the zeros they are.
    zero = eigenvalues < len(sa) * np.finfo(float).eps * max(eigenvalues.max(), 0)
    trace_sqrt = np.sqrt(np.where(zero, 0.0, eigenvalues)).sum()
    diff = a.mean(0) - b.mean(0)
    return diff @ diff + np.trace(sa) + np.trace(sb) - 2 * trace_sqrt


def _sqrtm_denman_beavers(m, iterations=60):
    """Principal square root of a (non-symmetric) matrix with positive eigenvalues."""
    y, z = m.copy(), np.eye(len(m))
    for _ in range(iterations):
        y, z = (y + np.linalg.inv(z)) / 2, (z + np.linalg.inv(y)) / 2
    return y


def _closed_form_fid(mu1, s1, mu2, s2):
    """FID of two Gaussians, via Denman-Beavers on the product S1 S2."""
    return np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * _sqrtm_denman_beavers(s1 @ s2))


def _kid_by_loops(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, written out term by term."""
    m, d = len(x), x.shape[1]
    k = lambda p, q: (float(np.dot(p, q)) / d + 1.0) ** 3
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / m**2


def _with_exact_moments(rng, n, mean, cov):
    """n samples whose sample mean and covariance (ddof 1) are exactly ``mean`` and ``cov``
    (up to round-off): whitened standard normals, recoloured. Needs n > d."""
    z = rng.normal(size=(n, len(mean)))
    z -= z.mean(0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return mean + z @ np.linalg.cholesky(cov).T


def _random_covariance(rng, d, floor):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + floor * np.eye(d)


# --------------------------------------------------------------------------- FID


def test_frechet_distance_hand_computed():
    # 1-D: means 1 and 3, variances (ddof 1) 2 and 8: 4 + 2 + 8 - 2 sqrt(16) = 6.
    assert metrics.frechet_distance([[0.0], [2.0]], [[1.0], [5.0]]) == pytest.approx(6.0, 1e-12)
    # 2-D, diagonal covariances 4/3 I and 16/3 I, means (1, 1) and (3, 2):
    # 5 + 2 (sqrt(4/3) - sqrt(16/3))^2 = 5 + 8/3.
    a = np.array([[0, 0], [2, 0], [0, 2], [2, 2]], float)
    assert metrics.frechet_distance(a, 2 * a + [1, 0]) == pytest.approx(5 + 8 / 3, rel=1e-12)


def test_frechet_distance_equals_the_closed_form_for_exact_moments():
    """Samples with exactly the Gaussians' mean and covariance: FID is the closed form (the
    squared 2-Wasserstein distance of N(mu1, S1) and N(mu2, S2)) up to round-off, for
    covariances that do not commute."""
    rng = np.random.default_rng(0)
    d = 6
    s1, s2 = _random_covariance(rng, d, 0.5), _random_covariance(rng, d, 0.1)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    assert not np.allclose(s1 @ s2, s2 @ s1)
    expected = _closed_form_fid(mu1, s1, mu2, s2)
    a, b = _with_exact_moments(rng, 50, mu1, s1), _with_exact_moments(rng, 80, mu2, s2)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_samples_approaches_the_closed_form():
    """Plain random samples: the mean of 20 FIDs at n = 4000 lies within 4 standard errors
    of the closed form (FID's upward bias, O(d / n), is far smaller than that here)."""
    rng = np.random.default_rng(1)
    d = 4
    s1, s2 = _random_covariance(rng, d, 0.5), _random_covariance(rng, d, 0.1)
    mu1, mu2 = np.zeros(d), np.arange(d) / 2
    values = [
        metrics.frechet_distance(
            rng.multivariate_normal(mu1, s1, 4000), rng.multivariate_normal(mu2, s2, 4000)
        )
        for _ in range(20)
    ]
    standard_error = np.std(values, ddof=1) / np.sqrt(len(values))
    assert abs(np.mean(values) - _closed_form_fid(mu1, s1, mu2, s2)) < 4 * standard_error


@pytest.mark.parametrize("n_a, n_b, d", [(10, 12, 64), (3, 50, 100), (2, 2, 5), (300, 40, 30)])
def test_frechet_distance_rank_deficient_is_finite_real_and_matches_references(n_a, n_b, d):
    """n < d: the covariances are singular (rank n - 1), where sqrtm of the product returns
    complex values; gan_lab's result is a finite, real, non-negative float that equals the
    eigendecomposition reference (the difference: round-off of d x d products, ~1e-13)."""
    rng = np.random.default_rng(n_a + n_b + d)
    a = rng.normal(size=(n_a, d)) * rng.uniform(0.1, 3, d)
    b = rng.normal(size=(n_b, d)) + rng.normal(size=d)
    value = metrics.frechet_distance(a, b)
    assert isinstance(value, float) and np.isfinite(value) and value >= 0
    assert value == pytest.approx(_fid_by_eigh(a, b), rel=1e-9)


def test_frechet_distance_full_rank_matches_denman_beavers():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(400, 8)) @ rng.normal(size=(8, 8))
    b = rng.normal(size=(500, 8)) @ rng.normal(size=(8, 8)) + 1.0
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = _closed_form_fid(a.mean(0), sa, b.mean(0), sb)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("n, d", [(10, 64), (500, 8)])
def test_frechet_distance_identical_sets_is_zero_and_symmetric(n, d):
    """FID(a, a) = 2 Tr(S) - 2 (sum of the singular values of F^T F), F F^T = S. A backward-
    stable SVD gets each singular value within a small multiple of eps * sigma_max, so
    the difference is at most ~ k eps Tr(S) with k <= 64 values: 1e-10 Tr(S) is a bound
    with a wide margin (float64 eps = 2.2e-16)."""
    rng = np.random.default_rng(4)
    a = rng.normal(size=(n, d)) * 10
    b = rng.normal(size=(n + 3, d))
    trace = np.trace(np.cov(a, rowvar=False))
    assert 0.0 <= metrics.frechet_distance(a, a) <= 1e-10 * trace
    assert metrics.frechet_distance(a, a + 2.0) == pytest.approx(4.0 * d, rel=1e-9)  # shift
    assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a), 1e-12)


def test_frechet_distance_accepts_float32_and_rejects_bad_input():
    rng = np.random.default_rng(5)
    a32 = rng.normal(size=(20, 4)).astype(np.float32)
    assert metrics.frechet_distance(a32, a32 + 1) == pytest.approx(4.0, rel=1e-6)
    with pytest.raises(ValueError, match="differ in d"):
        metrics.frechet_distance(np.ones((3, 2)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="n >= 2"):
        metrics.frechet_distance(np.ones((1, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.frechet_distance(np.full((3, 2), np.nan), np.ones((3, 2)))


# --------------------------------------------------------------------------- KID


def test_kernel_distance_hand_computed():
    # d = 1, k(x, y) = (xy + 1)^3. {0, 1}: k(0, 1) = 1; {0, 2}: k(0, 2) = 1; cross terms
    # k(0, 0), k(0, 2), k(1, 0) = 1 and k(1, 2) = 27: 1 + 1 - 2 * 30 / 4 = -13.
    assert metrics.kernel_distance([[0.0], [1.0]], [[0.0], [2.0]]) == (-13.0, 0.0)


def test_kernel_distance_matches_the_double_loop_and_is_symmetric():
    """With subset_size >= n every subset is the whole set, so the estimate is exact (no
    sampling) and symmetric."""
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(7, 3)) + 0.3
    mean, std = metrics.kernel_distance(x, y, subsets=3)
    assert mean == pytest.approx(_kid_by_loops(x, y), rel=1e-12) and std < 1e-12
    assert metrics.kernel_distance(y, x, subsets=3)[0] == pytest.approx(mean, rel=1e-12)


def test_kernel_distance_is_unbiased():
    """Two samples of one distribution: the mean of 300 independent estimates is within 4
    standard errors of 0, while the biased (V-statistic) estimator of the same pairs is
    many standard errors above 0, so the test can tell the two apart."""
    rng = np.random.default_rng(7)
    n, d = 20, 8
    unbiased, biased = [], []
    for _ in range(300):
        x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        unbiased.append(metrics.kernel_distance(x, y, subsets=1)[0])
        k = lambda p, q: (p @ q.T / d + 1) ** 3
        biased.append((k(x, x).sum() + k(y, y).sum() - 2 * k(x, y).sum()) / n**2)
    bound = 4 * np.std(unbiased, ddof=1) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < bound
    assert np.mean(biased) > 4 * bound


def test_kernel_distance_sees_a_shift_and_is_reproducible():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(300, 16)), rng.normal(size=(200, 16)) + 0.5
    mean, std = metrics.kernel_distance(x, y, subsets=20, subset_size=100)
    assert mean > 5 * std > 0
    assert metrics.kernel_distance(x, y, subsets=20, subset_size=100) == (mean, std)  # seed 0
    assert metrics.kernel_distance(x, y, subsets=20, subset_size=100, rng=1) != (mean, std)


def test_kernel_distance_rejects_bad_arguments():
    with pytest.raises(ValueError, match="subset_size"):
        metrics.kernel_distance(np.ones((3, 2)), np.ones((3, 2)), subset_size=1)
    with pytest.raises(ValueError, match="differ in d"):
        metrics.kernel_distance(np.ones((3, 2)), np.ones((3, 4)))


# --------------------------------------------------------------------------- the extractor


class _Stub:
    """A feature function: per-channel mean and standard deviation (6 features); records
    the batches it is given."""

    def __init__(self):
        self.shapes = []

    def __call__(self, x):
        x = np.asarray(x)
        self.shapes.append(x.shape)
        return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=1)


def test_inception_features_preprocessing_and_batching():
    stub = _Stub()
    images = np.zeros((7, 20, 30, 3), np.uint8)
    images[:, :, :, 0] = 255  # red: the red channel becomes +1, the others -1
    images[3] = 0
    features = inception.inception_features(images, batch_size=3, extractor=stub, progress=False)
    assert features.shape == (7, 6) and features.dtype == np.float32
    assert stub.shapes == [(3, 299, 299, 3), (3, 299, 299, 3), (1, 299, 299, 3)]
    np.testing.assert_allclose(features[0, :3], [1, -1, -1], atol=1e-6)
    np.testing.assert_allclose(features[3, :3], [-1, -1, -1], atol=1e-6)
    # Floats in [-1, 1] (the generators' range) are the same images.
    floats = images.astype(np.float32) / 127.5 - 1
    again = inception.inception_features(floats, extractor=_Stub(), progress=False)
    np.testing.assert_allclose(again, features, atol=1e-5)


def test_inception_features_grayscale_and_mixed_sizes():
    gray = np.full((2, 28, 28, 1), 255, np.uint8)
    features = inception.inception_features(gray, extractor=_Stub(), progress=False)
    np.testing.assert_allclose(features[:, :3], 1.0, atol=1e-6)
    mixed = [np.zeros((256, 256, 3), np.uint8), np.full((40, 60), 255, np.uint8)]
    stub = _Stub()
    features = inception.inception_features(mixed, extractor=stub, progress=False)
    assert stub.shapes == [(2, 299, 299, 3)]
    np.testing.assert_allclose(features[:, :3], [[-1, -1, -1], [1, 1, 1]], atol=1e-6)


def test_inception_features_rejects_bad_images():
    with pytest.raises(ValueError, match=r"within \[-1, 1\]"):
        inception.inception_features(np.full((2, 8, 8, 3), 3.0), extractor=_Stub())
    with pytest.raises(ValueError, match="shape"):
        inception.inception_features(np.zeros((2, 8, 8, 4), np.uint8), extractor=_Stub())
    with pytest.raises(ValueError, match="at least one"):
        inception.inception_features(np.zeros((0, 8, 8, 3), np.uint8), extractor=_Stub())


def test_offline_without_weights_names_the_file_and_where_to_put_it(tmp_path):
    """The default extractor is the one users get: with an empty Keras cache and no network
    it raises (never random weights), naming the file, the folder and the URL."""
    images = np.zeros((2, 8, 8, 3), np.uint8)
    folder = tmp_path / "keras_home" / "models"
    with pytest.raises(DatasetNotFoundError) as caught:
        inception.inception_features(images, progress=False)
    message = str(caught.value)
    assert inception.INCEPTION_WEIGHTS in message and str(folder) in message
    assert "could not be downloaded" in message and inception.INCEPTION_URL in message
    assert "~/.keras/models/" in message and "random weights" in message
    assert not (folder / inception.INCEPTION_WEIGHTS).exists()
    with pytest.raises(DatasetNotFoundError, match="is not in"):
        inception.build_inception(download_missing=False)


def test_a_wrong_weights_file_is_refused(tmp_path):
    folder = tmp_path / "keras_home" / "models"
    folder.mkdir(parents=True)
    (folder / inception.INCEPTION_WEIGHTS).write_bytes(b"not the weights")
    with pytest.raises(DataError, match="md5"):
        inception.build_inception()


@pytest.mark.slow  # three random-weight InceptionV3 builds and 299-px passes: ~20 s on CPU
@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16", "mixed_float16"])
def test_inception_extractor_is_float32_2048_under_every_policy(precision):
    import keras

    keras.mixed_precision.set_global_policy(precision)
    model = inception._inception_v3(None)  # the architecture alone: random weights
    assert keras.config.dtype_policy().name == precision  # the global policy is restored
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    features = inception.inception_features(images, extractor=model, progress=False)
    assert features.shape == (2, 2048) and features.dtype == np.float32
    assert np.all(np.isfinite(features)) and np.all(features >= 0)  # ReLU then average pool
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}


def test_inception_scores_with_a_stub():
    rng = np.random.default_rng(9)
    real = rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    fake = rng.integers(0, 128, (5, 16, 16, 3), dtype=np.uint8)
    scores = inception.inception_scores(real, fake, extractor=_Stub(), progress=False)
    assert set(scores) == {"fid", "kid", "kid_std", "real_images", "fake_images", "kid_subset_size"}
    assert scores["fid"] > 0 and (scores["real_images"], scores["fake_images"]) == (6, 5)
    assert scores["kid_subset_size"] == 5
    same = inception.inception_scores(real, real, extractor=_Stub(), progress=False)
    assert same["fid"] < 1e-9


# --------------------------------------------------------------------------- gan-lab score


def _folder(path, n, seed, low=0, high=256):
    from PIL import Image

    path.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        size = (24 + 8 * i, 32)  # any sizes
        pixels = rng.integers(low, high, (*size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path / f"{i}.png")
    return path


def test_score_command_prints_fid_and_kid(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(inception, "build_inception", lambda: _Stub())
    real, fake = _folder(tmp_path / "real", 4, 0), _folder(tmp_path / "fake", 3, 1, high=100)
    assert cli.main(["score", "--real", str(real), "--fake", str(fake)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["fid"] > 0 and (result["real_images"], result["fake_images"]) == (4, 3)
    assert result["real"] == str(real) and "kid" in result and "InceptionV3" in result["features"]


def test_score_command_bad_folders_and_no_weights_exit_2(tmp_path, capsys):
    real, one = _folder(tmp_path / "real", 3, 0), _folder(tmp_path / "one", 1, 1)
    assert cli.main(["score", "--real", str(tmp_path / "missing"), "--fake", str(real)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["score", "--real", str(real), "--fake", str(one)]) == 2
    assert "at least 2" in capsys.readouterr().err
    assert cli.main(["score", "--real", str(real), "--fake", str(real)]) == 2  # offline
    assert inception.INCEPTION_WEIGHTS in capsys.readouterr().err
