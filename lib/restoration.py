"""Restoring degraded test digits with a cold model: the measurements of Cold Diffusion's Table 1.

:func:`restore` degrades clean images fully, D(x0, T), and brings them back three ways: one call of
the restoration network ("direct", R(D(x0, T), T)), and the two sampling algorithms started from
D(x0, T) itself (no start noise: reconstruction is deterministic). ``python -m lib.restore`` writes
them to a file that ``python -m lib.metrics`` scores (SSIM, RMSE, and FID with InceptionV3 weights).
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .degradations import Blur, ColdProcess
from .sampling import SAMPLE_BATCH, predict, sample


@torch.no_grad()
def restore(model: torch.nn.Module, process: ColdProcess, x0: torch.Tensor, batch_size: int = SAMPLE_BATCH,
            precision: str = "fp32", device: torch.device | str = "cpu", progress: bool = False
            ) -> dict[str, torch.Tensor]:
    """``degraded``, ``direct``, ``alg1`` and ``alg2`` for clean images ``x0`` (model range, (N, C, H, W)),
    each in the model range, on the CPU."""
    if not isinstance(process, ColdProcess):
        raise ValueError(f"restoration needs a cold degradation (blur, average, downsample), not {process!r}")
    was_training = model.training
    model.eval()
    out = {"degraded": [], "direct": [], "alg1": [], "alg2": []}
    try:
        for i in tqdm(range(0, x0.shape[0], batch_size), desc="restoring", disable=not progress, leave=False):
            x = x0[i:i + batch_size].to(device)
            x_T = process.degrade_to(x, process.T)
            out["degraded"].append(x_T.cpu())
            t_frac = torch.full((x.shape[0],), 1.0, device=device)
            out["direct"].append(predict(model, x_T, t_frac, None, 1.0, precision).cpu())
            for step in ("alg1", "alg2"):
                out[step].append(sample(model, process, tuple(x.shape), torch.Generator(), step=step, start=x_T,
                                        precision=precision, device=device).images)
    finally:
        model.train(was_training)
    return {k: torch.cat(v) for k, v in out.items()}


def _kept(process: Blur, t: int, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The blur's transfer function at step t and the mask of frequencies above ``threshold``."""
    if not isinstance(process, Blur):
        raise ValueError(f"a Fourier inverse undoes a blur, not {process!r}")
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}")
    h = process.transfer_function(t)
    return h, h.abs() > threshold


def fourier_inverse(process: Blur, x_t: torch.Tensor, t: int, threshold: float = 1e-6) -> torch.Tensor:
    """Undo a circular blur where it can be undone: divide the 2-D Fourier transform of ``x_t``
    (N, C, H, W) by the blur's transfer function wherever its magnitude exceeds ``threshold``, and set
    every other frequency to 0 (a pseudo-inverse). With every frequency kept this inverts D(., t)
    exactly; with few, it restores what survives and fills in nothing, a yardstick for a learned
    restoration (:func:`fit_linear_restoration` fills in the rest from training images, linearly).
    Returns float32, model range, unclipped."""
    h, keep = _kept(process, t, threshold)
    spectrum = torch.fft.fft2(x_t.double())
    restored = torch.where(keep, spectrum / torch.where(keep, h, torch.ones_like(h)), torch.zeros_like(spectrum))
    return torch.fft.ifft2(restored).real.float()


def frequencies_kept(process: Blur, t: int, threshold: float = 1e-6) -> int:
    """How many of the image's H x W Fourier frequencies :func:`fourier_inverse` restores at step t."""
    return int(_kept(process, t, threshold)[1].sum())


def _kept_coefficients(process: Blur, x_t: torch.Tensor, t: int, threshold: float) -> torch.Tensor:
    """The real and imaginary parts of the kept Fourier coefficients of single-channel ``x_t``, and a 1."""
    _, keep = _kept(process, t, threshold)
    coeffs = torch.fft.fft2(x_t[:, 0].double())[:, keep]
    return torch.cat([coeffs.real, coeffs.imag, torch.ones(x_t.shape[0], 1, dtype=torch.float64)], dim=1)


def fit_linear_restoration(process: Blur, x0_train: torch.Tensor, t: int, threshold: float = 1e-6):
    """The best affine restoration of D(., t) for ``x0_train`` (N, 1, H, W, model range) in the least-
    squares sense: pixels from the kept Fourier coefficients of D(x, t) (:func:`frequencies_kept`) and
    a constant, fitted on the training images. Unlike :func:`fourier_inverse` it fills in the lost
    frequencies with what training digits have in common there. Returns ``restore(x_t)`` -> float32
    images (model range, unclipped)."""
    if x0_train.ndim != 4 or x0_train.shape[1] != 1:
        raise ValueError(f"x0_train must have shape (N, 1, H, W), got {tuple(x0_train.shape)}")
    features = _kept_coefficients(process, process.degrade_to(x0_train, t), t, threshold)
    if features.shape[0] < features.shape[1]:
        raise ValueError(f"{features.shape[0]} training images cannot fit {features.shape[1]} coefficients; "
                         f"give at least as many images")
    targets = x0_train.flatten(1).double()
    weights = torch.linalg.lstsq(features, targets).solution

    def restore_linear(x_t: torch.Tensor) -> torch.Tensor:
        out = _kept_coefficients(process, x_t, t, threshold) @ weights
        return out.reshape(x_t.shape).float()

    return restore_linear


def start_class_accuracy(process: ColdProcess, train_images: torch.Tensor, train_labels: torch.Tensor,
                         test_images: torch.Tensor, test_labels: torch.Tensor, weight_decay: float = 1e-4,
                         max_iter: int = 200) -> float:
    """How much of a digit's class survives full degradation: the test accuracy of a linear classifier
    (multinomial logistic regression, L-BFGS, standardised features) that reads the class from the
    *summary* of D(x0, T) that generation starts from (:meth:`ColdProcess.summary`: the mean level for
    blur, the line means for averaging, the coarse pixels for downsampling). Images: (N, C, H, W), model
    range; labels: (N,) integers. 1.0: the start decides the class; the commonest class's share (about
    1 / number of classes): it says nothing about it."""
    for name, images, labels in (("train", train_images, train_labels), ("test", test_images, test_labels)):
        if images.ndim != 4 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(f"{name} images must be (N, C, H, W) with N labels, got images "
                             f"{tuple(images.shape)} and labels {tuple(labels.shape)}")
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1

    def features(images):
        return process.summary(process.degrade_to(images, process.T)).double()

    x_train, x_test = features(train_images), features(test_images)
    mean, std = x_train.mean(0), x_train.std(0).clamp_min(1e-8)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    weights = torch.zeros(x_train.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([weights, bias], max_iter=max_iter, line_search_fn="strong_wolfe")
    targets = train_labels.long()

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(x_train @ weights + bias, targets) + weight_decay * weights.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimiser.step(closure)
    with torch.no_grad():
        return ((x_test @ weights + bias).argmax(1) == test_labels).double().mean().item()
