"""Other data sets (lib.data.DATASETS) through the same configurations and commands, on tiny fakes
written in torchvision's own layouts: nothing here needs the real data, or a network."""
import hashlib
import io
import pickle
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_fake_mnist, run_cli, write_idx
from lib.data import (DATASETS, SPLIT_SEED, DatasetNotFoundError, MNISTNotFoundError, aircraft_square, load_dataset,
                      to_model_range)

# --------------------------------------------------------------------------- fakes in torchvision's layouts


def make_fake_fashion_mnist(root, n_train=24, n_test=6):
    """Fashion-MNIST's raw IDX files. Image i of a split has i at pixel (0, 0), (3 i + 51) mod 256 at
    row 5, column 7, and label i mod 10."""
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = np.zeros((n, 28, 28), np.uint8)
        images[:, 0, 0] = np.arange(n)
        images[:, 5, 7] = (3 * np.arange(n) + 51) % 256
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return root


#: The colour every fake CIFAR-10 image has at row 1, column 2.
CIFAR_PIXEL = (255, 0, 127)


def make_fake_cifar10(root, per_batch=4, n_test=6):
    """CIFAR-10's python pickles (five training batches, a test batch, batches.meta). Training image i
    (batches in order) has i in its red channel at pixel (0, 0), :data:`CIFAR_PIXEL` at row 1,
    column 2, and label i mod 10; the test batch likewise."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def batch(first, n):
        data = np.zeros((n, 3, 32, 32), np.uint8)  # rows of 3072 bytes: the red plane, the green, the blue
        data[:, 0, 0, 0] = np.arange(first, first + n)
        data[:, :, 1, 2] = CIFAR_PIXEL
        return {"data": data.reshape(n, 3072), "labels": [k % 10 for k in range(first, first + n)]}

    for b in range(5):
        (folder / f"data_batch_{b + 1}").write_bytes(pickle.dumps(batch(b * per_batch, per_batch)))
    (folder / "test_batch").write_bytes(pickle.dumps(batch(0, n_test)))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class {k}" for k in range(10)]}))
    return root


def accept_fake_cifar10(root, monkeypatch):
    """torchvision checks CIFAR-10's files against the real data's MD5 sums: give it the fakes' sums."""
    from torchvision.datasets import CIFAR10

    folder = root / CIFAR10.base_folder

    def md5(name):
        return hashlib.md5((folder / name).read_bytes()).hexdigest()

    monkeypatch.setattr(CIFAR10, "train_list", [[name, md5(name)] for name, _ in CIFAR10.train_list])
    monkeypatch.setattr(CIFAR10, "test_list", [[name, md5(name)] for name, _ in CIFAR10.test_list])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5(CIFAR10.meta["filename"])})


#: Fake FGVC-Aircraft photos: id -> (width, height, split, variant index).
AIRCRAFT = {"0034309": (60, 50, "train", 0), "0034958": (44, 70, "train", 7), "0037511": (80, 40, "train", 99),
            "0041967": (50, 60, "val", 3), "0043390": (70, 44, "val", 7), "0056978": (64, 64, "test", 42)}
GREEN, RED, WHITE = (0, 200, 0), (255, 0, 0), (255, 255, 255)


def aircraft_photo(width, height):
    """A photo whose central square above the 20-pixel banner is green, the rest of it red, the banner white."""
    photo = Image.new("RGB", (width, height), RED)
    side = min(width, height - 20)
    left, top = (width - side) // 2, (height - 20 - side) // 2
    photo.paste(GREEN, (left, top, left + side, top + side))
    photo.paste(WHITE, (0, height - 20, width, height))
    return photo


def make_fake_aircraft(root):
    """FGVC-Aircraft's folder: data/images/<id>.jpg, variants.txt (100 names, with spaces as the real
    ones) and images_variant_<split>.txt ('<id> <variant>' per line), as torchvision reads them."""
    data = root / "fgvc-aircraft-2013b" / "data"
    (data / "images").mkdir(parents=True)
    variants = [f"Boeing 7{k:02d}-{k}" for k in range(100)]
    (data / "variants.txt").write_text("".join(f"{v}\n" for v in variants))
    for split in ("train", "val", "test"):
        lines = [f"{i} {variants[v]}\n" for i, (_, _, s, v) in AIRCRAFT.items() if s == split]
        (data / f"images_variant_{split}.txt").write_text("".join(lines))
    for i, (w, h, _, _) in AIRCRAFT.items():
        aircraft_photo(w, h).save(data / "images" / f"{i}.jpg", quality=100, subsampling=0)
    return root


def go_offline(monkeypatch):
    """Every download fails as it does without a network: urlopen raises URLError."""
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def uint8_of(x: torch.Tensor) -> torch.Tensor:
    """Model range -> the uint8 value it was made from."""
    return ((x + 1) * 127.5).round().long()


# --------------------------------------------------------------------------- the registry and the splits


def test_the_registry_knows_each_data_set():
    import torchvision.datasets

    expected = {"mnist": (1, 28, 10), "fashion-mnist": (1, 28, 10), "cifar10": (3, 32, 10),
                "fgvc-aircraft": (3, 32, 100)}
    assert {name: (d.channels, d.image_size, d.num_classes) for name, d in DATASETS.items()} == expected
    for d in DATASETS.values():
        assert hasattr(torchvision.datasets, d.torchvision_class)
    assert DATASETS["cifar10"].folder == torchvision.datasets.CIFAR10.base_folder
    assert MNISTNotFoundError is DatasetNotFoundError  # old except clauses catch every missing data set


def test_fashion_mnist_splits_pixels_and_labels(tmp_path):
    root = make_fake_fashion_mnist(tmp_path / "data")
    train, val, test = (load_dataset("fashion-mnist", s, root=root, download=False) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (22, 2, 6)  # 1/12 held out, as 5,000 of 60,000
    assert train.images.shape == (22, 1, 28, 28) and train.images.dtype == torch.float32
    assert train.labels.dtype == torch.int64 and train.images.min() >= -1 and train.images.max() <= 1
    ids = {s: uint8_of(split.images[:, 0, 0, 0]) for s, split in (("train", train), ("val", val), ("test", test))}
    # val is the first 2 of the same seeded permutation as MNIST's; train the rest; no image in both
    perm = torch.randperm(24, generator=torch.Generator().manual_seed(SPLIT_SEED))
    assert ids["val"].tolist() == sorted(perm[:2].tolist())
    assert sorted(ids["train"].tolist() + ids["val"].tolist()) == list(range(24))
    assert ids["test"].tolist() == list(range(6))
    for split, i in ((train, ids["train"]), (val, ids["val"]), (test, ids["test"])):
        assert torch.equal(split.labels, i % 10)
        assert torch.equal(split.images[:, 0, 5, 7], ((3 * i + 51) % 256).float() / 127.5 - 1)
    assert test.images[0, 0, 5, 7] == pytest.approx(51 / 127.5 - 1)  # pixel 51 -> -0.6
    assert len(load_dataset("fashion-mnist", "train", root=root, download=False, limit=5)) == 5
    with pytest.raises(ValueError, match="Fashion-MNIST images are 28 x 28 pixels"):
        load_dataset("fashion-mnist", root=root, download=False, image_size=32)


def test_cifar10_splits_colours_and_labels(tmp_path, monkeypatch):
    root = make_fake_cifar10(tmp_path / "data")
    accept_fake_cifar10(root, monkeypatch)
    train, val, test = (load_dataset("cifar10", s, root=root, download=False) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (18, 2, 6)  # 1/10 held out, as 5,000 of 50,000
    assert train.images.shape == (18, 3, 32, 32) and train.images.dtype == torch.float32
    ids = {s: uint8_of(split.images[:, 0, 0, 0]) for s, split in (("train", train), ("val", val), ("test", test))}
    perm = torch.randperm(20, generator=torch.Generator().manual_seed(SPLIT_SEED))
    assert ids["val"].tolist() == sorted(perm[:2].tolist())
    assert sorted(ids["train"].tolist() + ids["val"].tolist()) == list(range(20))
    assert ids["test"].tolist() == list(range(6))
    for split, i in ((train, ids["train"]), (val, ids["val"]), (test, ids["test"])):
        assert torch.equal(split.labels, i % 10)
        # the colour (255, 0, 127) at row 1, column 2, channels in RGB order
        assert torch.equal(split.images[:, :, 1, 2], to_model_range(torch.tensor([CIFAR_PIXEL] * len(i), dtype=torch.uint8)))
    assert train.images[0, :, 1, 2].tolist() == pytest.approx([1.0, -1.0, 127 / 127.5 - 1])
    assert train.images[:, 1:, 0, 0].eq(-1).all()  # the id sits in the red channel only
    with pytest.raises(ValueError, match="CIFAR-10 images are 32 x 32 pixels"):
        load_dataset("cifar10", root=root, download=False, image_size=28)


def test_fgvc_aircraft_official_splits_banner_and_square(tmp_path):
    root = make_fake_aircraft(tmp_path / "data")
    splits = {s: load_dataset("fgvc-aircraft", s, root=root, download=False) for s in ("train", "val", "test")}
    for s, split in splits.items():
        mine = [v for (_, _, ss, v) in AIRCRAFT.values() if ss == s]
        assert split.images.shape == (len(mine), 3, 32, 32) and split.labels.tolist() == mine
    # every photo comes back as its green square: no white banner at the bottom, no red sides
    green = to_model_range(torch.tensor(GREEN, dtype=torch.uint8)).view(1, 3, 1, 1)
    for split in splits.values():
        assert (split.images - green).abs().max() < 0.1
    small = load_dataset("fgvc-aircraft", "train", root=root, download=False, image_size=8, limit=2)
    assert small.images.shape == (2, 3, 8, 8)
    # exact, without JPEG: a 44 x 70 photo keeps rows 3..46 (its 44 x 50 part above the banner, centred)
    square = aircraft_square(aircraft_photo(44, 70), 11)
    assert square.shape == (3, 11, 11) and square.dtype == torch.uint8
    assert (square - torch.tensor(GREEN).view(3, 1, 1)).abs().max() <= 1
    # a photo as large as the real ones (about 1,000 pixels wide) is decoded at 1/8 scale, banner cut all the same
    jpeg = io.BytesIO()
    aircraft_photo(800, 620).save(jpeg, format="JPEG", quality=100, subsampling=0)
    with Image.open(jpeg) as photo:
        square = aircraft_square(photo, 16)
        assert photo.size == (100, 78)  # PIL's draft: 800 / 8 by 620 / 8, rounded up
    assert (to_model_range(square[None]) - green).abs().max() < 0.1


# --------------------------------------------------------------------------- missing data, offline


@pytest.mark.parametrize("name, expected", [
    ("mnist", "MNIST/raw/train-images-idx3-ubyte"),
    ("fashion-mnist", "FashionMNIST/raw/train-images-idx3-ubyte"),
    ("cifar10", "cifar-10-batches-py/data_batch_1"),
    ("fgvc-aircraft", "fgvc-aircraft-2013b/data/images/*.jpg"),
])
def test_missing_data_is_one_line_naming_the_folder_and_files(tmp_path, monkeypatch, name, expected):
    empty = tmp_path / "empty"
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset(name, root=empty, download=False)
    msg = str(err.value)
    title = DATASETS[name].title
    assert msg.startswith(f"{title} not found under '{empty}' (download disabled)") and "\n" not in msg
    assert expected in msg and DATASETS[name].files[-1] in msg
    assert "$DIFFUSION_BOOK_DATA" in msg and "--data" in msg and "downloaded there automatically" in msg

    go_offline(monkeypatch)
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset(name, root=empty)
    msg = str(err.value)
    assert msg.startswith(f"{title} not found under '{empty}' (download failed: ") and "\n" not in msg
    assert expected in msg


def test_incomplete_or_corrupted_data_is_the_same_one_line_error(tmp_path):
    cifar = make_fake_cifar10(tmp_path / "cifar")  # the fakes' checksums are not the real ones: "corrupted"
    with pytest.raises(DatasetNotFoundError, match="CIFAR-10 not found under .* \\(download disabled\\)"):
        load_dataset("cifar10", root=cifar, download=False)
    aircraft = tmp_path / "aircraft"
    (aircraft / "fgvc-aircraft-2013b" / "data").mkdir(parents=True)  # a folder without its split files
    with pytest.raises(DatasetNotFoundError, match="FGVC-Aircraft not found .* \\(download disabled\\)"):
        load_dataset("fgvc-aircraft", root=aircraft, download=False)
    aircraft = make_fake_aircraft(tmp_path / "aircraft2")
    (aircraft / "fgvc-aircraft-2013b" / "data" / "images" / "0041967.jpg").unlink()  # listed but missing
    with pytest.raises(DatasetNotFoundError, match="FileNotFoundError.*0041967.jpg"):
        load_dataset("fgvc-aircraft", "val", root=aircraft, download=False)


def test_the_commands_report_missing_data_in_one_line(tmp_path, monkeypatch, capsys):
    from lib.cli import train as train_cli

    go_offline(monkeypatch)
    empty = tmp_path / "empty"
    code, out, err = run_cli(train_cli, ["default", "--dataset", "cifar10", "--data", str(empty),
                                         "--out", str(tmp_path / "run"), "--no-progress"], capsys)
    assert code == 1 and "Traceback" not in err and err.count("\n") == 1
    assert f"CIFAR-10 not found under '{empty}' (download failed: " in err and "cifar-10-batches-py/data_batch_1" in err
    code, _, err = run_cli(train_cli, ["default", "--dataset", "svhn"], capsys)
    assert code == 2 and "invalid choice: 'svhn'" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- configurations


def test_image_size_defaults_to_the_data_sets_own(tmp_path):
    from lib.configs import CONFIGS, TrainConfig, get_config, load_config_file

    assert TrainConfig().image_size == 28 and TrainConfig(dataset="cifar10").image_shape == (3, 32, 32)
    cifar = get_config("default", dataset="cifar10")  # the default's 28 does not follow it to CIFAR-10
    assert cifar.image_shape == (3, 32, 32) and cifar.make_network().channels == 3
    assert get_config("blur-paper").image_size == 32 and get_config("default").image_size == 28
    assert get_config("default", dataset="fgvc-aircraft", image_size=48).image_shape == (3, 48, 48)
    assert get_config("default", dataset="fashion-mnist").image_shape == (1, 28, 28)
    path = tmp_path / "cifar.toml"
    path.write_text('dataset = "cifar10"\nT = 10\n')
    from_file = load_config_file(path)
    assert from_file.dataset == "cifar10" and from_file.image_size == 32 and from_file.name == "cifar"
    assert load_config_file(path, dataset="fgvc-aircraft").image_size == 32
    # a cold degradation works on colour where its steps fit the size; otherwise one clear error
    assert get_config("blur", dataset="cifar10").make_process().image_size == 32
    with pytest.raises(ValueError, match="averaging 32 rows in groups of 4 takes T = 8 steps, not 7"):
        get_config("rows-random", dataset="cifar10")
    # a checkpoint's configuration from before data sets is an MNIST run
    old = {k: v for k, v in CONFIGS["blur-paper"].to_dict().items() if k != "dataset"}
    assert TrainConfig.from_dict(old) == CONFIGS["blur-paper"] and TrainConfig.from_dict(old).dataset == "mnist"


@pytest.mark.parametrize("changes, message", [
    ({"dataset": "svhn"}, "unknown data set 'svhn'; choose one of mnist, fashion-mnist, cifar10, fgvc-aircraft"),
    ({"dataset": "cifar10", "image_size": 28}, "CIFAR-10 images are 32 x 32 pixels and the book does not resize"),
    ({"dataset": "fashion-mnist", "image_size": 32}, "Fashion-MNIST images are 28 x 28 pixels"),
    ({"dataset": "fgvc-aircraft", "num_classes": 10}, "num_classes must be 100, the classes of fgvc-aircraft"),
    ({"dataset": "fashion-mnist", "metric_epochs": (1,)},
     "metric_epochs: the book's MNIST classifier cannot score a fashion-mnist run"),
    ({"dataset": "cifar10", "num_classes": 10, "classifier_loss": 0.01},
     "classifier_loss: the book's MNIST classifier cannot score a cifar10 run"),
    ({"dataset": "cifar10", "network_options": {"channels": 1}}, "channels is the data set's"),
])
def test_configuration_mistakes_get_one_clear_error(changes, message):
    from lib.configs import get_config

    with pytest.raises(ValueError) as info:
        get_config("default", **changes)
    assert message in str(info.value) and "\n" not in str(info.value)


# --------------------------------------------------------------------------- training, sampling, scoring


def test_a_tiny_run_trains_on_cifar10_and_samples_in_colour(tmp_path, monkeypatch, capsys):
    from lib.cli import metrics as metrics_cli
    from lib.cli import sample as sample_cli
    from lib.cli import train as train_cli
    from lib.runs import load_trained

    root = make_fake_cifar10(tmp_path / "data")
    accept_fake_cifar10(root, monkeypatch)
    config = tmp_path / "tiny.toml"  # MNIST's default, made tiny; --dataset moves it to CIFAR-10
    config.write_text('T = 10\nhidden = [8, 8]\nbatch_size = 8\nsample_epochs = [1]\nn_grid = 4\nprecision = "fp32"\n')
    run = tmp_path / "run"
    code, out, err = run_cli(train_cli, [str(config), "--dataset", "cifar10", "--epochs", "1", "--data", str(root),
                                         "--out", str(run), "--no-progress"], capsys)
    assert code == 0, err
    loaded = load_trained(run)
    assert loaded.config.dataset == "cifar10" and loaded.config.image_shape == (3, 32, 32)
    grid = loaded.history["grids"][0]
    assert grid.shape == (4, 32, 32, 3) and grid.dtype == torch.uint8  # RGB grids: channels last
    code, out, err = run_cli(sample_cli, [str(run), "--n", "3", "--seed", "0", "--out", str(tmp_path / "s.npz")], capsys)
    assert code == 0, err
    with np.load(tmp_path / "s.npz") as f:
        assert f["images"].shape == (3, 32, 32, 3) and f["images"].dtype == np.uint8 and str(f["dataset"]) == "cifar10"
    code, out, err = run_cli(metrics_cli, [str(tmp_path / "s.npz")], capsys)
    assert code == 2 and "holds CIFAR-10 samples, which the book's MNIST classifier cannot score" in err
    assert "--inception-weights PATH" in err and err.count("\n") == 1


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory):
    """A tiny Gaussian run (T = 10, one epoch) on a fake Fashion-MNIST: grey, 28 x 28, and not digits."""
    from lib.configs import get_config
    from lib.training import train

    base = tmp_path_factory.mktemp("fashion")
    root = make_fake_fashion_mnist(base / "data")
    cfg = get_config("default", dataset="fashion-mnist", T=10, hidden=(8, 8), batch_size=8, sample_epochs=(1,),
                     n_grid=2, epochs=1, precision="fp32")
    history = train(cfg, base / "run", data_root=root, progress=False, log=lambda m: None)
    return base / "run", root, history


def test_the_classifier_scorers_refuse_a_run_of_another_data_set(fashion_run, tmp_path):
    from lib.epoch_scores import score_epochs
    from lib.guidance import guidance_sweep
    from lib.quality import quality
    from lib.sampler_sweep import sweep_samplers

    run, root, history = fashion_run
    assert history["grids"][0].shape == (2, 28, 28)  # grey grids keep their (N, H, W)
    calls = {"quality": lambda: quality(run, n=4, data_root=root),
             "score_epochs": lambda: score_epochs(run, tmp_path / "e.json", [1], n=4, data_root=root),
             "sweep_samplers": lambda: sweep_samplers(run, tmp_path / "s.json", ["ddim-eta0"], [2], n=4),
             "guidance_sweep": lambda: guidance_sweep(run, tmp_path / "g.json", [1.0], n=4)}
    for name, call in calls.items():
        with pytest.raises(ValueError) as info:
            call()
        msg = str(info.value)
        assert msg.startswith(f"{name}: the book's MNIST classifier cannot score a fashion-mnist run"), msg
        assert "InceptionV3" in msg and "\n" not in msg
    assert not any((tmp_path / f).exists() for f in ("e.json", "s.json", "g.json"))


def test_a_checkpoint_from_before_data_sets_loads_and_samples_as_mnist(tmp_path, capsys):
    from lib.checkpoints import read_checkpoint, save_checkpoint
    from lib.cli import sample as sample_cli
    from lib.configs import get_config
    from lib.runs import load_trained
    from lib.training import train

    root = make_fake_mnist(tmp_path / "data", n_train=24, n_test=6)
    cfg = get_config("default", T=10, hidden=(8, 8), batch_size=8, sample_epochs=(), epochs=1, precision="fp32")
    train(cfg, tmp_path / "run", data_root=root, progress=False, log=lambda m: None)
    path = tmp_path / "run" / "checkpoint.pt"
    state = read_checkpoint(path)
    del state["config"]["dataset"]
    save_checkpoint(path, state)
    assert load_trained(path).config.dataset == "mnist"
    code, out, err = run_cli(sample_cli, [str(path), "--n", "2", "--seed", "0", "--out", str(tmp_path / "s.npz")], capsys)
    assert code == 0, err
    with np.load(tmp_path / "s.npz") as f:
        assert f["images"].shape == (2, 28, 28) and str(f["dataset"]) == "mnist"
