import json
import subprocess
import sys

import numpy as np
import pytest

from lib.checkpoints import read_checkpoint
from lib.cli import bench, info, sample, train
from lib.configs import get_config
from lib.training import train as run_training

from conftest import run_cli as run


def one_line_error(err):
    lines = [l for l in err.strip().splitlines() if l]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("argv, match", [
    (["huge"], "unknown configuration 'huge'"),
    (["default", "--epochs", "0"], "--epochs must be >= 1"),
    (["default", "--epochs", "two"], "invalid int value"),
    (["default", "--precision", "fp16"], "invalid choice"),
    (["default", "--limit", "0"], "--limit must be >= 1"),
    (["default", "--device", "gpu"], "--device 'gpu' is not a torch device; use cpu, cuda or cuda:N"),
    (["default", "--device", "mps"], "--device mps: only cpu and cuda devices are supported"),
])
def test_train_cli_bad_arguments(argv, match, capsys):
    code, _, err = run(train, argv, capsys)
    assert code != 0 and match in one_line_error(err)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a CUDA GPU")
def test_train_cli_refuses_a_gpu_this_machine_lacks(capsys):
    code, _, err = run(train, ["default", "--device", "cuda"], capsys)
    assert code != 0 and "--device cuda: PyTorch sees no CUDA GPU on this machine; use --device cpu" in one_line_error(err)


def test_train_cli_missing_data(tmp_path, capsys):
    code, _, err = run(train, ["default", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "o")], capsys)
    assert code != 0 and "DIFFUSION_BOOK_DATA" in one_line_error(err)


def test_train_cli_resume_without_checkpoint(tmp_path, capsys):
    code, _, err = run(train, ["default", "--resume", "--out", str(tmp_path / "none")], capsys)
    assert code != 0 and "no checkpoint" in one_line_error(err)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from conftest import make_fake_mnist

    root = tmp_path_factory.mktemp("cli")
    data = make_fake_mnist(root / "data")
    cfg = get_config("default", T=20, epochs=1, batch_size=64, n_grid=2, precision="fp32")
    run_training(cfg, root / "run", data_root=data, progress=False, log=lambda m: None)
    return root / "run" / "checkpoint.pt"


def test_sample_cli_writes_documented_npz(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "s.npz"
    code, stdout, _ = run(sample, [str(tiny_checkpoint), "--n", "5", "--seed", "3", "--out", str(out)], capsys)
    assert code == 0 and "wrote 5 samples" in stdout
    with np.load(out) as f:
        images = f["images"]
        assert images.shape == (5, 28, 28) and images.dtype == np.uint8 and int(f["seed"]) == 3
    run(sample, [str(tiny_checkpoint), "--n", "5", "--seed", "3", "--out", str(tmp_path / "t.npz")], capsys)
    with np.load(tmp_path / "t.npz") as g:
        assert np.array_equal(g["images"], images)  # same seed, same samples


@pytest.mark.parametrize("argv, match", [
    (["{ckpt}", "--n", "0", "--seed", "1", "--out", "x.npz"], "--n must be >= 1"),
    (["{ckpt}", "--n", "2", "--seed", "1", "--out", "x.png"], ".npz"),
    (["{ckpt}", "--n", "2", "--out", "x.npz"], "required: --seed"),
    (["{missing}", "--n", "2", "--seed", "1", "--out", "x.npz"], "no checkpoint"),
    (["{corrupt}", "--n", "2", "--seed", "1", "--out", "x.npz"], "corrupt or truncated"),
])
def test_sample_cli_errors(argv, match, tiny_checkpoint, tmp_path, capsys):
    corrupt = tmp_path / "c.pt"
    corrupt.write_bytes(tiny_checkpoint.read_bytes()[:1000])
    argv = [a.format(ckpt=tiny_checkpoint, missing=tmp_path / "nope.pt", corrupt=corrupt) for a in argv]
    code, _, err = run(sample, argv, capsys)
    assert code != 0 and match in one_line_error(err)


def test_sample_cli_as_a_process_prints_no_traceback(tmp_path):
    p = subprocess.run([sys.executable, "-m", "lib.sample", str(tmp_path / "nope.pt"), "--n", "1", "--seed", "0",
                        "--out", str(tmp_path / "x.npz")], capture_output=True, text=True)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert p.stderr.strip() == f"python -m lib.sample: error: no checkpoint at '{tmp_path / 'nope.pt'}'"


def test_bench_prints_one_json_line(capsys):
    code, out, _ = run(bench, ["--configs", "default", "--steps", "1", "--rounds", "1", "--batch", "8",
                               "--sample-steps", "1", "--sample-batches", "2,4", "--matmul-size", "256"], capsys)
    rec = json.loads(out.strip())
    assert code == 0
    assert rec["matmul_gflops_fp32"] > 0 and rec["matmul_gflops_bf16"] > 0
    r = rec["configs"]["default"]
    for key in ("train_images_per_s_library", "train_images_per_s_plain", "train_gflops_library",
                "sample_image_steps_per_s_library", "sample_image_steps_per_s_plain"):
        assert r[key] > 0
    assert set(r["sample_image_steps_per_s_by_batch"]) == {"2", "4"}
    # one training step of the coursework CNN: about 3 x 2 x (conv MACs) per image
    assert 0.3 < r["train_gflop_per_image"] < 0.6


def test_plain_resume_keeps_the_runs_metric_epochs(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    """`--resume` without --metric-* continues scoring at the epochs the run was started with."""
    import shutil

    import torch

    state = read_checkpoint(tiny_checkpoint)
    state["config"]["metric_epochs"] = (5, 10)
    state["config"]["metric_samples"] = 32
    (tmp_path / "run").mkdir()
    torch.save(state, tmp_path / "run" / "checkpoint.pt")
    seen = {}
    monkeypatch.setattr(train, "train", lambda config, out, **kw: seen.update(config=config, kw=kw))
    code, _, _ = run(train, ["default", "--resume", "--out", str(tmp_path / "run")], capsys)
    assert code == 0 and seen["kw"]["resume"]
    assert seen["config"].metric_epochs == (5, 10) and seen["config"].metric_samples == 32
    code, _, _ = run(train, ["default", "--resume", "--out", str(tmp_path / "run"), "--metric-epochs", "7"], capsys)
    assert seen["config"].metric_epochs == (7,)
    shutil.rmtree(tmp_path / "run")


@pytest.mark.parametrize("argv, match", [
    (["--sampler", "euler"], "has no sampler 'euler'; choose one of ddim, ddpm"),
    (["--steps", "21"], "--steps must lie in 1..20"),
    (["--eta", "0.5"], "--eta applies to --sampler ddim only"),
    (["--sampler", "ddim", "--sigma", "zero"], "--sigma applies to --sampler ddpm only"),
    (["--label", "3"], "--label needs a conditional model"),
    (["--guidance", "2"], "--guidance needs --label"),
    (["--epoch", "5"], "has trained epochs 1..1, not epoch 5"),
    (["--weights", "ema"], "kept no EMA weights"),
])
def test_sample_cli_refuses_what_the_checkpoint_cannot_honour(argv, match, tiny_checkpoint, tmp_path, capsys):
    code, _, err = run(sample, [str(tiny_checkpoint), "--n", "2", "--seed", "1", "--out", str(tmp_path / "x.npz"),
                                *argv], capsys)
    assert code != 0 and match in one_line_error(err)


def test_sample_cli_ddim_respaced(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "d.npz"
    code, _, _ = run(sample, [str(tiny_checkpoint), "--n", "3", "--seed", "1", "--out", str(out), "--sampler", "ddim",
                              "--steps", "5", "--eta", "0"], capsys)
    with np.load(out) as f:
        assert code == 0 and f["images"].shape == (3, 28, 28) and str(f["sampler"]) == "ddim" and int(f["steps"]) == 5


def test_info_prints_one_json_line(tiny_checkpoint, capsys):
    code, out, _ = run(info, [str(tiny_checkpoint.parent)], capsys)
    rec = json.loads(out)
    assert code == 0 and len(out.strip().splitlines()) == 1
    assert rec["epochs_done"] == 1 and rec["epochs_planned"] == 1 and rec["ema"] is False
    assert rec["config"]["T"] == 20 and rec["precision"] == "fp32" and rec["train_seconds"] > 0
    assert rec["final_val_loss"] == read_checkpoint(tiny_checkpoint)["history"]["val_loss"][-1]


def test_info_on_the_shipped_default(capsys):
    from lib.config import shipped_checkpoint

    code, out, _ = run(info, [str(shipped_checkpoint("default"))], capsys)
    rec = json.loads(out)
    assert rec["epochs_done"] == rec["epochs_planned"] == 100 and rec["precision"] == "bf16"
    assert [s["epoch"] for s in rec["scores"]][-1] == 100


def test_train_cli_reads_a_toml_file_and_reports_its_mistakes(tmp_path, capsys, fake_mnist):
    bad = tmp_path / "bad.toml"
    bad.write_text("epoch = 3\nlr = 'fast'\n")
    code, _, err = run(train, [str(bad)], capsys)
    line = one_line_error(err)
    assert code != 0 and "unknown key 'epoch' (did you mean 'epochs'?)" in line
    good = tmp_path / "tiny.toml"
    good.write_text("T = 10\nepochs = 1\nbatch_size = 64\nn_grid = 2\nprecision = 'fp32'\n")
    code, out, _ = run(train, [str(good), "--data", str(fake_mnist), "--out", str(tmp_path / "r"), "--no-progress"],
                       capsys)
    assert code == 0 and read_checkpoint(tmp_path / "r")["config"]["name"] == "tiny"


def test_train_cli_minutes_budget_stops_and_resumes(tmp_path, capsys, fake_mnist):
    args = ["default", "--data", str(fake_mnist), "--out", str(tmp_path / "r"), "--no-progress", "--epochs", "1"]
    code, out, _ = run(train, [*args, "--minutes", "0.0000001"], capsys)
    assert code == 0 and "time budget" in out and read_checkpoint(tmp_path / "r")["partial"]["batch"] == 1
    code, out, _ = run(train, [*args, "--resume", "--minutes", "60"], capsys)
    assert code == 0 and "epoch 1/1" in out and "partial" not in read_checkpoint(tmp_path / "r")
    code, _, err = run(train, [*args, "--minutes", "0"], capsys)
    assert code != 0 and "--minutes must be positive" in one_line_error(err)
