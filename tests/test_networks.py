import copy
from pathlib import Path

import pytest
import torch

from lib.networks import (NETWORKS, Autoencoder, CourseworkCNN, LabelEmbedding, SinusoidalEmbedding, UNet,
                          VariationalAutoencoder, build_network, count_parameters)

CHECKPOINT = Path(__file__).resolve().parents[1] / "checkpoints" / "default" / "checkpoint.pt"
SMALL = {  # small widths keep every test fast; the defaults are exercised by the parameter counts
    "cnn": dict(hidden=(8, 8)),
    "unet": dict(hidden=(8, 16, 16), attention=True),
    "autoencoder": dict(hidden=(8, 16), latent=16),
    "vae": dict(hidden=(8, 16), latent=16),
}


def small(kind, **kw):
    torch.manual_seed(0)
    return build_network(kind, **{**SMALL[kind], **kw})


def inputs(batch=3):
    g = torch.Generator().manual_seed(1)
    return torch.randn(batch, 1, 28, 28, generator=g), torch.rand(batch, generator=g)


# The coursework CNN.

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


def test_cnn_initialises_exactly_as_the_module_that_trained_the_shipped_checkpoint():
    """Seed 0 gives the weights the old ``lib.models.CourseworkCNN`` gave (sums recorded from it when
    it was moved here), so a rerun of a shipped configuration starts from the same point."""
    torch.manual_seed(0)
    new = CourseworkCNN().state_dict()
    assert sum(float(v.double().sum()) for v in new.values()) == pytest.approx(75271.26140763857, abs=1e-9)
    assert float(new["blocks.0.conv.weight"].double().sum()) == pytest.approx(-0.3049971691725659, abs=1e-12)
    assert float(new["out.weight"].double().sum()) == pytest.approx(0.4277792399516329, abs=1e-12)
    assert "freqs" not in " ".join(new)  # the frequencies stay a non-persistent buffer


def test_cnn_loads_the_shipped_checkpoint_strictly():
    if not CHECKPOINT.exists():
        pytest.skip(f"{CHECKPOINT} is missing")
    state = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    m = CourseworkCNN(hidden=state["config"]["hidden"], activation=state["config"]["activation"])
    m.load_state_dict(state["model"])
    m.eval()
    with torch.no_grad():
        assert torch.isfinite(m(*inputs(2))).all()


def test_conditional_cnn_only_adds_the_label_embedding():
    keys = set(CourseworkCNN().state_dict())
    assert set(CourseworkCNN(num_classes=10).state_dict()) - keys == {"label_embedding.embedding.weight"}
    assert CourseworkCNN(num_classes=10).label_embedding.embedding.weight.shape == (11, 16)


# Every network.

@pytest.mark.parametrize("kind", sorted(NETWORKS))
@pytest.mark.parametrize("num_classes", [None, 10])
def test_output_shape_with_and_without_label(kind, num_classes):
    m = small(kind, num_classes=num_classes)
    x, t = inputs()
    assert m(x, t).shape == x.shape
    if num_classes is not None:
        assert m(x, t, torch.tensor([0, 9, -1])).shape == x.shape


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_conditional_output_depends_on_label_and_none_means_minus_one(kind):
    m = small(kind, num_classes=10).eval()
    x, t = inputs()
    with torch.no_grad():
        a, b = m(x, t, torch.tensor([1, 2, 3])), m(x, t, torch.tensor([4, 5, 6]))
        assert not torch.allclose(a, b)
        assert torch.equal(m(x, t), m(x, t, torch.full((3,), -1)))


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_label_errors(kind):
    x, t = inputs()
    with pytest.raises(ValueError, match=r"this network is unconditional \(num_classes=None\); pass label=None"):
        small(kind)(x, t, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"label values must lie in -1\.\.9"):
        small(kind, num_classes=10)(x, t, torch.tensor([0, 10, 1]))
    with pytest.raises(ValueError, match=r"label values must lie in -1\.\.9"):
        small(kind, num_classes=10)(x, t, torch.tensor([0, -2, 1]))


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_bad_input_shapes(kind):
    m = small(kind)
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 1, 28, 28\), got \(2, 28, 28\)"):
        m(torch.randn(2, 28, 28), torch.zeros(2))
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 1, 28, 28\), got \(2, 3, 28, 28\)"):
        m(torch.randn(2, 3, 28, 28), torch.zeros(2))
    with pytest.raises(ValueError, match=r"expected t_frac of shape \(2,\)"):
        m(torch.randn(2, 1, 28, 28), torch.zeros(()))


@pytest.mark.parametrize("kind", sorted(NETWORKS))
@pytest.mark.parametrize("num_classes", [None, 10])
def test_gradients_reach_every_parameter(kind, num_classes):
    m = small(kind, num_classes=num_classes)
    x, t = inputs()
    label = torch.tensor([0, 5, -1]) if num_classes else None
    (m(x, t, label).sum() + m.extra_loss()).backward()
    assert [n for n, p in m.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0] == []
    if num_classes:  # only the rows used get a gradient: classes 0 and 5, and "no label" (row 10)
        rows = m.label_embedding.embedding.weight.grad.abs().sum(1) > 0
        assert rows.nonzero().flatten().tolist() == [0, 5, 10]


@pytest.mark.parametrize("kind", sorted(NETWORKS))
@pytest.mark.parametrize("num_classes", [None, 10])
def test_forward_and_backward_under_bf16_autocast(kind, num_classes):
    m = small(kind, num_classes=num_classes)
    x, t = inputs()
    label = torch.tensor([0, 5, -1]) if num_classes else None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = m(x, t, label)
    assert out.shape == x.shape and torch.isfinite(out.float()).all()
    (out.float().square().mean() + m.extra_loss()).backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in m.parameters())


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_parameters_are_deterministic_under_a_seed(kind):
    a, b = small(kind, num_classes=10).state_dict(), small(kind, num_classes=10).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_label_embedding():
    e = LabelEmbedding(10, 4)
    assert e.embedding.weight.shape == (11, 4)
    assert torch.equal(e(torch.tensor([-1, 3])), e.embedding.weight[[10, 3]])
    with pytest.raises(ValueError, match="integer"):
        e(torch.tensor([0.0]))


# The U-Net, the autoencoders.

def test_unet_layout_and_arguments():
    m = UNet(hidden=(32, 64, 64), blocks_per_level=2)
    assert len(m.down28) == len(m.dec14) == 2 and m.attention is None
    assert UNet(attention=True).attention is not None
    assert 400_000 < count_parameters(UNet()) < count_parameters(UNet(attention=True)) < 700_000
    with pytest.raises(ValueError, match="3 positive channel counts"):
        UNet(hidden=(32, 64))
    with pytest.raises(ValueError, match="divisible by 4"):
        UNet(image_size=30)
    with pytest.raises(ValueError, match="unknown activation 'selu'"):
        UNet(activation="selu")
    with pytest.raises(ValueError, match="blocks_per_level"):
        UNet(blocks_per_level=0)


def test_autoencoder_arguments():
    assert len(Autoencoder(out_convs=3).out) == 3
    assert len(Autoencoder(out_convs=1).out) == 1
    with pytest.raises(ValueError, match="2 positive channel counts"):
        Autoencoder(hidden=(8, 16, 32))
    with pytest.raises(ValueError, match="latent and out_convs"):
        Autoencoder(latent=0)
    with pytest.raises(ValueError, match="kl_weight"):
        VariationalAutoencoder(kl_weight=-1.0)


def test_vae_extra_loss_and_determinism():
    m = small("vae", kl_weight=0.5)
    x, t = inputs()
    assert float(m.extra_loss()) == 0.0  # nothing seen yet
    a = m(x, t)
    kl = m.extra_loss()
    assert kl.requires_grad and float(kl.detach()) > 0
    assert not torch.allclose(a, m(x, t))  # a fresh z per training forward
    copy.deepcopy(m)  # e.g. for an EMA copy, even with a graph hanging off the last KL
    m.eval()
    assert float(m.extra_loss()) == 0.0
    with torch.no_grad():
        assert torch.equal(m(x, t), m(x, t))
    assert float(m.extra_loss()) == 0.0
    assert float(small("autoencoder").extra_loss()) == 0.0


def test_vae_draws_from_the_global_rng():
    m = small("vae")
    x, t = inputs()
    torch.manual_seed(5)
    a = m(x, t)
    torch.manual_seed(5)
    assert torch.equal(a, m(x, t))


# Building by name.

def test_build_network():
    assert type(build_network("unet", hidden=(8, 16, 16))) is UNet
    with pytest.raises(ValueError, match=r"unknown network 'resnet'; choose one of \['autoencoder', 'cnn', 'unet', 'vae'\]"):
        build_network("resnet")
    with pytest.raises(ValueError, match=r"network 'cnn' takes no option 'attention'; its options are hidden, "):
        build_network("cnn", attention=True)
    with pytest.raises(ValueError, match="kl_weight"):
        build_network("autoencoder", kl_weight=0.1)
