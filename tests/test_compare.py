"""What a configuration changes, and which runs are trained."""
from lib.compare import config_changes, run_status
from lib.configs import CONFIGS, get_config
from lib.training import train


def test_config_changes_name_exactly_the_factors_of_each_comparison_run():
    assert config_changes(CONFIGS["T100"]) == {"T": (1000, 100), "precision": ("auto", "fp32")}
    assert set(config_changes(CONFIGS["harder"])) == {"T", "lr", "activation", "precision"}
    assert config_changes(CONFIGS["ema"]) == {"ema_decay": (None, 0.999), "precision": ("auto", "fp32")}
    assert config_changes(CONFIGS["default"]) == {}
    base = CONFIGS["ema"]
    assert set(config_changes(CONFIGS["wide"], base)) == {"hidden", "ema_decay"}


def test_run_status_reads_trained_epochs_and_reports_missing_and_broken_runs(fake_mnist, tmp_path):
    import dataclasses

    cfg = dataclasses.replace(get_config("default", T=10, epochs=1, batch_size=64, n_grid=2, precision="fp32"),
                              name="tiny")
    train(cfg, tmp_path / "tiny", data_root=fake_mnist, progress=False, log=lambda m: None)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    status = run_status(["tiny", "ema", "broken"], tmp_path)
    assert status["tiny"]["trained"] == 1 and status["tiny"]["planned"] == 1
    assert status["ema"] == {"trained": 0, "planned": 30, "path": tmp_path / "ema" / "checkpoint.pt", "error": None,
                             "devices": []}
    assert [d["from_epoch"] for d in status["tiny"]["devices"]] == [0]
    assert status["tiny"]["devices"][0]["device"].startswith("cpu: ")
    assert status["broken"]["trained"] == 0 and status["broken"]["error"]
