"""InceptionV3 support, probe sets and the feature comparison, with a small scripted stand-in for
InceptionV3 (the real weights cannot be downloaded here) that has the same interface."""
import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import nn

from lib import cli, inception, metrics, probes
from lib.cli import feature_compare
from lib.cli import metrics as metrics_cli
from lib.classifier import MNISTClassifier, load_classifier, save_classifier
from lib.data import load_mnist, to_uint8


class PooledPixels(nn.Module):
    """(N, 3, 299, 299) -> (N, 2048): 16 x 16 average-pooled pixels through a fixed projection."""

    def __init__(self, out: int = 2048):
        super().__init__()
        self.proj = nn.Linear(3 * 16 * 16, out, bias=False)
        with torch.no_grad():
            self.proj.weight.copy_(torch.randn(out, 3 * 16 * 16, generator=torch.Generator().manual_seed(0)) / 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1:] == (3, 299, 299)
        return self.proj(nn.functional.adaptive_avg_pool2d(x, 16).flatten(1))


@pytest.fixture
def weights(tmp_path, monkeypatch):
    monkeypatch.setenv(metrics.CACHE_ENV, str(tmp_path / "cache"))
    path = tmp_path / "inception.pt"
    torch.jit.script(PooledPixels()).save(str(path))
    return path


def test_torchscript_weights_load_with_the_tensorflow_front_end(weights):
    module, sha = inception.load_inception(weights)
    assert isinstance(module, inception.TorchScriptInception) and len(sha) == 64
    x = inception.TorchScriptInception.preprocess(torch.tensor([0, 128, 255], dtype=torch.uint8).view(1, 1, 1, 3))
    assert x.shape == (1, 3, 299, 299)
    assert x.min().item() == -1.0 and x.max().item() == pytest.approx(127 / 128)  # TF: x / 128 - 1
    with pytest.raises(TypeError, match="uint8"):
        inception.TorchScriptInception.preprocess(torch.zeros(1, 1, 28, 28))


def tensorflow1_resize(x: np.ndarray, size: int) -> np.ndarray:
    """TensorFlow 1's ``resize_bilinear`` (align_corners=False) in float64, written from its kernel:
    output pixel i reads the input at i * in / out, between floor and the next pixel (clamped)."""
    def taps(n):
        pos = np.arange(size) * (n / size)
        lo = np.floor(pos).astype(int)
        return lo, np.minimum(lo + 1, n - 1), pos - lo

    r0, r1, dy = taps(x.shape[-2])
    c0, c1, dx = taps(x.shape[-1])
    rows = x[..., c0] * (1 - dx) + x[..., c1] * dx
    return rows[..., r0, :] * (1 - dy[:, None]) + rows[..., r1, :] * dy[:, None]


@pytest.fixture
def digits_u8():
    return torch.randint(0, 256, (3, 1, 28, 28), generator=torch.Generator().manual_seed(4), dtype=torch.uint8)


def test_front_end_resizes_like_tensorflow1_not_like_pytorch(digits_u8):
    resized = inception.TorchScriptInception.preprocess(digits_u8) * 128 + 128  # undo the scaling (exact)
    assert resized.shape == (3, 3, 299, 299) and torch.equal(resized[:, 0], resized[:, 2])
    expected = torch.from_numpy(tensorflow1_resize(digits_u8.double().numpy(), 299)).float()
    torch.testing.assert_close(resized[:, :1], expected, atol=1e-3, rtol=0)
    pytorch = nn.functional.interpolate(digits_u8.float(), size=(299, 299), mode="bilinear", align_corners=False)
    assert (resized[:, :1] - pytorch).abs().mean() > 10  # what the front end did before: far off


def test_front_end_resize_is_torchmetrics_tensorflow1_resize(digits_u8):
    from torchmetrics.image import fid

    if fid.interpolate_bilinear_2d_like_tensorflow1x is None:
        pytest.skip("torchmetrics takes its TensorFlow 1 resize from torch-fidelity, which is not installed")
    resized = inception.TorchScriptInception.preprocess(digits_u8)[:, :1] * 128 + 128
    theirs = fid.interpolate_bilinear_2d_like_tensorflow1x(digits_u8.float(), size=(299, 299), align_corners=False)
    torch.testing.assert_close(resized, theirs, atol=1e-4, rtol=0)
    pytorch = nn.functional.interpolate(digits_u8.float(), size=(299, 299), mode="bilinear", align_corners=False)
    assert not torch.allclose(theirs, pytorch, atol=1.0)


def test_wrong_or_missing_weights_say_what_is_expected(tmp_path, weights):
    with pytest.raises(inception.MissingWeightsError, match="no InceptionV3 weights given.*DIFFUSION_BOOK_INCEPTION"):
        inception.load_inception(None)
    with pytest.raises(inception.MissingWeightsError, match="not found at"):
        inception.load_inception(tmp_path / "absent.pt")
    small = tmp_path / "small.pt"
    torch.jit.script(PooledPixels(out=10)).save(str(small))
    with pytest.raises(ValueError, match=r"\(1, 10\), not \(1, 2048\)"):
        inception.load_inception(small)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not weights")
    try:
        import torch_fidelity  # noqa: F401
        expected = (ValueError, "neither a TorchScript")
    except ImportError:
        expected = (inception.MissingWeightsError, "torch-fidelity package")
    with pytest.raises(expected[0], match=expected[1]):
        inception.load_inception(junk)


def test_inception_features_are_cached_and_fid_behaves(weights, tmp_path):
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 256, (12, 28, 28), generator=g, dtype=torch.uint8)
    b = (a.float() * 0.3).to(torch.uint8)
    fa = inception.inception_features(a, weights)
    assert fa.shape == (12, 2048)
    files = list((tmp_path / "cache").glob("inception-*.pt"))
    assert len(files) == 1
    stored = torch.load(files[0], weights_only=True)
    torch.save(dict(stored, features=stored["features"] + 5), files[0])  # same checksums, marked content
    assert torch.equal(inception.inception_features(a, weights), fa + 5)  # read from the cache
    assert torch.allclose(inception.inception_features(a, weights, cache=False), fa, atol=1e-5)
    torch.save(dict(stored, features=stored["features"] + 5, features_version=1), files[0])  # older front end
    assert torch.allclose(inception.inception_features(a, weights), fa, atol=1e-5)  # not reused: recomputed
    torch.save(stored, files[0])  # unmarked again
    assert inception.inception_fid(b, b, weights) == pytest.approx(0, abs=1e-3)
    assert inception.inception_fid(b, a, weights) > 1
    fid = inception.inception_fid_metric(weights)  # torchmetrics fed with images gives the same number
    fid.update(a[:, None].expand(-1, 3, -1, -1), real=True)
    fid.update(b[:, None].expand(-1, 3, -1, -1), real=False)
    assert float(fid.compute()) == pytest.approx(inception.inception_fid(b, a, weights), rel=1e-4)


def test_probe_sets_are_what_they_say(fake_mnist):
    sets = probes.probe_sets(10, fake_mnist)
    assert list(sets) == list(probes.PROBE_SETS)
    assert all(s.shape == (10, 1, 28, 28) and s.dtype == torch.uint8 for s in sets.values())
    real = sets["real (held-out digits)"]
    assert torch.equal(real, to_uint8(load_mnist("val", root=fake_mnist).images[:10]))
    assert torch.equal(sets["mirrored"], real.flip(-1))
    assert (sets["thick strokes"] >= real).all() and (sets["thick strokes"] > real).any()
    assert (sets["one digit repeated"] == real[:1]).all()
    train = load_mnist("train", root=fake_mnist)
    assert torch.equal(sets["ones only"], to_uint8(train.images[train.labels == 1][:10]))
    blur1, blur2 = sets["blurred, sigma 1"].float(), sets["blurred, sigma 2"].float()
    assert blur2.max() < blur1.max() <= real.float().max()  # more blur, lower peaks
    assert torch.equal(probes.probe_sets(10, fake_mnist, names=["uniform noise"])["uniform noise"],
                       sets["uniform noise"])  # deterministic
    with pytest.raises(ValueError, match="unknown probe set"):
        probes.probe_sets(10, fake_mnist, names=["sharpened"])
    with pytest.raises(ValueError, match="n must be between 2 and 20"):
        probes.probe_sets(21, fake_mnist)


def test_feature_comparison_end_to_end(weights, fake_mnist, tmp_path, capsys):
    net = MNISTClassifier().eval()
    cls_path = save_classifier(net, {}, tmp_path / "cls.pt")
    samples = tmp_path / "samples.npz"
    np.savez(samples, images=np.zeros((12, 28, 28), np.uint8), seed=3, epoch=7, checkpoint="ckpt")
    record = feature_compare.compare(weights, n=10, reference=30, samples=samples, data_root=fake_mnist,
                                     classifier=load_classifier(cls_path), progress=False)
    assert list(record["sets"]) == list(feature_compare.SETS) + [feature_compare.MODEL_SET]
    assert record["samples"]["epoch"] == 7 and record["n"] == 10 and record["reference"] == 30
    s = record["sets"]
    for key in ("fid_classifier", "fid_inception"):
        assert s["real (held-out digits)"][key] < s["uniform noise"][key]
    # the classifier-side numbers are exactly what lib.metrics computes for the same sets
    test = to_uint8(load_mnist("test", root=fake_mnist).images)[:30]
    clf = metrics.ClassifierFeatures(net)
    real = probes.probe_sets(10, fake_mnist, names=["real (held-out digits)"])["real (held-out digits)"]
    assert s["real (held-out digits)"]["fid_classifier"] == pytest.approx(
        metrics.fid_from_features(clf(test), clf(real), net), rel=1e-9)

    def run(argv):
        try:
            return cli.run(feature_compare.main, argv, prog="python -m lib.feature_compare")
        except SystemExit as exc:
            return exc.code

    out = tmp_path / "cmp.json"
    assert run(["--inception-weights", str(weights), "--n", "10", "--reference", "30", "--data", str(fake_mnist),
                "--out", str(out), "--no-progress"]) == 0
    assert set(json.loads(out.read_text())["sets"]) == set(feature_compare.SETS)
    capsys.readouterr()
    assert run(["--inception-weights", str(tmp_path / "none.pt"), "--out", str(out)]) != 0
    err = capsys.readouterr().err.strip()
    assert "InceptionV3 weights not found" in err and "\n" not in err
    assert run(["--inception-weights", str(weights), "--n", "1", "--data", str(fake_mnist)]) != 0
    assert "at least 2" in capsys.readouterr().err


def test_inception_score_needs_class_logits(weights):
    with pytest.raises(inception.MissingWeightsError, match="no classification layer.*torch-fidelity"):
        inception.inception_score(torch.zeros(20, 28, 28, dtype=torch.uint8), weights)
    with pytest.raises(ValueError, match="'features' or 'logits'"):
        inception.load_inception(weights, output="probabilities")


def test_metrics_cli_reports_inception_fid_and_why_there_is_no_inception_score(weights, fake_mnist, tmp_path, capsys):
    images = to_uint8(load_mnist("test", root=fake_mnist).images[:12])[:, 0].numpy()
    np.savez(tmp_path / "s.npz", images=images)
    code = cli.run(metrics_cli.main, [str(tmp_path / "s.npz"), "--inception-weights", str(weights), "--data",
                                      str(fake_mnist)], prog="python -m lib.metrics")
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert code == 0 and result["fid_inception"] >= 0 and result["is_inception"] is None
    assert "no InceptionV3 IS" in err and "no classification layer" in err


# --------------------------------------------------------------------------- other data sets' samples


def test_colour_images_reach_inceptionv3_in_either_channel_layout():
    rng = np.random.default_rng(0)
    first = rng.integers(0, 256, (4, 3, 8, 8), dtype=np.uint8)
    last = first.transpose(0, 2, 3, 1)  # as lib.sample writes colour samples
    assert torch.equal(inception.as_inception_images(last), torch.from_numpy(first))
    assert torch.equal(inception.as_inception_images(first / 255.0), torch.from_numpy(first))
    assert inception.as_inception_images(first[:, 0]).shape == (4, 1, 8, 8)
    with pytest.raises(ValueError, match=r"shape \(N, H, W\), \(N, 1 or 3, H, W\)"):
        inception.as_inception_images(np.zeros((4, 2, 8, 8, 1), np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        inception.as_inception_images(np.full((4, 3, 8, 8), 2.0))


def test_metrics_cli_scores_cifar10_samples_on_inception_features(weights, tmp_path, monkeypatch, capsys):
    """Known answers: the test split itself, written as a sample file (channels last, as lib.sample
    writes it), scores FID 0 against the test split (read channels first), with precision and recall 1;
    the same images with red and blue swapped do not."""
    from conftest import run_cli
    from test_datasets import accept_fake_cifar10, make_fake_cifar10

    from lib.data import DATASETS, load_dataset

    root = make_fake_cifar10(tmp_path / "data", n_test=6)
    accept_fake_cifar10(root, monkeypatch)
    test = to_uint8(load_dataset("cifar10", "test", root=root).images)  # (6, 3, 32, 32)
    test[:, :, 10:20, 10:20] = torch.arange(6, dtype=torch.uint8).view(6, 1, 1, 1) * 40  # distinct images
    monkeypatch.setitem(DATASETS, "cifar10", dataclasses.replace(DATASETS["cifar10"], decode=_decoder_returning(test)))
    samples = tmp_path / "s.npz"
    np.savez(samples, images=test.permute(0, 2, 3, 1).numpy(), dataset="cifar10")
    code, out, err = run_cli(metrics_cli, [str(samples), "--inception-weights", str(weights), "--data", str(root)],
                             capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["dataset"] == "cifar10" and result["n"] == result["n_reference"] == 6
    assert abs(result["fid_inception"]) < 1e-3 and result["precision_inception"] == result["recall_inception"] == 1.0
    np.savez(samples, images=test.flip(1).permute(0, 2, 3, 1).numpy(), dataset="cifar10")  # red <-> blue
    code, out, err = run_cli(metrics_cli, [str(samples), "--inception-weights", str(weights), "--data", str(root),
                                           "--reference", "4"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["n_reference"] == 4 and result["fid_inception"] > 1


def _decoder_returning(images):
    def decode(ds, idx, size):
        return images[idx], torch.zeros(len(idx), dtype=torch.long)
    return decode


def test_other_data_sets_samples_get_one_line_errors(weights, tmp_path, capsys):
    from conftest import run_cli

    samples = tmp_path / "s.npz"
    np.savez(samples, images=np.zeros((4, 32, 32, 3), np.uint8), dataset="cifar10")
    cases = [([], "holds CIFAR-10 samples, which the book's MNIST classifier cannot score; pass --inception-weights"),
             (["--inception-weights", str(weights), "--classifier", "c.pt"], "--classifier reads MNIST digits"),
             (["--inception-weights", str(weights), "--reference", "1"], "--reference must be >= 2")]
    for extra, message in cases:
        code, out, err = run_cli(metrics_cli, [str(samples), *extra], capsys)
        assert code == 2 and message in err and out == "", err
    np.savez(samples, images=np.zeros((4, 28, 28), np.uint8), dataset="cifar10")  # grey: not CIFAR-10
    code, out, err = run_cli(metrics_cli, [str(samples), "--inception-weights", str(weights)], capsys)
    assert code == 1 and "CIFAR-10 images have 3 channel(s), these samples 1" in err and err.count("\n") == 1
    np.savez(samples, images=np.zeros((4, 28, 28, 3), np.uint8), dataset="cifar10")
    code, out, err = run_cli(metrics_cli, [str(samples), "--inception-weights", str(weights)], capsys)
    assert code == 1 and "CIFAR-10 images are 32 x 32 pixels, these samples 28 x 28" in err
    np.savez(samples, images=np.zeros((4, 28, 28), np.uint8))  # an MNIST file
    code, out, err = run_cli(metrics_cli, [str(samples), "--reference", "5"], capsys)
    assert code == 2 and "--reference is for samples of another data set" in err
