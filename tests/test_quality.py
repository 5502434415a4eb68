"""Time to quality (lib.quality and ``python -m lib.bench --quality``) on a tiny fake MNIST."""
from __future__ import annotations

import json

import pytest
import torch
from conftest import run_cli, save_untrained_classifier

from lib import metrics
from lib.checkpoints import read_checkpoint
from lib.classifier import load_classifier
from lib.data import load_mnist, to_uint8
from lib.cli import bench
from lib.quality import quality, train_for_minutes
from lib.runs import load_trained
from lib.sampling import sample_images


@pytest.fixture
def classifier(tmp_path, monkeypatch):
    monkeypatch.setenv(metrics.CACHE_ENV, str(tmp_path / "cache"))
    return load_classifier(save_untrained_classifier(tmp_path / "cls.pt"))


def test_a_timed_run_stops_at_its_budget_and_extends_where_it_stopped(tmp_path, fake_mnist):
    out = tmp_path / "run"
    ckpt = train_for_minutes("default", 1e-7, out, data_root=fake_mnist, progress=False, log=lambda m: None)
    first = read_checkpoint(ckpt)
    assert first["step"] == 1 and first["partial"]["batch"] == 1  # one step overshoots a tiny budget, no more
    longer = first["train_seconds"] / 60 + 1e-9  # just past the first step: exactly one more step
    train_for_minutes("default", longer, out, data_root=fake_mnist, progress=False, log=lambda m: None)
    second = read_checkpoint(ckpt)
    assert second["step"] == 2 and second["train_seconds"] > first["train_seconds"]
    assert second["config"]["minutes"] == longer
    with pytest.raises(ValueError, match="not up to 1e-07"):  # a longer run is not a shorter one
        train_for_minutes("default", 1e-7, out, data_root=fake_mnist, progress=False, log=lambda m: None)
    with pytest.raises(ValueError, match="minutes must be a positive number"):
        train_for_minutes("default", 0, out, data_root=fake_mnist)


def test_quality_scores_the_runs_own_samples_beside_real_digits(tmp_path, fake_mnist, classifier):
    ckpt = train_for_minutes("default", 1e-7, tmp_path / "run", data_root=fake_mnist, progress=False,
                             log=lambda m: None)
    result = quality(ckpt, n=6, seed=2, steps=5, classifier=classifier, data_root=fake_mnist, progress=False)
    run = load_trained(ckpt)
    again = sample_images(run.model, run.process, 6, torch.Generator().manual_seed(2), steps=5)
    expected = metrics.score(to_uint8(again), classifier, data_root=fake_mnist, seed=2)
    assert result["fid"] == pytest.approx(expected["fid"]) and result["recall"] == expected["recall"]
    real = metrics.score(to_uint8(load_mnist("val", root=fake_mnist).images[:6]), classifier, data_root=fake_mnist, seed=2)
    assert result["fid_real"] == pytest.approx(real["fid"])
    assert result["fid_over_real"] == pytest.approx(result["fid"] / real["fid"])
    assert result["steps"] == 1 and result["sample_steps"] == 5 and result["n"] == 6
    assert result["epochs"] == 0.5  # 1 step of an epoch's 2 (220 training digits in batches of 128)
    with pytest.raises(ValueError, match="the floor needs 100 validation digits"):
        quality(ckpt, n=100, steps=2, classifier=classifier, data_root=fake_mnist, progress=False)
    # a sampler of the sweep by name: its samples are those of the step with its options
    posterior = quality(ckpt, n=6, seed=2, steps=5, step="ddpm-posterior", classifier=classifier,
                        data_root=fake_mnist, progress=False)
    direct = sample_images(run.model, run.process, 6, torch.Generator().manual_seed(2), steps=5, step="ddpm",
                           sigma_kind="posterior")
    assert posterior["sampler"] == "ddpm-posterior"
    assert posterior["fid"] == pytest.approx(metrics.score(to_uint8(direct), classifier, data_root=fake_mnist,
                                                           seed=2)["fid"])
    assert posterior["fid"] != pytest.approx(result["fid"])
    with pytest.raises(ValueError, match="needs a class-conditional run"):
        quality(ckpt, n=6, steps=2, classifier=classifier, data_root=fake_mnist, progress=False, guidance=1.0)


def test_bench_quality_prints_one_json_line(tmp_path, fake_mnist, capsys, monkeypatch):
    monkeypatch.setenv(metrics.CACHE_ENV, str(tmp_path / "cache"))
    out = tmp_path / "q"
    args = ["--quality", "0.0000001", "default", "--out", str(out), "--data", str(fake_mnist), "--n", "4",
            "--sampler-steps", "3", "--no-progress"]
    code, stdout, _ = run_cli(bench, args, capsys)
    assert code == 0
    (line,) = stdout.strip().splitlines()
    result = json.loads(line)
    assert result["config"] == "default" and result["budget_minutes"] == 1e-7 and result["n"] == 4
    assert {"fid", "fid_real", "kid", "is", "precision", "recall", "train_minutes"} <= result.keys()


@pytest.mark.parametrize("args, message", [
    (["--quality", "ten", "default"], "'ten' is not a number"),
    (["--quality", "-1", "default"], "must be a positive number"),
    (["--quality", "5", "nosuch"], "unknown configuration 'nosuch'"),
    (["--quality", "5", "default", "--n", "1"], "--n must be >= 2"),
    (["--quality", "5", "default", "--guidance", "2"], "--guidance needs a class-conditional configuration"),
    (["--quality", "5", "cond-unet", "--guidance", "-1"], "--guidance must be a finite number >= 0"),
])
def test_bench_quality_rejects_bad_input_in_one_line(args, message, capsys):
    code, _, err = run_cli(bench, args, capsys)
    assert code != 0 and message in err and "Traceback" not in err


def test_read_results_sorts_lines_and_names_what_is_wrong(tmp_path):
    import json

    from lib.quality import RESULT_FIELDS, read_results

    row = {f: 1 for f in RESULT_FIELDS}
    lines = [dict(row, config="b", budget_minutes=10), dict(row, config="a", budget_minutes=20),
             dict(row, config="a", budget_minutes=5)]
    path = tmp_path / "ttq.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n\n")
    assert [(r["config"], r["budget_minutes"]) for r in read_results(path)] == [("a", 5), ("a", 20), ("b", 10)]
    path.write_text(json.dumps(lines[0]) + "\n" + '{"config": "a", "fi')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        read_results(path)
    path.write_text(json.dumps({"config": "a"}))
    with pytest.raises(ValueError, match="lacks"):
        read_results(path)
    with pytest.raises(FileNotFoundError, match="time_to_quality.sh"):
        read_results(tmp_path / "none.jsonl")
