"""Partial pooling across accounts: each account's lever effect shrunk toward the cross-account effect
by as much as the accounts agree.

Method (docs/analyze.md, "Pooling"): a two-stage normal-normal model per lever family (one platform,
one metric, one lever), with one between-account SD tau shared by all the lever's levels and
integrated over a grid (the eight-schools computation, Gelman et al., Bayesian Data Analysis ch. 5):

    b_ak ~ N(theta_ak, s_ak^2),   theta_ak ~ N(mu_k, tau^2),   tau ~ half-t(3, TAU_SCALE)

b_ak is account a's own estimate of level k (its model's contrast, log scale) and s_ak its standard
error. From one level's four estimates tau is nearly unidentified; sharing it over the levels gives
L(A-1) degrees of freedom, and the grid carries its uncertainty into every interval. But one level
where one account really differs (an account-specific effect) would be shrunk away by the levels
that agree, so a level whose estimates differ more than their errors allow (Cochran's Q,
p < HETEROGENEITY_ALPHA) is not pooled: each account keeps its own estimate there. Given tau the
posterior is normal (B = s^2/(s^2+tau^2) is the share borrowed from the siblings); over the grid it
is a mixture of normals, whose interval is found with scipy's brentq and whose lfsr (the chance the
sign is wrong, Stephens 2017) is read off directly.

Why not statsmodels' MixedLM: it assumes one residual variance for every account, and boundary fits
at tau = 0 are common with four accounts (statsmodels issue #10239); the grid handles tau = 0 and
unequal errors exactly. statsmodels' combine_effects (Paule-Mandel) gives the same mu_k for a
single level; the grid adds the shrunk per-account effects, which it does not give.

An account with no siblings for a level keeps its own estimate (nothing to borrow from).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special
from scipy import stats as sps

from scripts.analysis.stats import CI_LEVEL

TAU_GRID = np.linspace(0.0, 2.0, 161)   # between-account SD on the log scale (2.0 = a factor of 7)
TAU_SCALE, TAU_DF = 0.15, 3             # half-t prior: accounts of one niche differ by some 15 % (docs/calibration.md)
_LOG_PRIOR = sps.t.logpdf(TAU_GRID / TAU_SCALE, TAU_DF)
_TAIL = (1 - CI_LEVEL) / 2
HETEROGENEITY_ALPHA = 0.05   # a level the accounts clearly disagree on is not pooled


@dataclass(frozen=True)
class Direct:
    """One account's own estimate of a level (log scale) and the posts behind it."""
    value: float
    se: float
    n_in: int
    n_out: int


@dataclass(frozen=True)
class Posterior:
    """A mixture of normals over the tau grid: weights, means and SDs, all of one length."""
    weights: np.ndarray
    means: np.ndarray
    sds: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.weights @ self.means)

    def cdf(self, x: float) -> float:
        return float(self.weights @ special.ndtr((x - self.means) / self.sds))

    def quantile(self, level: float) -> float:
        """By brentq on the CDF, over the components that carry any weight."""
        used = self.weights > 1e-6 * self.weights.max()
        weights, means, sds = self.weights[used] / self.weights[used].sum(), self.means[used], self.sds[used]
        low, high = float((means - 10 * sds).min()), float((means + 10 * sds).max())
        return float(optimize.brentq(lambda x: weights @ special.ndtr((x - means) / sds) - level, low, high,
                                     xtol=1e-9))

    def interval(self, tail: float = _TAIL) -> tuple[float, float]:
        if len(self.means) == 1:   # one normal: closed form
            half = float(special.ndtri(1 - tail)) * float(self.sds[0])
            return float(self.means[0]) - half, float(self.means[0]) + half
        return self.quantile(tail), self.quantile(1 - tail)

    @property
    def lfsr(self) -> float:
        """The posterior chance that the sign of the mean is wrong."""
        below = min(max(self.cdf(0.0), 0.0), 1.0)   # a sum of weights can round past 1
        return min(below, 1 - below)


@dataclass(frozen=True)
class Shrunk:
    """One account's pooled estimate of one level."""
    posterior: Posterior
    own: Direct
    borrowed: float      # the posterior mean share taken from the siblings (0 = own data only)
    accounts: int        # how many accounts estimated this level


@dataclass(frozen=True)
class Family:
    """A lever family pooled: per account and level the shrunk estimate, per level the common one;
    tau_median is the posterior median of the shared tau (0 when no level was pooled)."""
    by_account: dict[str, dict[str, Shrunk]]
    common: dict[str, Posterior]
    tau_median: float


def _level_loglik(b: np.ndarray, s2: np.ndarray, known: np.ndarray) -> np.ndarray:
    """log p(level k's estimates | tau), mu_k integrated out under a flat prior: (grid, levels)."""
    v = s2[None] + TAU_GRID[:, None, None] ** 2                    # (T, A, K)
    w = np.where(known[None], 1 / v, 0.0)
    total = w.sum(axis=1)                                          # (T, K)
    mu = (w * np.where(known, b, 0.0)[None]).sum(axis=1) / np.where(total > 0, total, 1)
    resid2 = np.where(known[None], (b[None] - mu[:, None, :]) ** 2 / v, 0.0)
    loglik = -0.5 * (resid2 + np.where(known[None], np.log(v), 0.0)).sum(axis=1)
    return loglik - 0.5 * np.where(total > 0, np.log(np.where(total > 0, total, 1)), 0.0)


def _normalised(log_weights: np.ndarray) -> np.ndarray:
    weights = np.exp(log_weights - log_weights.max())
    return weights / weights.sum()


def _shared_tau_weights(loglik: np.ndarray) -> np.ndarray:
    """The posterior weights of the tau grid, tau shared by the lever's levels."""
    return _normalised(loglik.sum(axis=1) + _LOG_PRIOR)


def _differs(b: np.ndarray, s2: np.ndarray) -> bool:
    """Cochran's Q: do the accounts' estimates of this level differ more than their errors allow?"""
    if len(b) < 2:
        return False
    w = 1 / s2
    q = float((w * (b - (w * b).sum() / w.sum()) ** 2).sum())
    return float(special.chdtrc(len(b) - 1, q)) < HETEROGENEITY_ALPHA


def _unpooled(own: Direct, accounts: int) -> Shrunk:
    return Shrunk(Posterior(np.ones(1), np.array([own.value]), np.array([own.se])), own, 0.0, accounts)


def _fixed_effect(b: np.ndarray, s2: np.ndarray) -> Posterior:
    """The accounts' inverse-variance mean, for a level they disagree on (a summary, not a claim:
    the cross-account finding is then not universal, since the accounts do not all agree)."""
    w = 1 / s2
    return Posterior(np.ones(1), np.array([float((w * b).sum() / w.sum())]), np.array([math.sqrt(1 / w.sum())]))


def pool(estimates: dict[str, dict[str, Direct]]) -> Family:
    """estimates: account -> level -> its own estimate."""
    accounts = sorted(estimates)
    levels = sorted({level for by_level in estimates.values() for level in by_level})
    shape = (len(accounts), len(levels))
    b, s2, known = np.zeros(shape), np.ones(shape), np.zeros(shape, dtype=bool)
    for i, account in enumerate(accounts):
        for j, level in enumerate(levels):
            d = estimates[account].get(level)
            if d is not None and d.se > 0 and math.isfinite(d.value) and math.isfinite(d.se):
                b[i, j], s2[i, j], known[i, j] = d.value, d.se ** 2, True
    weights = _shared_tau_weights(_level_loglik(b, s2, known))
    tau2 = TAU_GRID[:, None] ** 2
    by_account: dict[str, dict[str, Shrunk]] = {a: {} for a in accounts}
    common: dict[str, Posterior] = {}
    pooled_any = False
    for j, level in enumerate(levels):
        rows = np.flatnonzero(known[:, j])
        if not len(rows):
            continue
        if _differs(b[rows, j], s2[rows, j]):  # an account-specific level: each account keeps its own
            for i in rows:
                by_account[accounts[i]][level] = _unpooled(estimates[accounts[i]][level], len(rows))
            common[level] = _fixed_effect(b[rows, j], s2[rows, j])
            continue
        pooled_any = True
        v = s2[rows, j][None] + tau2                                 # (T, A_j)
        total = (1 / v).sum(axis=1)                                  # (T,)
        mu = (b[rows, j][None] / v).sum(axis=1) / total
        common[level] = Posterior(weights, mu, np.sqrt(1 / total))
        for row_position, i in enumerate(rows):
            own = estimates[accounts[i]][level]
            if len(rows) == 1:   # no sibling to borrow from
                by_account[accounts[i]][level] = _unpooled(own, 1)
                continue
            shrink = s2[i, j] / v[:, row_position]                   # B per tau
            means = mu + (1 - shrink) * (b[i, j] - mu)
            sds = np.sqrt((1 - shrink) * s2[i, j] + shrink ** 2 / total)
            by_account[accounts[i]][level] = Shrunk(Posterior(weights, means, sds), own,
                                                    float(weights @ shrink), len(rows))
    tau_median = float(TAU_GRID[min(np.searchsorted(np.cumsum(weights), 0.5), len(TAU_GRID) - 1)])
    return Family(by_account, common, tau_median if pooled_any else 0.0)
