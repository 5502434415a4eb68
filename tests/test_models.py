import pytest
import torch

from lib.models import CourseworkCNN, SinusoidalEmbedding, count_parameters


@pytest.mark.parametrize("hidden", [(16, 32, 32, 16), (16, 32, 64, 32, 16)])
@pytest.mark.parametrize("activation", ["gelu", "selu"])
def test_shapes(hidden, activation):
    m = CourseworkCNN(hidden=hidden, activation=activation)
    out = m(torch.randn(3, 1, 28, 28), torch.tensor([0.0, 0.5, 1.0]))
    assert out.shape == (3, 1, 28, 28)
    assert len(m.blocks) == len(hidden)
    assert all(b.conv.kernel_size == (7, 7) and b.conv.padding == (3, 3) for b in m.blocks)
    assert m.out.kernel_size == (3, 3)


def test_time_embedding_changes_output_and_layout():
    torch.manual_seed(0)
    m = CourseworkCNN()
    x = torch.randn(2, 1, 28, 28)
    a, b = m(x, torch.tensor([0.1, 0.1])), m(x, torch.tensor([0.9, 0.9]))
    assert not torch.allclose(a, b)
    e = SinusoidalEmbedding(16)
    assert e(torch.tensor([0.3])).shape == (1, 32)
    mlp = [l for l in m.time_mlp if isinstance(l, torch.nn.Linear)]
    assert [l.in_features for l in mlp] == [32, 128, 128] and mlp[-1].out_features == 16


def test_parameter_count_is_small():
    assert 100_000 < count_parameters(CourseworkCNN()) < 400_000


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="unknown activation"):
        CourseworkCNN(activation="relu6")
    with pytest.raises(ValueError, match="hidden"):
        CourseworkCNN(hidden=())
    with pytest.raises(ValueError, match="odd"):
        CourseworkCNN(kernel_size=4)
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 1, 28, 28\)"):
        CourseworkCNN()(torch.randn(2, 1, 32, 32), torch.zeros(2))
