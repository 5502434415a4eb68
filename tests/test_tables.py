"""Tables render as HTML tables (escaped, formatted per column) and as aligned text."""
import pytest

from lib.tables import Table
from lib.processes import loss_by_timestep
from lib.diffusion import GaussianDiffusion
from lib.schedules import linear
import torch


def test_table_html_and_text():
    t = Table([{"run": "a<b", "fid": 1.23456, "n": 3}, {"run": "c", "fid": None, "n": 10}], formats={"fid": ".2f"},
              caption="scores")
    h = t._repr_html_()
    assert "<th>run</th><th>fid</th><th>n</th>" in h and "a&lt;b" in h and "<td>1.23</td>" in h and "–" in h
    assert "<caption>scores</caption>" in h
    lines = repr(t).splitlines()
    assert lines[0] == "scores" and lines[1].split() == ["run", "fid", "n"] and lines[2].split() == ["a<b", "1.23", "3"]
    with pytest.raises(ValueError, match="lack the column"):
        Table([{"a": 1}, {"b": 2}])


class Zero(torch.nn.Module):
    def forward(self, x, t_frac):
        return torch.zeros_like(x)


def test_loss_by_timestep_of_the_zero_predictor_is_one_in_every_bin():
    # predicting eps_hat = 0 scores E[eps^2] = 1 at every t: a known answer for every bin
    process = GaussianDiffusion(linear(T=100))
    x0 = torch.rand(400, 1, 8, 8) * 2 - 1
    edges, losses = loss_by_timestep(Zero(), process, x0, bins=4)
    assert edges.tolist() == [0, 25, 50, 75, 100]
    assert torch.allclose(losses, torch.ones(4, dtype=torch.float64), atol=0.03)


def test_loss_by_timestep_of_a_predictor_of_z_t_matches_its_exact_expected_error():
    # answering z_t itself errs by z_t - eps = sqrt(abar) x + (sqrt(1 - abar) - 1) eps, whose expected
    # square per pixel is abar E[x^2] + (sqrt(1 - abar) - 1)^2: averaged over each bin's t
    class Echo(torch.nn.Module):
        def forward(self, x, t_frac):
            return x

    schedule = linear(T=1000)
    x0 = torch.rand(2000, 1, 8, 8) * 2 - 1
    edges, losses = loss_by_timestep(Echo(), GaussianDiffusion(schedule), x0, bins=5)
    abar = schedule.alpha_bar.double()
    ex2 = float((x0.double() ** 2).mean())
    for b in range(5):
        a = abar[int(edges[b]) + 1:int(edges[b + 1]) + 1]
        expected = float((a * ex2 + ((1 - a).sqrt() - 1) ** 2).mean())
        assert float(losses[b]) == pytest.approx(expected, rel=0.03, abs=1e-4)
