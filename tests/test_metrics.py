import numpy as np
import pytest
import torch

from lib import cli, inception, metrics
from lib.classifier import MNISTClassifier, load_classifier, save_classifier
from lib.cli import metrics as metrics_cli
from lib.inception import MissingWeightsError
from lib.metrics import (ClassifierFeatures, as_uint8_images, fid_from_features, inception_score_from_logits,
                         precision_recall)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return MNISTClassifier().eval()


def exact_standard(n, d, seed):
    """n points whose sample mean is exactly 0 and sample covariance (n - 1 denominator) exactly I."""
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x = x - x.mean(0)
    cov = x.t().mm(x) / (n - 1)
    return x @ torch.linalg.inv(torch.linalg.cholesky(cov)).t()


def test_fid_of_a_set_with_itself_is_zero(net):
    f = torch.randn(500, 128, generator=torch.Generator().manual_seed(1))
    assert abs(fid_from_features(f, f, net)) < 1e-6


def test_fid_closed_form_gaussians(net):
    # FID(N(0, I), N(mu, s^2 I)) = |mu|^2 + d (1 - s)^2
    d, s = 8, 1.5
    x = exact_standard(2000, d, 2)
    mu = torch.arange(d, dtype=torch.float64) / 4
    y = mu + s * exact_standard(3000, d, 3)
    expected = float((mu**2).sum() + d * (1 - s) ** 2)
    assert fid_from_features(x, y, net) == pytest.approx(expected, rel=1e-6)


def test_fid_state_injection_matches_feeding_images(net):
    from torchmetrics.image.fid import FrechetInceptionDistance

    g = torch.Generator().manual_seed(4)
    real = torch.randint(0, 256, (60, 1, 28, 28), generator=g, dtype=torch.uint8)
    fake = torch.randint(0, 128, (50, 1, 28, 28), generator=g, dtype=torch.uint8)
    fe = ClassifierFeatures(net)
    m = FrechetInceptionDistance(feature=fe)
    m.update(real, real=True)
    m.update(fake, real=False)
    assert fid_from_features(fe(real), fe(fake), net) == pytest.approx(float(m.compute()), rel=1e-5)


@pytest.mark.parametrize("m", [1, 3, 10])
@pytest.mark.parametrize("gap", [100.0, 400.0])  # 400: softmax underflows to exactly 0 in float32
def test_inception_score_of_one_hot_predictions_counts_classes(net, m, gap):
    n = 600
    logits = torch.full((n, 10), -gap / 2)
    logits[torch.arange(n), torch.arange(n) % m] = gap / 2  # confident, classes used equally
    assert inception_score_from_logits(logits, net) == pytest.approx(m, rel=1e-4)


def test_inception_score_of_uniform_predictions_is_one(net):
    assert inception_score_from_logits(torch.zeros(100, 10), net) == pytest.approx(1.0, abs=1e-6)


def brute_force_precision_recall(real, fake, k):
    """Direct transcription of Kynkaanniemi et al. (2019), in numpy, point by point."""
    real, fake = np.asarray(real, float), np.asarray(fake, float)

    def radii(x):
        d = np.linalg.norm(x[:, None] - x[None], axis=-1)
        return np.sort(d, axis=1)[:, k]  # column 0 is the point itself

    def inside(ref, r, q):
        return np.array([np.any(np.linalg.norm(ref - p, axis=1) <= r) for p in q])

    return inside(real, radii(real), fake).mean(), inside(fake, radii(fake), real).mean()


@pytest.mark.parametrize("k", [1, 3])
def test_precision_recall_matches_brute_force_in_general_position(k):
    g = torch.Generator().manual_seed(5)
    real = torch.randn(150, 4, generator=g, dtype=torch.float64)
    fake = 0.8 * torch.randn(120, 4, generator=g, dtype=torch.float64) + 0.6  # overlapping, shifted, narrower
    p, r = precision_recall(real, fake, k=k)
    bp, br = brute_force_precision_recall(real, fake, k)
    assert (p, r) == pytest.approx((bp, br), abs=1e-6)  # the same counts (one point is 1/150 or 1/120)
    assert 0.05 < p < 0.999 and 0.05 < r < 0.999  # a case where the radii matter


def test_precision_recall_on_toy_sets():
    grid = torch.stack(torch.meshgrid(torch.arange(20.0), torch.arange(20.0), indexing="ij"), -1).reshape(-1, 2)
    assert precision_recall(grid, grid.clone()) == (1.0, 1.0)
    far = grid + 1000
    assert precision_recall(grid, far) == (0.0, 0.0)
    # fakes packed in one corner of the real support: all realistic (precision 1), little coverage
    corner = grid[(grid[:, 0] < 5) & (grid[:, 1] < 5)]
    corner = corner.repeat(16, 1) + 0.01 * torch.randn(len(corner) * 16, 2, generator=torch.Generator().manual_seed(0))
    p, r = precision_recall(grid, corner)
    assert p == 1.0 and r < 0.15
    with pytest.raises(ValueError, match="k must be"):
        precision_recall(grid[:3], grid[:3], k=3)


def test_reference_subset_is_what_feature_scores_compare_with(net):
    g = torch.Generator().manual_seed(7)
    real = torch.randn(300, 8, generator=g, dtype=torch.float64)
    fake = torch.randn(40, 8, generator=g, dtype=torch.float64) + 0.3
    subsets = [metrics.reference_subset(real, 40, seed) for seed in (0, 1)]
    assert subsets[0].shape == (40, 8) and not torch.equal(subsets[0], subsets[1])
    assert torch.equal(subsets[0], metrics.reference_subset(real, 40, 0))  # seeded: the same subset again
    assert len({tuple(row.tolist()) for row in subsets[0]}) == 40  # drawn without replacement
    for seed, subset in enumerate(subsets):
        scores = metrics.feature_scores(real, fake, torch.nn.Identity(), seed=seed)
        assert (scores["precision"], scores["recall"]) == precision_recall(subset, fake)
    with pytest.raises(ValueError, match="reference subset needs 1 <= n <= 300"):
        metrics.reference_subset(real, 301)


def test_kid_is_unbiased_and_matches_feeding_images(net):
    from torchmetrics.image.kid import KernelInceptionDistance

    g = torch.Generator().manual_seed(6)
    a, b = torch.randn(400, 16, generator=g), torch.randn(400, 16, generator=g)
    kids = [metrics.kid_from_features(a, b, net, subsets=20, subset_size=200, seed=s)[0] for s in range(5)]
    assert abs(np.mean(kids)) < 0.01  # same distribution: the unbiased MMD^2 is centred at 0
    assert metrics.kid_from_features(a, b + 1.0, net, subsets=20, subset_size=200)[0] > 0.1
    real = torch.randint(0, 256, (60, 1, 28, 28), generator=g, dtype=torch.uint8)
    fake = torch.randint(0, 100, (50, 1, 28, 28), generator=g, dtype=torch.uint8)
    fe = ClassifierFeatures(net)
    m = KernelInceptionDistance(feature=fe, subsets=10, subset_size=40)
    m.update(real, real=True)
    m.update(fake, real=False)
    torch.manual_seed(3)
    expected = float(m.compute()[0])
    got = metrics.kid_from_features(fe(real), fe(fake), net, subsets=10, subset_size=40, seed=3)[0]
    assert got == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_feature_scaling_matches_the_classifier_input(net, fake_mnist):
    from lib.data import load_mnist

    data = load_mnist("test", root=fake_mnist, download=False)
    u8 = ((data.images + 1) * 127.5).round().to(torch.uint8)
    assert torch.allclose(ClassifierFeatures(net)(u8), net.features(data.images), atol=1e-5)


def test_image_validation():
    assert as_uint8_images(np.zeros((3, 28, 28), np.uint8)).shape == (3, 1, 28, 28)
    assert as_uint8_images(torch.ones(2, 1, 28, 28)).max() == 255
    with pytest.raises(ValueError, match="shape"):
        as_uint8_images(np.zeros((3, 32, 32), np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        as_uint8_images(np.full((3, 28, 28), 2.0))
    with pytest.raises(ValueError, match="at least 2"):
        as_uint8_images(np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="dtype"):
        as_uint8_images(np.zeros((3, 28, 28), np.int64))


def test_standard_fid_without_weights_says_what_is_missing(tmp_path):
    with pytest.raises(MissingWeightsError, match="InceptionV3 weights.*--inception-weights"):
        inception.inception_fid_metric(None)
    with pytest.raises(MissingWeightsError, match=f"not found at '{tmp_path / 'w.pth'}'"):
        inception.inception_fid_metric(tmp_path / "w.pth")


@pytest.fixture
def tiny_setup(tmp_path, fake_mnist, net, monkeypatch):
    path = save_classifier(net, {"test_accuracy": 0.0}, tmp_path / "cls.pt")
    monkeypatch.setenv(metrics.CACHE_ENV, str(tmp_path / "cache"))
    return load_classifier(path), fake_mnist


def test_reference_features_are_cached(tiny_setup, tmp_path):
    cls, data = tiny_setup
    a = metrics.reference_features(cls, data)
    files = list((tmp_path / "cache").glob("ref-test-*.pt"))
    assert len(files) == 1 and a["features"].shape == (60, 128)
    marked = dict(a, features=a["features"] + 1000)  # same checksums, different content
    torch.save(marked, files[0])
    b = metrics.reference_features(cls, data)
    assert torch.equal(b["features"], a["features"] + 1000)  # served from the cache, not recomputed
    other = load_classifier(save_classifier(MNISTClassifier(), {}, tmp_path / "other.pt"))
    metrics.reference_features(other, data)
    assert len(list((tmp_path / "cache").glob("ref-test-*.pt"))) == 2  # another classifier, another entry


def test_score_reports_every_metric(tiny_setup):
    cls, data = tiny_setup
    images = np.random.default_rng(0).integers(0, 256, (40, 28, 28), dtype=np.uint8)
    out = metrics.score(images, cls, data_root=data)
    assert set(out) == {"fid", "kid", "kid_std", "is", "precision", "recall", "n"} and out["n"] == 40
    assert 1.0 <= out["is"] <= 10.0 and 0 <= out["precision"] <= 1 and 0 <= out["recall"] <= 1
    from lib.data import load_mnist

    real = ((load_mnist("train", root=data, download=False).images[:40] + 1) * 127.5).round().to(torch.uint8)
    real_scores = metrics.score(real, cls, data_root=data)
    assert real_scores["fid"] < out["fid"] and real_scores["kid"] < out["kid"]
    assert real_scores["precision"] > out["precision"] and real_scores["recall"] > out["recall"]


def run_cli(argv, capsys):
    try:
        code = cli.run(metrics_cli.main, argv, prog="python -m lib.metrics")
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err.strip()


def test_cli_error_paths(tmp_path, capsys):
    code, _, err = run_cli([str(tmp_path / "none.npz")], capsys)
    assert code != 0 and "no such file" in err and "\n" not in err
    np.savez(tmp_path / "other.npz", pictures=np.zeros((3, 28, 28), np.uint8))
    code, _, err = run_cli([str(tmp_path / "other.npz")], capsys)
    assert code != 0 and "no 'images' array" in err
    np.savez(tmp_path / "shape.npz", images=np.zeros((3, 32, 32), np.uint8))
    code, _, err = run_cli([str(tmp_path / "shape.npz")], capsys)
    assert code != 0 and "shape" in err
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    code, _, err = run_cli([str(tmp_path / "junk.npz")], capsys)
    assert code != 0 and "not a readable .npz" in err
    np.savez(tmp_path / "ok.npz", images=np.zeros((3, 28, 28), np.uint8))
    code, _, err = run_cli([str(tmp_path / "ok.npz"), "--n", "5"], capsys)
    assert code != 0 and "exceeds the 3 images" in err
    code, _, err = run_cli([str(tmp_path / "ok.npz"), "--inception-weights", str(tmp_path / "w.pth")], capsys)
    assert code != 0 and "InceptionV3 weights not found" in err and "Traceback" not in err


def test_classifier_features_refuse_other_inputs_in_one_line(net):
    features = ClassifierFeatures(net)
    with pytest.raises(TypeError, match="a torch uint8 tensor .* got a numpy.ndarray"):
        features(np.zeros((2, 1, 28, 28), np.uint8))
    with pytest.raises(TypeError, match="uint8 images, got torch.float32; convert"):
        features(torch.zeros(2, 1, 28, 28))
