"""A Gaussian mixture, fitted by expectation-maximisation: the start distribution of cold diffusion.

A fully degraded image keeps only a few numbers of the digit (its mean level after full blur, its
row or column means after full averaging, its coarse pixels after full downsampling). Cold
Diffusion (Bansal et al. 2022, Sec. 5) generates by sampling those numbers from a Gaussian mixture
fitted to the training set's fully degraded images, then restoring. Full covariances, float64.
"""
from __future__ import annotations

import math

import torch

#: added to every covariance's diagonal, relative to the data's mean variance (keeps them invertible)
REG = 1e-6


class GaussianMixture:
    """``k`` components with full covariances over d-dimensional vectors.

    ``fit(x, generator)`` runs EM from a k-means++ start; ``sample(n, generator)`` draws (n, d).
    ``state_dict()`` / ``from_state_dict()`` store the fitted parameters (weights, means, covariances).
    """

    def __init__(self, k: int = 10):
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"a Gaussian mixture needs k >= 1 components, got {k!r}")
        self.k = k
        self.weights = self.means = self.covariances = None

    @property
    def fitted(self) -> bool:
        return self.means is not None

    def fit(self, x: torch.Tensor, generator: torch.Generator, iterations: int = 100, tol: float = 1e-6
            ) -> "GaussianMixture":
        x = torch.as_tensor(x, dtype=torch.float64).reshape(x.shape[0], -1)
        n, d = x.shape
        if n < self.k:
            raise ValueError(f"need at least k = {self.k} vectors to fit the mixture, got {n}")
        reg = REG * float(x.var(0).mean()) + 1e-12
        means = _kmeans_plus_plus(x, self.k, generator)
        resp = torch.nn.functional.one_hot(torch.cdist(x, means).argmin(1), self.k).double()
        previous = -math.inf
        for _ in range(iterations):
            weights, means, covariances = _m_step(x, resp, reg)
            log_p = _log_joint(x, weights, means, covariances)  # (n, k)
            log_norm = torch.logsumexp(log_p, 1, keepdim=True)
            resp = (log_p - log_norm).exp()
            mean_ll = float(log_norm.mean())
            if mean_ll - previous < tol:
                break
            previous = mean_ll
        self.weights, self.means, self.covariances = _m_step(x, resp, reg)
        return self

    def log_likelihood(self, x: torch.Tensor) -> float:
        """Mean log-density of the rows of ``x``."""
        self._check()
        x = torch.as_tensor(x, dtype=torch.float64).reshape(x.shape[0], -1)
        return float(torch.logsumexp(_log_joint(x, self.weights, self.means, self.covariances), 1).mean())

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """(n, d) float64 draws: a component by its weight, then a Gaussian draw from it."""
        self._check()
        component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn(n, self.means.shape[1], generator=generator, dtype=torch.float64)
        chol = torch.linalg.cholesky(self.covariances)  # (k, d, d)
        return self.means[component] + torch.einsum("nij,nj->ni", chol[component], z)

    def state_dict(self) -> dict:
        self._check()
        return {"weights": self.weights, "means": self.means, "covariances": self.covariances}

    @classmethod
    def from_state_dict(cls, state: dict) -> "GaussianMixture":
        mixture = cls(int(state["weights"].shape[0]))
        mixture.weights, mixture.means, mixture.covariances = (
            state["weights"].double(), state["means"].double(), state["covariances"].double())
        return mixture

    def _check(self):
        if not self.fitted:
            raise RuntimeError("the Gaussian mixture is not fitted yet: call fit(x, generator) first")


def _kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k starting means: the first uniformly, each next with probability proportional to the squared
    distance to the nearest mean chosen so far (Arthur and Vassilvitskii 2007)."""
    first = torch.randint(x.shape[0], (1,), generator=generator)
    means = x[first]
    d2 = ((x - means) ** 2).sum(1)
    for _ in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else torch.full_like(d2, 1.0 / len(d2))
        nxt = torch.multinomial(p, 1, generator=generator)
        means = torch.cat([means, x[nxt]])
        d2 = torch.minimum(d2, ((x - x[nxt]) ** 2).sum(1))
    return means


def _m_step(x, resp, reg):
    counts = resp.sum(0) + 1e-12  # (k,)
    weights = counts / counts.sum()
    means = resp.T @ x / counts[:, None]
    centred = x[None] - means[:, None]  # (k, n, d)
    covariances = torch.einsum("kn,kni,knj->kij", resp.T, centred, centred) / counts[:, None, None]
    covariances = covariances + reg * torch.eye(x.shape[1], dtype=x.dtype)
    return weights, means, covariances


def _log_joint(x, weights, means, covariances):
    """log(weight_j) + log N(x_i; mean_j, cov_j), shape (n, k)."""
    d = x.shape[1]
    chol = torch.linalg.cholesky(covariances)  # (k, d, d)
    centred = (x[None] - means[:, None]).transpose(1, 2)  # (k, d, n)
    solved = torch.linalg.solve_triangular(chol, centred, upper=False)  # (k, d, n)
    maha = (solved ** 2).sum(1)  # (k, n)
    log_det = 2 * torch.log(torch.diagonal(chol, dim1=1, dim2=2)).sum(1)  # (k,)
    log_n = -0.5 * (maha + log_det[:, None] + d * math.log(2 * math.pi))
    return (log_n + torch.log(weights)[:, None]).T
