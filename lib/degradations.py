"""Cold Diffusion's deterministic degradations (Bansal et al. 2022) as forward processes.

A degradation D(x0, t), t = 0..T, with D(x0, 0) = x0, replaces DDPM's noise; the network is a
restoration R(x_t, t) trained to output x0 (:func:`lib.processes.training_loss` with target x0).
Sampling walks from a fully degraded x_T down to t = 0 with one of the paper's two algorithms:

- ``"alg1"``: x_{s-1} = D(x0_hat, s-1), with x0_hat = R(x_s, s);
- ``"alg2"``: x_{s-1} = x_s - D(x0_hat, s) + D(x0_hat, s-1) (the paper's improved sampler; it
  corrects the error of an imperfect x0_hat; exact for a perfect restoration).

Generation needs a random x_T. A fully degraded image keeps only a few numbers of the digit (its
``summary``: the mean level after full blur, the row or column means after full averaging, the
coarse pixels after full downsampling), so :meth:`ColdProcess.fit` fits a Gaussian mixture
(:mod:`lib.mixture`) to the summaries of the training set's x_T, and :meth:`ColdProcess.prior`
draws a summary, expands it into an image and adds ``start_noise`` (a small Gaussian noise, in the
model range [-1, 1]) that breaks the symmetry: without it, one start always gives one sample.

Every class takes the image size (square; any number of channels: MNIST's one, RGB's three) and its
parameters as keywords; a configuration names them in ``process_options`` (:mod:`lib.configs`).
"""
from __future__ import annotations

import abc
import math

import torch
import torch.nn.functional as F

from .mixture import GaussianMixture
from .processes import ForwardProcess, check_steps

#: Images per chunk when the training set is degraded to fit the start distribution.
FIT_CHUNK = 4096


def alg1(process: "ColdProcess", x0_hat, t, t_prev, x_t, generator):
    """Algorithm 1 of Cold Diffusion: x_{t_prev} = D(x0_hat, t_prev)."""
    return process.degrade_to(x0_hat, t_prev), x0_hat


def alg2(process: "ColdProcess", x0_hat, t, t_prev, x_t, generator):
    """Algorithm 2 of Cold Diffusion: x_{t_prev} = x_t - D(x0_hat, t) + D(x0_hat, t_prev)."""
    return x_t - process.degrade_to(x0_hat, t) + process.degrade_to(x0_hat, t_prev), x0_hat


class ColdProcess(ForwardProcess):
    """Base of deterministic degradations: subclasses give ``degrade_to``, ``summary`` and ``expand``."""

    default_step = "alg2"
    steps = {"alg1": alg1, "alg2": alg2}

    def __init__(self, T: int, image_size: int = 28, start_noise: float = 0.002, mixture_components: int = 10):
        if not isinstance(T, int) or isinstance(T, bool) or T < 1:
            raise ValueError(f"T must be a positive integer number of steps, got {T!r}")
        if not isinstance(image_size, int) or image_size < 4:
            raise ValueError(f"image_size must be an integer >= 4, got {image_size!r}")
        if not (isinstance(start_noise, (int, float)) and start_noise >= 0 and math.isfinite(start_noise)):
            raise ValueError(f"start_noise must be a number >= 0, got {start_noise!r}")
        self.T, self.image_size, self.start_noise = T, image_size, float(start_noise)
        self.mixture = GaussianMixture(mixture_components)

    # --- what a degradation defines ------------------------------------------------------------
    @abc.abstractmethod
    def degrade_to(self, x0: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """D(x0, t) for one step ``t`` (an int) or one step per image (a (B,) integer tensor)."""

    @abc.abstractmethod
    def summary(self, x_T: torch.Tensor) -> torch.Tensor:
        """The (B, d) numbers a fully degraded image keeps."""

    @abc.abstractmethod
    def expand(self, summary: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        """The fully degraded image of shape ``shape`` that a (B, d) ``summary`` describes."""

    # --- the forward-process interface ---------------------------------------------------------
    def degrade(self, x0, t, generator=None):
        check_steps(self.T, t)
        return self.degrade_to(x0, t), x0

    def predict_x0(self, x_t, t, output):
        return output

    def fit(self, images: torch.Tensor, generator: torch.Generator) -> None:
        with torch.no_grad():
            summaries = torch.cat([self.summary(self.degrade_to(images[i:i + FIT_CHUNK], self.T)).cpu()
                                   for i in range(0, images.shape[0], FIT_CHUNK)])
        self.mixture.fit(summaries, generator)

    def prior(self, shape, generator):
        if not self.mixture.fitted:
            raise RuntimeError(f"{type(self).__name__} has no start distribution yet: fit it on training images "
                               f"(training does) or load a trained checkpoint")
        self._check_shape(shape)
        x = self.expand(self.mixture.sample(shape[0], generator).float(), shape)
        if self.start_noise > 0:
            x = x + self.start_noise * torch.randn(shape, generator=generator)
        return x

    def state_dict(self) -> dict:
        return {"mixture": self.mixture.state_dict()} if self.mixture.fitted else {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            self.mixture = GaussianMixture.from_state_dict(state["mixture"])

    # --- helpers -------------------------------------------------------------------------------
    def _steps_of(self, x0: torch.Tensor, t) -> torch.Tensor:
        t = torch.as_tensor(t, device=x0.device)
        if t.ndim == 0:
            t = t.expand(x0.shape[0])
        check_steps(self.T, t)
        if t.shape != (x0.shape[0],):
            raise ValueError(f"t must be one step or one step per image ({x0.shape[0]}), got shape {tuple(t.shape)}")
        self._check_shape(x0.shape)
        return t.long()

    def _check_shape(self, shape):
        if len(shape) != 4 or tuple(shape[2:]) != (self.image_size, self.image_size):
            raise ValueError(f"{type(self).__name__} degrades images of shape (N, C, {self.image_size}, "
                             f"{self.image_size}), got {tuple(shape)}")


# --- Gaussian blur ---------------------------------------------------------------------------------
BLUR_SCHEDULES = ("constant", "incremental")
BLUR_ROUTINES = ("iterative", "individual")
PADDINGS = ("circular", "reflect", "zeros")


def gaussian_kernel(size: int, std: float) -> torch.Tensor:
    """The (size, size) Gaussian kernel of the authors' code (torchgeometry's get_gaussian_kernel2d):
    the outer product of exp(-x^2 / (2 std^2)), x = -(size // 2)..size // 2, normalised to sum 1."""
    x = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-x**2 / (2 * std**2))
    g = g / g.sum()
    return torch.outer(g, g).float()


class Blur(ColdProcess):
    """Gaussian blur. Step i (1..T) has a ``kernel_size`` x ``kernel_size`` kernel of standard
    deviation ``std`` ("constant" schedule) or ``i * std`` ("incremental"). The "iterative" routine
    (the paper's) gives D(x0, t) = kernel_t(...kernel_1(x0)); "individual" applies only kernel_t to x0
    (the authors' Individual_Incremental variant, and one seed's mistake with a constant kernel:
    then every step equals step 1). ``padding`` is the convolution's border ("circular" in the paper).
    The paper's MNIST setting: T = 20, kernel_size 11, std 7.0, constant, iterative, circular, 32 pixels.
    """

    def __init__(self, T: int, kernel_size: int = 11, std: float = 7.0, schedule: str = "constant",
                 routine: str = "iterative", padding: str = "circular", **options):
        super().__init__(T, **options)
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be an odd positive integer, got {kernel_size!r}")
        if kernel_size // 2 > self.image_size:
            raise ValueError(f"kernel_size {kernel_size} is too large for {self.image_size}-pixel images")
        if not (isinstance(std, (int, float)) and std > 0):
            raise ValueError(f"std must be a positive number, got {std!r}")
        for name, value, choices in (("schedule", schedule, BLUR_SCHEDULES), ("routine", routine, BLUR_ROUTINES),
                                     ("padding", padding, PADDINGS)):
            if value not in choices:
                raise ValueError(f"unknown blur {name} {value!r}; choose one of {choices}")
        self.kernel_size, self.std, self.schedule, self.routine, self.padding = (
            kernel_size, float(std), schedule, routine, padding)
        self.kernels = [gaussian_kernel(kernel_size, self.std_of(i)) for i in range(1, T + 1)]

    def __repr__(self):
        return (f"Blur(T={self.T}, {self.kernel_size}x{self.kernel_size}, std={self.std} {self.schedule}, "
                f"{self.routine}, {self.padding} padding, {self.image_size} px)")

    def std_of(self, i: int) -> float:
        """The standard deviation of step i's kernel."""
        return self.std * (i if self.schedule == "incremental" else 1)

    def blur(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """x convolved with step i's kernel, channel by channel, size kept."""
        k = self.kernels[i - 1].to(x.device, x.dtype)
        c, p = x.shape[1], self.kernel_size // 2
        if self.padding == "zeros":
            return F.conv2d(x, k.expand(c, 1, -1, -1), padding=p, groups=c)
        return F.conv2d(F.pad(x, (p, p, p, p), mode=self.padding), k.expand(c, 1, -1, -1), groups=c)

    def degrade_to(self, x0, t):
        t = self._steps_of(x0, t)
        out = x0.clone()
        if self.routine == "individual":
            for i in t.unique().tolist():
                if i > 0:
                    out[t == i] = self.blur(x0[t == i], i)
            return out
        x = x0
        for i in range(1, int(t.max()) + 1 if t.numel() else 1):
            x = self.blur(x, i)
            out[t == i] = x[t == i]
        return out

    def transfer_function(self, t: int) -> torch.Tensor:
        """The (H, W) complex float64 factor by which D(., t) multiplies an image's 2-D discrete Fourier
        transform: with circular padding, blurring is a circular convolution, so D(x, t) has transform
        transfer_function(t) * fft2(x) exactly (t kernels in turn: the product of their transforms; the
        individual routine: step t's kernel alone). Other paddings are not convolutions on the torus
        and have no such factor."""
        if self.padding != "circular":
            raise ValueError(f"only circular blur has a transfer function; this blur pads with {self.padding!r}")
        if not (isinstance(t, int) and 0 <= t <= self.T):
            raise ValueError(f"t must be an integer in 0..{self.T}, got {t!r}")
        size, p = self.image_size, self.kernel_size // 2
        h = torch.ones(size, size, dtype=torch.complex128)
        for i in ((t,) if self.routine == "individual" and t > 0 else range(1, t + 1)):
            # the kernel as a circular filter: centre at (0, 0), wrapped around the image's edges
            k = torch.zeros(size, size, dtype=torch.float64)
            for a in range(-p, p + 1):
                for b in range(-p, p + 1):
                    k[a % size, b % size] += float(self.kernels[i - 1][a + p, b + p])
            h = h * torch.fft.fft2(k)
        return h

    def summary(self, x_T):
        return x_T.mean((2, 3))  # (B, C): a fully blurred image is close to its mean level

    def expand(self, summary, shape):
        return summary.reshape(shape[0], shape[1], 1, 1).expand(shape).clone()


# --- row/column averaging --------------------------------------------------------------------------
ORDERS = ("random", "outside-in", "inside-out")
AXES = ("rows", "columns")


def line_order(n: int, order: str, seed: int = 0) -> list[int]:
    """The order (0-based) in which the n lines are averaged: "outside-in" 1, n, 2, n-1, ... (1-based),
    "inside-out" n/2, n/2 + 1, n/2 - 1, ... (14, 15, 13, 16, ... for 28), or a seeded random permutation."""
    if order == "outside-in":
        return [i // 2 if i % 2 == 0 else n - 1 - i // 2 for i in range(n)]
    if order == "inside-out":
        centre = (n - 1) // 2
        return [centre + (i + 1) // 2 if i % 2 else centre - i // 2 for i in range(n)]
    if order == "random":
        return torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    raise ValueError(f"unknown line order {order!r}; choose one of {ORDERS}")


class Average(ColdProcess):
    """Row (or column) averaging, one seed's design: step t replaces each of the first ``t * group``
    lines of an ordering by that line's mean value, so D(x0, T) keeps only the n line means (the
    digit's "profile" along the other axis). ``group`` lines go at once: n / group steps in all
    (28 single lines, or 7 groups of 4). ``T`` must equal ceil(n / group)."""

    def __init__(self, T: int, axis: str = "rows", order: str = "random", group: int = 1, seed: int = 0, **options):
        super().__init__(T, **options)
        if axis not in AXES:
            raise ValueError(f"unknown averaging axis {axis!r}; choose one of {AXES}")
        if not isinstance(group, int) or not 1 <= group <= self.image_size:
            raise ValueError(f"group must be an integer in 1..{self.image_size}, got {group!r}")
        n_steps = math.ceil(self.image_size / group)
        if T != n_steps:
            raise ValueError(f"averaging {self.image_size} {axis} in groups of {group} takes T = {n_steps} steps, "
                             f"not {T}: set T = {n_steps}")
        self.axis, self.order, self.group, self.seed = axis, order, group, seed
        self.lines = line_order(self.image_size, order, seed)
        step_of_line = torch.empty(self.image_size, dtype=torch.long)
        step_of_line[self.lines] = torch.arange(self.image_size) // group + 1
        self.step_of_line = step_of_line  # the step at which each line is averaged

    def __repr__(self):
        return f"Average({self.axis}, {self.order}, group={self.group}, T={self.T}, {self.image_size} px)"

    def _means(self, x):
        return x.mean(-1, keepdim=True) if self.axis == "rows" else x.mean(-2, keepdim=True)

    def degrade_to(self, x0, t):
        t = self._steps_of(x0, t)
        done = self.step_of_line.to(x0.device)[None] <= t[:, None]  # (B, n): line already averaged
        done = done[:, None, :, None] if self.axis == "rows" else done[:, None, None, :]
        return torch.where(done, self._means(x0).expand_as(x0), x0)

    def summary(self, x_T):
        return self._means(x_T).flatten(1)  # (B, C * n)

    def expand(self, summary, shape):
        n = self.image_size
        profile = summary.reshape(shape[0], shape[1], n, 1) if self.axis == "rows" else \
            summary.reshape(shape[0], shape[1], 1, n)
        return profile.expand(shape).clone()


# --- super-resolution ------------------------------------------------------------------------------
class Downsample(ColdProcess):
    """Super-resolution: D(x0, t) averages x0 down to s_t x s_t pixels (area) and scales it back up by
    nearest neighbour. s_t = size - t * ``pixels_per_step`` (the authors' "Incremental" routine with
    one pixel per step); D(x0, T) keeps only the s_T^2 coarse pixels."""

    def __init__(self, T: int, pixels_per_step: int = 1, **options):
        super().__init__(T, **options)
        if not isinstance(pixels_per_step, int) or pixels_per_step < 1:
            raise ValueError(f"pixels_per_step must be a positive integer, got {pixels_per_step!r}")
        self.pixels_per_step = pixels_per_step
        if self.size_at(T) < 1:
            raise ValueError(f"T = {T} steps of {pixels_per_step} pixel(s) shrink {self.image_size}-pixel images "
                             f"below one pixel; use T <= {(self.image_size - 1) // pixels_per_step}")

    def __repr__(self):
        return f"Downsample(T={self.T}, {self.image_size} -> {self.size_at(self.T)} px)"

    def size_at(self, t: int) -> int:
        return self.image_size - t * self.pixels_per_step

    def _coarse(self, x, t: int):
        return F.adaptive_avg_pool2d(x, self.size_at(t))

    def _up(self, x):
        return F.interpolate(x, size=self.image_size, mode="nearest-exact")

    def degrade_to(self, x0, t):
        t = self._steps_of(x0, t)
        out = x0.clone()
        for i in t.unique().tolist():
            if i > 0:
                out[t == i] = self._up(self._coarse(x0[t == i], i))
        return out

    def summary(self, x_T):
        # nearest-exact sampling inverts the nearest-exact upsampling exactly: each coarse pixel back
        return F.interpolate(x_T, size=self.size_at(self.T), mode="nearest-exact").flatten(1)

    def expand(self, summary, shape):
        s = self.size_at(self.T)
        return self._up(summary.reshape(shape[0], shape[1], s, s))
