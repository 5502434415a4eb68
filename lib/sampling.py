"""One sampling loop for every forward process and every sampler step.

:func:`sample` starts from the process's prior x_T and walks down a list of timesteps
(T, ..., 0 by default; fewer for respaced sampling), calling the network once per step (twice with
classifier-free guidance) and then a step function chosen by name from ``process.steps`` (for
Gaussian noise: ``"ddpm"`` ancestral or ``"ddim"``; for cold degradations their algorithms). Every
step returns the next sample and the clean image it predicts, x0_hat, which trajectories keep.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from .precision import autocast
from .processes import ForwardProcess

#: ``lib.sample`` and ``sample_images`` draw this many images per network call. ``python -m lib.bench``
#: measures sampling speed against the batch size; on this project's 2-core AVX2 CPU (fp32) the
#: coursework CNN ran 725, 791, 813, 645 and 623 image-steps/s at batches 16, 64, 128, 256 and 512
#: (the U-Net 365, 394, 406, 444, 204): 128 is the CNN's best and within 9% of the U-Net's.
SAMPLE_BATCH = 128


def timesteps(T: int, steps: int | None = None) -> list[int]:
    """The descending timesteps a sampler visits, ending at 0: all of T, T-1, ..., 1, 0 by default,
    or ``steps`` of them evenly spaced from T down to 1 (rounded; "respacing"), then 0."""
    if steps is None or steps == T:
        return list(range(T, -1, -1))
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if steps > T:
        raise ValueError(f"steps ({steps}) cannot exceed the model's T ({T})")
    if steps == 1:
        return [T, 0]
    kept = torch.linspace(T, 1, steps, dtype=torch.float64).round().long().tolist()
    return [*dict.fromkeys(kept), 0]  # rounding cannot merge neighbours when steps <= T; keep order


def predict(model: torch.nn.Module, x: torch.Tensor, t_frac: torch.Tensor, label: torch.Tensor | None,
            guidance: float, precision: str) -> torch.Tensor:
    """The network's output at x, in fp32. With a label and ``guidance`` w != 1, classifier-free
    guidance: out = out(no label) + w * (out(label) - out(no label)); w = 1 is the plain conditional
    model, w = 0 the unconditional one (the "no label" entry, label -1)."""
    with autocast(precision, x.device):
        if label is None:
            return model(x, t_frac).float()
        if guidance == 1.0:
            return model(x, t_frac, label).float()
        if guidance == 0.0:  # the unconditional model alone: one network call, not two
            return model(x, t_frac, torch.full_like(label, -1)).float()
        both = model(torch.cat([x, x]), torch.cat([t_frac, t_frac]),
                     torch.cat([label, torch.full_like(label, -1)])).float()
    cond, uncond = both.chunk(2)
    return uncond + guidance * (cond - uncond)


@dataclass
class SampleResult:
    """Output of :func:`sample`. ``images`` is the final sample x_0 in the model range.

    With ``trajectory=True``: ``timesteps`` lists the t of each stored frame (T first, 0 last),
    ``trajectory`` holds x_t at those t, shape (frames, N, C, H, W), and ``x0_trajectory`` the
    x0_hat predicted at the step taken from each frame (the last frame repeats the final sample).
    """

    images: torch.Tensor
    timesteps: list[int] | None = None
    trajectory: torch.Tensor | None = None
    x0_trajectory: torch.Tensor | None = None


@torch.no_grad()
def sample(
    model: torch.nn.Module,
    process: ForwardProcess,
    shape: tuple[int, ...],
    generator: torch.Generator,
    step: str | None = None,
    steps: int | None = None,
    label: torch.Tensor | int | None = None,
    guidance: float = 1.0,
    trajectory: bool = False,
    keep_every: int = 1,
    precision: str = "fp32",
    device: torch.device | str = "cpu",
    progress: bool = False,
    start: torch.Tensor | None = None,
    **step_options,
) -> SampleResult:
    """Draw ``shape[0]`` samples: x_T from ``process.prior`` (or ``start``), then one ``step`` per
    pair of consecutive :func:`timesteps` (``steps`` of them; all by default).

    ``generator`` seeds the start and every step's noise, so equal seeds give equal samples.
    ``step_options`` go to the step (``sigma_kind`` for "ddpm", ``eta`` for "ddim").
    ``label`` (an int for the whole batch, or a (N,) tensor; -1 = no label) and ``guidance`` need a
    conditional network. ``trajectory=True`` also keeps every ``keep_every``-th x_t and x0_hat.
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError("sample needs a torch.Generator (e.g. torch.Generator().manual_seed(0)) for reproducibility")
    if len(shape) != 4 or any(int(s) < 1 for s in shape):
        raise ValueError(f"shape must be (N, C, H, W) with positive sizes, got {tuple(shape)}")
    if keep_every < 1:
        raise ValueError(f"keep_every must be >= 1, got {keep_every}")
    step_fn = process.get_step(step)
    ts = timesteps(process.T, steps)
    device = torch.device(device)
    if label is not None:
        if getattr(model, "num_classes", None) is None:
            raise ValueError("this model is unconditional (trained without labels); sample it with label=None")
        label = torch.as_tensor(label, dtype=torch.long)
        label = (label.expand(shape[0]) if label.ndim == 0 else label).to(device)
        if label.shape != (shape[0],):
            raise ValueError(f"label must be one int or a tensor of shape ({shape[0]},), got {tuple(label.shape)}")
    elif guidance != 1.0:
        raise ValueError("guidance needs a label: it weighs the labelled output against the unlabelled one")
    was_training = model.training
    model.eval()
    x = (process.prior(shape, generator) if start is None else start).to(device)
    frames, x0s, kept_t = [], [], []
    try:
        for i, (t, t_prev) in enumerate(tqdm(list(zip(ts, ts[1:])), desc="sampling", disable=not progress,
                                             leave=False)):
            t_frac = torch.full((shape[0],), t / process.T, device=device)
            output = predict(model, x, t_frac, label, guidance, precision)
            x_prev, x0_hat = step_fn(process, output, t, t_prev, x, generator, **step_options)
            if trajectory and (i % keep_every == 0):
                kept_t.append(t)
                frames.append(x.cpu())
                x0s.append(x0_hat.cpu())
            x = x_prev
    finally:
        model.train(was_training)
    if not trajectory:
        return SampleResult(images=x.cpu())
    kept_t.append(0)
    frames.append(x.cpu())
    x0s.append(x.cpu())
    return SampleResult(x.cpu(), kept_t, torch.stack(frames), torch.stack(x0s))


def sample_images(model: torch.nn.Module, process: ForwardProcess, n: int, generator: torch.Generator,
                  image_shape: tuple[int, ...] = (1, 28, 28), batch_size: int = SAMPLE_BATCH,
                  label: torch.Tensor | int | None = None, **kwargs) -> torch.Tensor:
    """``n`` final samples (model range), drawn by :func:`sample` in batches of ``batch_size`` from
    one generator; ``kwargs`` go to :func:`sample` (step, steps, guidance, step options, precision,
    device, progress). A (n,) ``label`` tensor is split with the batches."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    chunks = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        lab = label[start:start + m] if isinstance(label, torch.Tensor) and label.ndim == 1 else label
        chunks.append(sample(model, process, (m, *image_shape), generator, label=lab, **kwargs).images)
    return torch.cat(chunks)


#: Sampler name -> (step, step options): ancestral sampling with the three reverse variances of
#: chapter 1 (sigma_t^2 = beta_t, the posterior variance, 0) and DDIM with eta 0 and 1.
SAMPLERS: dict[str, tuple[str, dict]] = {
    "ddpm": ("ddpm", {"sigma_kind": "beta"}),
    "ddpm-posterior": ("ddpm", {"sigma_kind": "posterior"}),
    "ddpm-zero": ("ddpm", {"sigma_kind": "zero"}),
    "ddim-eta0": ("ddim", {"eta": 0.0}),
    "ddim-eta1": ("ddim", {"eta": 1.0}),
}


#: Every sampler a command accepts by name: the sweep's, and ancestral sampling with sigma_t^2 = beta_t
#: whose mean is taken from x0_hat clipped to [-1, 1] (chapter 3's schedules; lib.diffusion.ddpm_step).
NAMED_SAMPLERS: dict[str, tuple[str, dict]] = {**SAMPLERS, "ddpm-clip": ("ddpm", {"sigma_kind": "beta", "clip_x0": True})}


def sampler_step(name: str | None) -> tuple[str | None, dict]:
    """(step, step options) of ``name``: a sampler of :data:`NAMED_SAMPLERS` (such as "ddpm-posterior" or
    "ddpm-clip"), or a plain step name ("ddim", "ddpm", None for the process's own) passed on with no options."""
    return NAMED_SAMPLERS.get(name, (name, {}))
