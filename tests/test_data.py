import pytest
import torch

from lib import config
from lib.data import MNISTNotFoundError, load_mnist, to_unit_range


def test_splits_are_fixed_disjoint_and_scaled(fake_mnist):
    train = load_mnist("train", root=fake_mnist, download=False)
    val = load_mnist("val", root=fake_mnist, download=False)
    test = load_mnist("test", root=fake_mnist, download=False)
    assert len(train) == 220 and len(val) == 20 and len(test) == 60  # 1/12 held out, as 5,000 of 60,000
    assert train.images.shape == (220, 1, 28, 28) and train.images.dtype == torch.float32
    assert train.images.min() == -1 and train.images.max() == 1
    again = load_mnist("val", root=fake_mnist, download=False)
    assert torch.equal(again.images, val.images) and torch.equal(again.labels, val.labels)
    assert torch.equal(to_unit_range(train.images[:1]).unique(), torch.tensor([0.0, 1.0]))
    assert len(load_mnist("train", root=fake_mnist, download=False, limit=7)) == 7


def test_root_from_environment(fake_mnist, monkeypatch):
    monkeypatch.setenv(config.DATA_ENV, str(fake_mnist))
    assert config.data_root() == fake_mnist
    assert len(load_mnist("test", download=False)) == 60
    assert config.data_root("/somewhere") == config.Path("/somewhere")
    monkeypatch.delenv(config.DATA_ENV)
    assert config.data_root() == config.default_data_root()


def test_relative_roots_are_read_from_the_current_folder_and_made_absolute(fake_mnist, monkeypatch):
    """A relative --data/root= or $DIFFUSION_BOOK_DATA is relative to the current working directory when
    it is used, and to nothing else (not the repository, not book/)."""
    base = fake_mnist.parent
    monkeypatch.chdir(base)
    assert config.data_root("data") == fake_mnist and config.data_root("./data/").is_absolute()
    monkeypatch.setenv(config.DATA_ENV, "data")
    assert config.data_root() == fake_mnist
    assert len(load_mnist("test", download=False)) == 60
    monkeypatch.chdir(base / "data" / "MNIST")  # the same relative path, seen from another folder
    assert config.data_root() == base / "data" / "MNIST" / "data"
    monkeypatch.setenv(config.DATA_ENV, "../../data")
    assert config.data_root() == fake_mnist  # normalised, no '..' left
    monkeypatch.setenv("HOME", str(base))
    assert config.data_root("~/data") == fake_mnist


def test_missing_data_names_variable_and_layout(tmp_path):
    with pytest.raises(MNISTNotFoundError) as err:
        load_mnist("train", root=tmp_path, download=False)
    msg = str(err.value)
    assert config.DATA_ENV in msg and "MNIST/raw/train-images-idx3-ubyte" in msg and str(tmp_path) in msg


def test_missing_data_names_the_absolute_folder_it_looked_in(tmp_path, monkeypatch):
    """README's offline form is relative (DIFFUSION_BOOK_DATA=../shared/data); a kernel running in another
    folder must say where it actually looked, not repeat the relative path."""
    (tmp_path / "book").mkdir()
    monkeypatch.chdir(tmp_path / "book")
    monkeypatch.setenv(config.DATA_ENV, "../shared/data")
    with pytest.raises(MNISTNotFoundError) as err:
        load_mnist("train", download=False)
    msg = str(err.value)
    assert f"MNIST not found under '{tmp_path / 'shared' / 'data'}' (download disabled)" in msg
    assert "'../shared/data'" not in msg
    assert f"Set ${config.DATA_ENV} (or pass root=...)" in msg and "t10k-labels-idx1-ubyte" in msg


def test_offline_download_failure_is_one_clear_error(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    def offline(self):
        raise OSError("network is unreachable")

    monkeypatch.setattr(MNIST, "download", offline)
    with pytest.raises(MNISTNotFoundError, match="download failed: OSError"):
        load_mnist("test", root=tmp_path)


def test_bad_split_and_limit(fake_mnist):
    with pytest.raises(ValueError, match="split must be"):
        load_mnist("validation", root=fake_mnist)
    with pytest.raises(ValueError, match="limit"):
        load_mnist("train", root=fake_mnist, limit=0)


def test_short_mode_flag(monkeypatch):
    monkeypatch.setenv(config.SHORT_ENV, "1")
    assert config.short_mode()
    monkeypatch.setenv(config.SHORT_ENV, "0")
    assert not config.short_mode()
