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

The computation is split at the cross-account side: fit_prior gives, per family, the tau weights and
each level's mu_k and precision at every tau; Family.shrunk gives one account's shrunk estimate from
that and its own. So a prior can be kept from one run to the next while it still holds (prior_holds,
below), and no account's shrunk estimates need be held for every account at once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

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


@dataclass(frozen=True)
class LevelPrior:
    """What the siblings say about one level: per tau, the common mean and its precision (one value
    each, the fixed effect, for a level the accounts disagree on), and which accounts estimated it."""
    accounts: tuple[str, ...]
    pooled: bool
    mu: np.ndarray
    total: np.ndarray


@dataclass(frozen=True)
class Prior:
    """A lever family's cross-account side of the pooling: the tau posterior and every level's
    common effect. With each account's own estimates it gives every shrunk estimate (shrink)."""
    weights: np.ndarray
    levels: dict[str, LevelPrior]
    tau_median: float

    def common(self, level: str) -> Posterior:
        prior = self.levels[level]
        weights = self.weights if prior.pooled else np.ones(1)
        return Posterior(weights, prior.mu, np.sqrt(1 / prior.total))


def _matrix(estimates: dict[str, dict[str, Direct]]):
    accounts = sorted(estimates)
    levels = sorted({level for by_level in estimates.values() for level in by_level})
    shape = (len(accounts), len(levels))
    b, s2, known = np.zeros(shape), np.ones(shape), np.zeros(shape, dtype=bool)
    for i, account in enumerate(accounts):
        for j, level in enumerate(levels):
            d = estimates[account].get(level)
            if d is not None and d.se > 0 and math.isfinite(d.value) and math.isfinite(d.se):
                b[i, j], s2[i, j], known[i, j] = d.value, d.se ** 2, True
    return accounts, levels, b, s2, known


def fit_prior(estimates: dict[str, dict[str, Direct]]) -> Prior:
    """estimates: account -> level -> its own estimate."""
    accounts, levels, b, s2, known = _matrix(estimates)
    weights = _shared_tau_weights(_level_loglik(b, s2, known))
    tau2 = TAU_GRID[:, None] ** 2
    priors: dict[str, LevelPrior] = {}
    for j, level in enumerate(levels):
        rows = np.flatnonzero(known[:, j])
        if not len(rows):
            continue
        names = tuple(accounts[i] for i in rows)
        if _differs(b[rows, j], s2[rows, j]):  # an account-specific level: each account keeps its own
            w = 1 / s2[rows, j]
            priors[level] = LevelPrior(names, False, np.array([float((w * b[rows, j]).sum() / w.sum())]),
                                       np.array([float(w.sum())]))
            continue
        v = s2[rows, j][None] + tau2                                 # (T, A_j)
        total = (1 / v).sum(axis=1)                                  # (T,)
        priors[level] = LevelPrior(names, True, (b[rows, j][None] / v).sum(axis=1) / total, total)
    pooled_any = any(p.pooled for p in priors.values())
    tau_median = float(TAU_GRID[min(np.searchsorted(np.cumsum(weights), 0.5), len(TAU_GRID) - 1)])
    return Prior(weights, priors, tau_median if pooled_any else 0.0)


@dataclass(frozen=True)
class Family:
    """A lever family pooled: its prior (the cross-account side) and every account's own estimates
    (account -> level -> Direct). An account's shrunk estimate of a level is computed when it is
    asked for, not kept for every account: analyze holds every family of every account at once, and
    the shrunk mixtures (three arrays over the tau grid each) would grow it with the accounts."""
    prior: Prior
    estimates: dict[str, dict[str, Direct]]

    @cached_property
    def common(self) -> dict[str, Posterior]:
        """Per level, the common (cross-account) effect."""
        return {level: self.prior.common(level) for level in self.prior.levels}

    @property
    def tau_median(self) -> float:
        """The posterior median of the shared tau (0 when no level was pooled)."""
        return self.prior.tau_median

    def shrunk(self, account: str, level: str) -> Shrunk | None:
        """The account's estimate of the level shrunk toward the common effect (None: it has none)."""
        lp, own = self.prior.levels.get(level), self.estimates.get(account, {}).get(level)
        if lp is None or own is None or account not in lp.accounts:
            return None
        if not lp.pooled or len(lp.accounts) == 1:   # disagreeing, or no sibling to borrow from
            return _unpooled(own, len(lp.accounts))
        s2 = own.se ** 2
        shrinkage = s2 / (s2 + TAU_GRID ** 2)                              # B per tau
        means = lp.mu + (1 - shrinkage) * (own.value - lp.mu)
        sds = np.sqrt((1 - shrinkage) * s2 + shrinkage ** 2 / lp.total)
        return Shrunk(Posterior(self.prior.weights, means, sds), own, float(self.prior.weights @ shrinkage),
                      len(lp.accounts))

    def account_levels(self, account: str) -> dict[str, Shrunk]:
        """Every level the account has, shrunk, in the prior's (sorted) order of levels."""
        found = {level: self.shrunk(account, level) for level in self.prior.levels}
        return {level: shrunk for level, shrunk in found.items() if shrunk is not None}

    def accounts_with(self, level: str) -> dict[str, Shrunk]:
        """Every account's shrunk estimate of the level, by account name."""
        lp = self.prior.levels.get(level)
        return {account: self.shrunk(account, level) for account in sorted(lp.accounts)} if lp else {}


def shrink(prior: Prior, estimates: dict[str, dict[str, Direct]]) -> Family:
    """The accounts' estimates with the prior to shrink them toward. The prior must cover exactly the
    accounts and levels of the estimates (fit_prior of them, or one that still holds: prior_holds)."""
    return Family(prior, estimates)


# --- keeping a prior while it holds (docs/analyze.md, "The kept prior") ---------------------------
# One account's new posts move every family's common effects a little, and so every account's
# findings; a prior is kept while the refitted one stays this close to it, so that the other accounts'
# findings (and their files and pages) stay as they were. Kept, it moves no account's pooled mean by
# more than MEAN_TOLERANCE of that estimate's own posterior SD at any tau (the shrunk mean moves by
# B * the common mean's move, and its SD is at least B * the common mean's SD).
MEAN_TOLERANCE = 0.1        # a common mean may drift by this share of its SD, at every tau that counts
PRECISION_TOLERANCE = 0.05  # its precision by this share (log scale)
WEIGHT_TOLERANCE = 0.02     # the tau posterior by this total-variation distance
_COUNTS = 1e-4              # a tau grid point with less posterior weight than this does not count


def prior_holds(kept: Prior, fitted: Prior) -> bool:
    """Whether a kept prior still stands for the data the fitted one was fitted to: the same accounts
    and levels, the same levels pooled, and every common effect within the tolerances above."""
    if kept.levels.keys() != fitted.levels.keys() or kept.weights.shape != fitted.weights.shape:
        return False
    if 0.5 * float(np.abs(kept.weights - fitted.weights).sum()) > WEIGHT_TOLERANCE:
        return False
    counts = np.maximum(kept.weights, fitted.weights) > _COUNTS
    for level, new in fitted.levels.items():
        old = kept.levels[level]
        if (old.accounts, old.pooled) != (new.accounts, new.pooled) or old.mu.shape != new.mu.shape:
            return False
        where = counts if new.pooled else np.ones(1, dtype=bool)
        drift = np.abs(old.mu - new.mu) * np.sqrt(new.total)
        if (drift[where] > MEAN_TOLERANCE).any() \
                or (np.abs(np.log(old.total / new.total))[where] > PRECISION_TOLERANCE).any():
            return False
    return True


def prior_to_json(prior: Prior) -> dict:
    return {"weights": prior.weights.tolist(), "tau_median": prior.tau_median,
            "levels": {level: {"accounts": list(lp.accounts), "pooled": lp.pooled, "mu": lp.mu.tolist(),
                               "total": lp.total.tolist()} for level, lp in prior.levels.items()}}


def prior_from_json(doc) -> Prior:
    """A stored prior, checked (ValueError when it is not one this code could have written)."""
    weights = _finite(doc["weights"], len(TAU_GRID))
    if (weights < 0).any() or abs(float(weights.sum()) - 1) > 1e-6:
        raise ValueError("weights are not a distribution")
    levels = {}
    for level, lp in doc["levels"].items():
        size = len(TAU_GRID) if lp["pooled"] is True else 1
        total = _finite(lp["total"], size)
        if not isinstance(level, str) or not all(isinstance(a, str) for a in lp["accounts"]) \
                or not lp["accounts"] or (total <= 0).any() or not isinstance(lp["pooled"], bool):
            raise ValueError(f"level {level!r} is malformed")
        levels[level] = LevelPrior(tuple(lp["accounts"]), lp["pooled"], _finite(lp["mu"], size), total)
    tau = doc["tau_median"]
    if not isinstance(tau, float) or not 0 <= tau <= TAU_GRID[-1]:
        raise ValueError("tau_median is out of range")
    return Prior(weights, levels, tau)


def _finite(values, size: int) -> np.ndarray:
    if not isinstance(values, list) or len(values) != size or not all(type(v) is float for v in values):
        raise ValueError(f"expected {size} numbers")
    array = np.array(values, dtype=float)
    if not np.isfinite(array).all():
        raise ValueError("not finite")
    return array
