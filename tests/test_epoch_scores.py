"""Scores at several epochs (lib.epoch_scores, python -m lib.score_epochs) on a tiny fake-MNIST run."""
from __future__ import annotations

import json

import pytest
import torch
from conftest import make_scoring_run, run_cli

from lib import epoch_scores, metrics
from lib.cli import score_epochs as cli_score
from lib.data import to_uint8
from lib.epoch_scores import RecordError, entries, entry, read_record, score_epochs
from lib.precision import describe_device
from lib.runs import load_trained
from lib.sampling import sample_images


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return make_scoring_run(tmp_path_factory.mktemp("scores"), epochs=2, snapshot_epochs=(1,), ema_decay=0.9)


@pytest.fixture
def setup(scoring_setup):
    return scoring_setup


def test_each_entry_is_the_score_of_that_epochs_samples_with_seed_equal_to_the_set(setup, tmp_path):
    run, data, cls = setup
    out = tmp_path / "rec.json"
    record = score_epochs(run, out, [1, 2], n=5, final_sets=2, weights=("raw", "ema"), classifier=cls,
                          data_root=data, progress=False, log=lambda m: None)
    got = {(e["epoch"], e["weights"], e["set"]) for e in record["entries"]}
    assert got == {(1, "raw", 0), (1, "ema", 0), (2, "raw", 0), (2, "raw", 1), (2, "ema", 0), (2, "ema", 1)}
    for e in record["entries"]:
        loaded = load_trained(run, epoch=e["epoch"], weights=e["weights"])
        images = to_uint8(sample_images(loaded.model, loaded.process, 5, torch.Generator().manual_seed(e["set"])))
        expected = metrics.score(images, cls, data_root=data, seed=e["set"])
        assert e["fid"] == pytest.approx(expected["fid"]) and e["recall"] == expected["recall"]
        assert sum(e["class_counts"]) == 5 and len(e["class_counts"]) == 10
        assert e["device"] == describe_device("cpu")  # where the set was drawn
    assert read_record(out) == record and [e["epoch"] for e in entries(record, "raw")] == [1, 2, 2]


def test_a_second_call_scores_only_what_is_missing(setup, tmp_path, monkeypatch):
    run, data, cls = setup
    out = tmp_path / "rec.json"
    first = score_epochs(run, out, [1, 2], n=4, final_sets=2, classifier=cls, data_root=data, progress=False,
                         log=lambda m: None)
    stored = json.loads(out.read_text())
    lost = stored["entries"].pop()  # as if the call had been interrupted before its last set
    out.write_text(json.dumps(stored))
    calls = []
    real = epoch_scores.sample_images
    monkeypatch.setattr(epoch_scores, "sample_images", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = score_epochs(run, out, [1, 2], n=4, final_sets=2, classifier=cls, data_root=data, progress=False,
                         log=lambda m: None)
    timing = ("sample_seconds",)
    same = {k: v for k, v in again["entries"][-1].items() if k not in timing}
    assert len(calls) == 1 and same == {k: v for k, v in lost.items() if k not in timing}
    assert len(again["entries"]) == len(first["entries"])


def test_two_scorers_writing_one_record_keep_each_others_entries(setup, tmp_path, monkeypatch):
    """A second process that scores into the same record while the first is sampling: the first reads
    the file again before it writes, so neither overwrites the other's sets, and a set both scored is
    kept once (the one written first), with a warning."""
    run, data, cls = setup
    out = tmp_path / "rec.json"
    real = epoch_scores.sample_images
    other = {"kwargs": {"weights": ("ema",)}}

    def sample_while_another_scores(*a, **k):
        if other:  # once: the "other process" scores its set and writes it meanwhile
            score_epochs(run, out, [2], n=4, classifier=cls, data_root=data, progress=False, log=lambda m: None,
                         **other.pop("kwargs"))
        return real(*a, **k)

    monkeypatch.setattr(epoch_scores, "sample_images", sample_while_another_scores)
    record = score_epochs(run, out, [2], n=4, weights=("raw",), classifier=cls, data_root=data, progress=False,
                          log=lambda m: None)
    stored = read_record(out)
    assert {(e["weights"], e["set"]) for e in stored["entries"]} == {("ema", 0), ("raw", 0)}
    assert stored["entries"] == record["entries"]
    other["kwargs"] = {"weights": ("raw",), "final_sets": 2}  # both now score raw set 1 at epoch 2
    with pytest.warns(UserWarning, match="written meanwhile by another process"):
        score_epochs(run, out, [2], n=4, final_sets=2, weights=("raw",), classifier=cls, data_root=data,
                     progress=False, log=lambda m: None)
    keys = [(e["weights"], e["set"]) for e in read_record(out)["entries"]]
    assert sorted(keys) == [("ema", 0), ("raw", 0), ("raw", 1)]


def test_records_refuse_another_protocol_and_epochs_not_trained(setup, tmp_path):
    run, data, cls = setup
    out = tmp_path / "rec.json"
    score_epochs(run, out, [2], n=4, classifier=cls, data_root=data, progress=False, log=lambda m: None)
    with pytest.raises(RecordError, match="choose another output file"):
        score_epochs(run, out, [2], n=6, classifier=cls, data_root=data, progress=False, log=lambda m: None)
    with pytest.raises(ValueError, match="has trained 2 epochs, not 3"):
        score_epochs(run, tmp_path / "x.json", [3], classifier=cls, data_root=data, progress=False)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RecordError, match="not a readable score record"):
        read_record(tmp_path / "bad.json")


@pytest.mark.parametrize("args, message", [
    (["--epochs", "5,x"], "--epochs must be comma-separated whole numbers"),
    (["--epochs", "0"], "--epochs must be positive"),
    (["--epochs", "1", "--weights", "best"], "--weights takes auto, raw or ema, got best"),
    (["--epochs", "1", "--n", "1"], "--n must be >= 2"),
    (["--epochs", "1", "--device", "gpu"], "--device 'gpu' is not a torch device; use cpu, cuda or cuda:N"),
    (["--epochs", "1", "--device", "meta"], "--device meta: only cpu and cuda devices are supported"),
])
def test_the_command_rejects_bad_input_in_one_line(tiny_run, args, message, capsys, tmp_path):
    code, _, err = run_cli(cli_score, [str(tiny_run[0]), *args, "--out", str(tmp_path / "r.json")], capsys)
    assert code != 0 and message in err and "Traceback" not in err


@pytest.fixture(scope="module")
def tiny_cold_run(tmp_path_factory):
    return make_scoring_run(tmp_path_factory.mktemp("cold-scores"), epochs=1, process="blur", T=4, loss="l1",
                            process_options={"kernel_size": 5, "std": 2.0})


def test_start_noise_is_the_cold_starts_noise_and_part_of_the_protocol(tiny_cold_run, tmp_path, monkeypatch):
    from lib.classifier import load_classifier
    monkeypatch.setenv(metrics.CACHE_ENV, str(tmp_path / "cache"))
    run, data, cls_path = tiny_cold_run
    cls = load_classifier(cls_path)
    for noise in (0.0, 0.3):
        record = score_epochs(run, tmp_path / f"noise-{noise}.json", [1], n=6, classifier=cls, data_root=data,
                              progress=False, log=lambda m: None, start_noise=noise)
        assert record["protocol"]["start_noise"] == noise
        loaded = load_trained(run)
        loaded.process.start_noise = noise
        images = to_uint8(sample_images(loaded.model, loaded.process, 6, torch.Generator().manual_seed(0)))
        assert record["entries"][0]["fid"] == pytest.approx(metrics.score(images, cls, data_root=data, seed=0)["fid"])
    default = score_epochs(run, tmp_path / "default.json", [1], n=6, classifier=cls, data_root=data,
                           progress=False, log=lambda m: None)
    assert "start_noise" not in default["protocol"]  # the run's own noise: the protocol every other record has
    with pytest.raises(RecordError, match="choose another output file"):  # another noise, another record
        score_epochs(run, tmp_path / "default.json", [1], n=6, classifier=cls, data_root=data, progress=False,
                     log=lambda m: None, start_noise=0.0)


def test_start_noise_is_refused_for_gaussian_runs_and_when_negative(setup, tiny_run, tmp_path, capsys):
    run, data, cls = setup
    with pytest.raises(ValueError, match="start_noise applies only to cold runs"):
        score_epochs(run, tmp_path / "r.json", [2], n=4, classifier=cls, data_root=data, progress=False,
                     start_noise=0.1)
    code, _, err = run_cli(cli_score, [str(tiny_run[0]), "--epochs", "1", "--start-noise", "-1",
                                       "--out", str(tmp_path / "r.json")], capsys)
    assert code != 0 and "--start-noise must be a number >= 0, got -1.0" in err and "Traceback" not in err


def test_entry_picks_the_one_entry_of_an_epoch_and_set_or_says_what_the_record_holds():
    record = {"run": "r", "entries": [{"epoch": 5, "weights": w, "set": k, "fid": f"{w}{k}"}
                                      for w in ("raw", "ema") for k in (0, 1)]
              + [{"epoch": 10, "weights": "raw", "set": 0, "fid": "ten"}]}
    assert entry(record, 5, 1, "ema")["fid"] == "ema1" and entry(record, 5, weights="raw")["fid"] == "raw0"
    assert entry(record, 10)["fid"] == "ten"  # one kind of weights at that epoch: no need to name it
    with pytest.raises(KeyError, match="holds 2 entries of epoch 5, set 0 .*name the weights"):
        entry(record, 5)
    with pytest.raises(KeyError, match=r"holds 0 entries of epoch 20, set 0.*\(10, 'raw', 0\)"):
        entry(record, 20)
