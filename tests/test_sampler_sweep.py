"""The sampler sweep (lib.sampler_sweep, python -m lib.sweep_samplers) on a tiny fake-MNIST run."""
from __future__ import annotations

import pytest
import torch
from conftest import make_scoring_run, run_cli

from lib import metrics
from lib.cli import sweep_samplers as cli_sweep
from lib.data import to_uint8
from lib.epoch_scores import RecordError
from lib.runs import load_trained
from lib.sampler_sweep import by_pair, sweep_samplers
from lib.sampling import sample_images


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return make_scoring_run(tmp_path_factory.mktemp("sweep"), epochs=1)


@pytest.fixture
def setup(scoring_setup):
    return scoring_setup


def sweep(setup, out, samplers, steps, **kw):
    run, data, cls = setup
    return sweep_samplers(run, out, samplers, steps, n=5, classifier=cls, data_root=data, progress=False,
                          log=lambda m: None, **kw)


def test_entries_score_the_named_sampler_at_the_named_steps(setup, tmp_path):
    run, data, cls = setup
    record = sweep(setup, tmp_path / "r.json", ["ddpm", "ddim-eta0"], [10, 3])
    assert [(e["sampler"], e["steps"]) for e in record["entries"]] == [
        ("ddpm", 10), ("ddpm", 3), ("ddim-eta0", 10), ("ddim-eta0", 3)]
    loaded = load_trained(run)
    images = to_uint8(sample_images(loaded.model, loaded.process, 5, torch.Generator().manual_seed(0), step="ddim",
                                    steps=3, eta=0.0))
    expected = metrics.score(images, cls, data_root=data, seed=0)
    assert record["entries"][3]["fid"] == pytest.approx(expected["fid"])


def test_ddim_with_eta_1_over_all_steps_is_ancestral_sampling_with_the_posterior_variance(setup, tmp_path):
    record = sweep(setup, tmp_path / "r.json", ["ddim-eta1", "ddpm-posterior"], [10])
    a, b = record["entries"]
    assert a["fid"] == pytest.approx(b["fid"], rel=1e-4) and a["class_counts"] == b["class_counts"]


def test_a_second_call_scores_only_new_pairs_and_refuses_another_protocol(setup, tmp_path):
    out = tmp_path / "r.json"
    sweep(setup, out, ["ddpm"], [3])
    record = sweep(setup, out, ["ddpm", "ddpm-zero"], [3])
    assert [(e["sampler"], e["steps"]) for e in record["entries"]] == [("ddpm", 3), ("ddpm-zero", 3)]
    with pytest.raises(RecordError, match="choose another output file"):
        sweep(setup, out, ["ddpm"], [3], seed=1)
    with pytest.raises(ValueError, match="steps must be whole numbers from 1 to the model's T = 10"):
        sweep(setup, tmp_path / "x.json", ["ddpm"], [11])
    with pytest.raises(ValueError, match="unknown sampler"):
        sweep(setup, tmp_path / "x.json", ["euler"], [3])


@pytest.mark.parametrize("args, message", [
    (["--samplers", "ddpm,euler"], "unknown sampler(s) euler"),
    (["--steps", "10,x"], "--steps must be comma-separated whole numbers"),
    (["--n", "1"], "--n must be >= 2"),
])
def test_the_command_rejects_bad_input_in_one_line(tiny_run, args, message, capsys, tmp_path):
    code, _, err = run_cli(cli_sweep, [str(tiny_run[0]), *args, "--out", str(tmp_path / "r.json")], capsys)
    assert code != 0 and message in err and "Traceback" not in err


def test_by_pair_keys_a_records_entries_by_sampler_and_steps():
    entries = [{"sampler": "ddim-eta0", "steps": 10, "fid": 3.0}, {"sampler": "ddpm-posterior", "steps": 10, "fid": 2.0},
               {"sampler": "ddim-eta0", "steps": 100, "fid": 1.0}]
    pairs = by_pair({"entries": entries})
    assert sorted(pairs) == [("ddim-eta0", 10), ("ddim-eta0", 100), ("ddpm-posterior", 10)]
    assert pairs[("ddpm-posterior", 10)] is entries[1]
