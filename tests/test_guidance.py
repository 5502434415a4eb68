"""The guidance sweep (lib.guidance, python -m lib.sweep_guidance) on a tiny fake-MNIST conditional run."""
from __future__ import annotations

import pytest
import torch
from conftest import make_scoring_run, run_cli

from lib.cli import sweep_guidance as cli_guidance
from lib.data import to_uint8
from lib.epoch_scores import RecordError, add_scored_set
from lib.guidance import by_weight, check_weights, guidance_sweep, requested_labels
from lib.metrics import ClassifierFeatures
from lib.runs import load_trained
from lib.sampling import sample_images


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return make_scoring_run(tmp_path_factory.mktemp("guidance"), epochs=1, num_classes=10, label_dropout=0.2)


@pytest.fixture
def setup(scoring_setup):
    return scoring_setup


def sweep(setup, out, weights, **kw):
    run, data, cls = setup
    return guidance_sweep(run, out, weights, n=kw.pop("n", 20), steps=3, classifier=cls, data_root=data,
                          progress=False, log=lambda m: None, **kw)


def test_requested_labels_cycle_through_the_digits():
    assert requested_labels(23).tolist() == [*range(10), *range(10), 0, 1, 2]
    assert torch.bincount(requested_labels(1000)).tolist() == [100] * 10


def test_accuracy_is_the_fraction_of_samples_read_as_the_digit_asked_for(setup, tmp_path):
    run, data, cls = setup
    record = sweep(setup, tmp_path / "g.json", [0, 2.5])
    assert [e["guidance"] for e in record["entries"]] == [0.0, 2.5]
    loaded = load_trained(run)
    labels = requested_labels(20)
    images = to_uint8(sample_images(loaded.model, loaded.process, 20, torch.Generator().manual_seed(0), label=labels,
                                    guidance=2.5, step="ddim", steps=3))
    read = ClassifierFeatures(cls.model, "logits")(images).argmax(1)
    entry = record["entries"][1]
    assert entry["accuracy"] == pytest.approx(float((read == labels).float().mean()))
    assert entry["class_counts"] == torch.bincount(read, minlength=10).tolist()
    for k in range(10):  # two samples of each digit: each digit's accuracy is 0, 0.5 or 1
        assert entry["class_accuracy"][k] == pytest.approx(float((read[labels == k] == k).float().mean()))
    # balanced labels: the overall accuracy is the mean of the digits' accuracies
    assert entry["accuracy"] == pytest.approx(sum(entry["class_accuracy"]) / 10)


def test_weight_zero_samples_the_unconditional_model(setup, tmp_path):
    run, data, cls = setup
    loaded = load_trained(run)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    guided = sample_images(loaded.model, loaded.process, 6, g(), label=requested_labels(6), guidance=0.0, steps=3)
    unlabelled = sample_images(loaded.model, loaded.process, 6, g(), label=torch.full((6,), -1), steps=3)
    assert torch.equal(guided, unlabelled)
    conditional = sample_images(loaded.model, loaded.process, 6, g(), label=requested_labels(6), steps=3)
    assert not torch.equal(guided, conditional)  # the label embedding does change the output


def test_a_named_sampler_samples_with_its_variance_and_the_record_names_it(setup, tmp_path, capsys):
    """'ddpm-posterior' is the ancestral step with the posterior variance: its entry's class counts are
    those of samples drawn directly that way, not those of the default variance (beta)."""
    run, data, cls = setup
    record = sweep(setup, tmp_path / "g.json", [2.0], step="ddpm-posterior")
    assert record["sampler"] == "ddpm-posterior"
    loaded = load_trained(run)
    labels = requested_labels(20)

    def counts(**options):
        images = to_uint8(sample_images(loaded.model, loaded.process, 20, torch.Generator().manual_seed(0),
                                        label=labels, guidance=2.0, step="ddpm", steps=3, **options))
        return torch.bincount(ClassifierFeatures(cls.model, "logits")(images).argmax(1), minlength=10).tolist()

    assert record["entries"][0]["class_counts"] == counts(sigma_kind="posterior")
    beta = sweep(setup, tmp_path / "b.json", [2.0], step="ddpm")  # the default variance draws other samples
    assert beta["sampler"] == "ddpm" and beta["entries"][0]["fid"] != record["entries"][0]["fid"]
    with pytest.raises(RecordError, match="choose another output file"):
        sweep(setup, tmp_path / "g.json", [3.0], step="ddim")  # another sampler: another record
    code, out, err = run_cli(cli_guidance, [str(run), "--sampler", "ddim-eta2", "--out", str(tmp_path / "h.json")],
                             capsys)
    assert code == 2 and "invalid choice: 'ddim-eta2'" in err and "ddpm-posterior" in err


def test_an_interrupted_sweep_scores_only_the_missing_weights(setup, tmp_path):
    out = tmp_path / "g.json"
    first = sweep(setup, out, [1])
    again = sweep(setup, out, [3, 1])
    assert [e["guidance"] for e in by_weight(again)] == [1.0, 3.0]
    assert again["entries"][0] == first["entries"][0]
    with pytest.raises(RecordError, match="choose another output file"):
        sweep(setup, out, [1], n=10)


def test_unconditional_runs_and_bad_weights_are_refused(setup, tmp_path):
    run, data, cls = setup
    plain = make_scoring_run(tmp_path / "plain", epochs=1)[0]
    with pytest.raises(ValueError, match="unconditional"):
        guidance_sweep(plain, tmp_path / "x.json", [1], n=4, classifier=cls, data_root=data, progress=False)
    for bad in ([-1], [float("nan")], [], ["a"]):
        with pytest.raises(ValueError, match="guidance weights must be"):
            check_weights(bad)


def test_labels_of_the_wrong_length_are_refused(setup, tmp_path):
    run, data, cls = setup
    with pytest.raises(ValueError, match="one class per sample"):
        add_scored_set({"entries": []}, tmp_path / "r.json", {}, lambda: torch.zeros(4, 1, 28, 28), cls, 0, data,
                       labels=torch.arange(3))


def test_command_line(setup, tmp_path, capsys):  # scores with the shipped classifier
    run, data, cls = setup
    code, out, err = run_cli(cli_guidance, [str(run), "--weights", "0,2", "--n", "10", "--steps", "2",
                                           "--out", str(tmp_path / "g.json"), "--data", str(data), "--no-progress"],
                             capsys)
    assert code == 0 and "2 scored guidance weights" in out, err
    for argv, message in ((["--weights", "1,x"], "comma-separated numbers"), (["--n", "1"], "--n must be"),
                          (["--steps", "0"], "--steps must be"), (["--weights", "-1"], "finite numbers >= 0")):
        code, out, err = run_cli(cli_guidance, [str(run), "--out", str(tmp_path / "h.json"), "--data", str(data),
                                               *argv], capsys)
        assert code != 0 and message in err and "Traceback" not in err


def test_guided_samples_share_their_start_so_weight_zero_ignores_the_digit(setup):
    import re

    from lib import viz
    from lib.guidance import guided_samples

    run, data, cls = setup
    loaded = load_trained(run)
    samples = guided_samples(loaded.model, loaded.process, [0, 3], [0, 1, 4], n=3, steps=3)
    assert sorted(samples) == [(0, 0.0), (0, 1.0), (0, 4.0), (3, 0.0), (3, 1.0), (3, 4.0)]
    assert torch.equal(samples[0, 0.0], samples[3, 0.0])  # the unconditional model, from the same noise
    assert not torch.equal(samples[0, 4.0], samples[3, 4.0])
    html = viz.guidance_switcher(samples).data
    assert len(set(re.findall(r'"(data:image/png;base64,[^"]+)"', html))) == 5  # digits 0 and 3 share w = 0
    assert re.findall(r'<option value="([^"]+)" selected>', html) == ["0", "4"]
    fig = viz.plot_guidance_grid(samples, per_cell=2)
    assert fig.axes[0].get_title() == "w = 0" and len(fig.axes) == 6
    with pytest.raises(ValueError, match="digits must lie in 0..9"):
        guided_samples(loaded.model, loaded.process, [10], [1])
    # a sampler of the sweep by name: the same samples as sample_images with its options, one seed per cell
    posterior = guided_samples(loaded.model, loaded.process, [3], [2], n=3, steps=3, step="ddpm-posterior", seed=5)
    direct = sample_images(loaded.model, loaded.process, 3, torch.Generator().manual_seed(5), label=3, guidance=2,
                           step="ddpm", steps=3, sigma_kind="posterior")
    beta = guided_samples(loaded.model, loaded.process, [3], [2], n=3, steps=3, step="ddpm", seed=5)
    assert torch.equal(posterior[3, 2.0], direct) and not torch.equal(posterior[3, 2.0], beta[3, 2.0])


def test_guidance_explorer_draws_the_chosen_digit_and_weight(setup, monkeypatch):
    from lib import guidance, widgets

    run, data, cls = setup
    loaded = load_trained(run)
    asked = []
    real = guidance.guided_samples
    monkeypatch.setattr(guidance, "guided_samples",
                        lambda model, process, digits, weights, **kw: asked.append((digits, weights))
                        or real(model, process, digits, weights, **{**kw, "n": 2, "steps": 2}))
    box = widgets.guidance_explorer(loaded.model, loaded.process)
    digit, weight = box.children[0].children
    digit.value = 7
    weight.value = 3.0
    assert asked == [([0], [1.0]), ([7], [1.0]), ([7], [3.0])]
    asked.clear()
    seen = []
    monkeypatch.setattr(guidance, "guided_samples",
                        lambda model, process, digits, weights, **kw: seen.append(kw["step"])
                        or real(model, process, digits, weights, **{**kw, "n": 2, "steps": 2}))
    widgets.guidance_explorer(loaded.model, loaded.process, sampler="ddpm-posterior")
    assert seen == ["ddpm-posterior"]


def test_quality_of_a_conditional_run_scores_the_sweeps_samples(setup, tmp_path):
    """lib.quality (``python -m lib.bench --quality``) asks a conditional run for each digit in turn, as
    the sweep does: at the same weight and seed it scores the same samples, default weight 1."""
    from lib.quality import quality

    run, data, cls = setup
    record = sweep(setup, tmp_path / "g.json", [1, 2.5])
    entries = {e["guidance"]: e for e in record["entries"]}
    for w in (None, 2.5):
        result = quality(run, n=20, seed=0, steps=3, step="ddim", classifier=cls, data_root=data, progress=False,
                         guidance=w)
        entry = entries[1.0 if w is None else w]
        assert result["guidance"] == (1.0 if w is None else w)
        assert result["fid"] == pytest.approx(entry["fid"]) and result["accuracy"] == pytest.approx(entry["accuracy"])
    with pytest.raises(ValueError, match="finite numbers >= 0"):
        quality(run, n=20, steps=3, step="ddim", classifier=cls, data_root=data, progress=False, guidance=-1)
