"""Configurations: users' TOML files, one clear error per mistake, and old checkpoints' configurations."""
import dataclasses

import pytest

from lib.configs import CONFIGS, TrainConfig, get_config, load_config_file


def write(tmp_path, text, name="my-run.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_toml_file_starts_from_a_named_configuration(tmp_path):
    cfg = load_config_file(write(tmp_path, 'base = "wide"\nepochs = 3\nlr = 1e-3\nsnapshot_epochs = [1, 2]\n'))
    assert cfg.name == "my-run" and cfg.epochs == 3 and cfg.lr == 1e-3 and cfg.snapshot_epochs == (1, 2)
    assert cfg.hidden == CONFIGS["wide"].hidden
    unet = load_config_file(write(tmp_path, 'network = "unet"\nhidden = [16, 32, 32]\nactivation = "silu"\n'
                                            '[network_options]\nattention = true\n', "u.toml"))
    assert unet.make_network().__class__.__name__ == "UNet" and unet.name == "u"


@pytest.mark.parametrize("text, message", [
    ("lr_rate = 0.1\n", "unknown key 'lr_rate' (did you mean 'lr'?)"),
    ('epochs = "30"\n', "epochs must be an integer, got '30'"),
    ("epochs = 2.5\n", "epochs must be an integer"),
    ("lr = true\n", "lr must be a number"),
    ("hidden = [16, 'a']\n", "hidden must be a list of integers"),
    ("epochs = 0\n", "epochs must be >= 1"),
    ("ema_decay = 1.5\n", "ema_decay must lie strictly between 0 and 1"),
    ('network = "transformer"\n', "unknown network 'transformer'"),
    ('process = "snow"\n', "unknown process 'snow'"),
    ('base = "huge"\n', "base 'huge' is not a named configuration"),
    ("label_dropout = 0.1\n", "label_dropout needs a conditional network"),
    ('network = "unet"\n', "hidden"),  # the CNN's four widths do not fit the U-Net's three levels
    ("[network_options]\ndepth = 3\n", "takes no option 'depth'"),
    ("[process_options]\nblur = 3\n", "gaussian process takes no process_options"),
    ("epochs = \n", "not valid TOML"),
])
def test_each_mistake_gets_one_clear_error(tmp_path, text, message):
    with pytest.raises(ValueError) as info:
        load_config_file(write(tmp_path, text))
    assert message in str(info.value) and "my-run.toml" in str(info.value)
    assert "\n" not in str(info.value)


def test_several_mistakes_are_reported_together(tmp_path):
    with pytest.raises(ValueError, match=r"unknown key 'epoch'.*unknown key 'rate'"):
        load_config_file(write(tmp_path, "epoch = 3\nrate = 1\n"))


def test_a_missing_file_names_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_config_file(tmp_path / "nope.toml")


def test_old_configurations_load_with_the_new_fields_defaulted():
    old = {k: v for k, v in CONFIGS["default"].to_dict().items()
           if k not in {"network", "network_options", "num_classes", "label_dropout", "process", "process_options",
                        "ema_decay", "snapshot_epochs", "minutes", "dataset"}}
    cfg = TrainConfig.from_dict(old)
    assert cfg == CONFIGS["default"]
    with pytest.raises(ValueError, match="unknown configuration key"):
        TrainConfig.from_dict({**old, "colour": "red"})


def test_named_configurations_differ_from_the_default_in_what_their_name_says():
    d = dataclasses.asdict(CONFIGS["default"])
    observation = {"name", "epochs", "sample_epochs", "snapshot_epochs", "precision"}
    expected = {"ema": {"ema_decay"}, "harder": {"T", "lr", "activation"}, "T100": {"T"}, "lr6e-4": {"lr"},
                "selu": {"activation"}, "wide": {"hidden"}, "linear-T400": {"T"}, "cosine-T400": {"T", "schedule"},
                "l1": {"loss"}, "smooth_l1": {"loss"}}
    for name, fields in expected.items():
        c = dataclasses.asdict(get_config(name))
        assert {k for k in d if d[k] != c[k]} - observation == fields, name
