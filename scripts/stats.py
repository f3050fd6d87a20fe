"""Robust statistics for the analyzer: rank tests, seeded bootstrap intervals, FDR control, confidence.

Engagement counts are heavy-tailed (a few posts go viral), so every comparison here works on
medians, ranks or the log scale, and every interval is either exact-ish or a seeded bootstrap:
the same input always gives the same numbers.

Only scipy.special is imported: importing scipy.stats alone costs about a second, a tenth of the
analyzer's time budget. Each formula here is tested against its scipy.stats counterpart
(tests/test_stats.py).
"""
from __future__ import annotations

import functools
import math
import zlib
from dataclasses import dataclass

import numpy as np
from scipy import special

CI_LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000  # draws from the exact bootstrap distribution of a median (see below)
MIN_GROUP = 10              # fewer posts than this in either group: no comparison (research: >= 10 per arm)
MIN_GROUP_HIGH = 20         # "high" needs at least this many posts in the smaller group
Q_HIGH = 0.01               # Benjamini-Hochberg q below which evidence may be "high"
Q_MEDIUM = 0.05             # ... and "medium"
_ALPHA = 1 - CI_LEVEL
_Z = float(special.ndtri(1 - _ALPHA / 2))   # the normal quantile of a two-sided CI_LEVEL interval


def seed_for(key: str) -> int:
    """A bootstrap seed derived from the finding id: stable across runs and independent of order."""
    return zlib.crc32(key.encode("utf-8"))


def tie_term(ordered: np.ndarray) -> float:
    """Sum of t^3 - t over the runs of equal values (length t) of a sorted array."""
    new_value = ordered[1:] != ordered[:-1]
    if new_value.all():
        return 0.0
    starts = np.concatenate(([0], np.flatnonzero(new_value) + 1, [len(ordered)]))
    runs = np.diff(starts).astype(float)
    return float((runs ** 3 - runs).sum())


def _rank_sum_terms(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Rank sum of A in the pooled sample (ties share their mean rank), its expectation and its
    tie-corrected variance."""
    n_a, n_b = len(a), len(b)
    n = n_a + n_b
    pooled = np.sort(np.concatenate([a, b]))
    # a value's mean rank among ties is the midpoint of its run in the sorted pooled sample
    rank_sum = float((np.searchsorted(pooled, a, "left") + np.searchsorted(pooled, a, "right") + 1).sum()) / 2
    ties = tie_term(pooled) / (n * (n - 1)) if n > 1 else 0.0
    return rank_sum, n_a * (n + 1) / 2, n_a * n_b / 12 * ((n + 1) - ties)


def mann_whitney(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value, normal approximation with tie and continuity correction
    (what scipy.stats.mannwhitneyu(method="asymptotic") computes, without its per-call overhead)."""
    rank_sum, expected, variance = _rank_sum_terms(a, b)
    if variance <= 0:
        return 1.0
    z = max(abs(rank_sum - expected) - 0.5, 0.0) / math.sqrt(variance)
    return float(min(1.0, 2 * special.ndtr(-z)))


@dataclass(frozen=True)
class Comparison:
    """Group A against group B on one metric."""
    n_a: int
    n_b: int
    median_a: float
    median_b: float
    effect: float | None          # ratio of medians (A / B) or difference of medians (A - B)
    ci: tuple[float, float] | None
    p: float


def percentile_ci(samples: np.ndarray) -> tuple[float, float] | None:
    """The CI_LEVEL percentile interval of bootstrap draws (linear interpolation, as numpy's
    default); None if over 10% of the draws are undefined."""
    finite = np.sort(samples[np.isfinite(samples)])
    if len(finite) < 0.9 * len(samples) or len(finite) == 0:
        return None
    positions = np.array([_ALPHA / 2, 1 - _ALPHA / 2]) * (len(finite) - 1)
    low, high = np.interp(positions, np.arange(len(finite)), finite)
    return float(low), float(high)


def median(values: np.ndarray) -> float:
    """np.median without its per-call overhead (no NaN handling: callers pass known values)."""
    return _median_of_sorted(np.sort(values))


def _median_of_sorted(ordered: np.ndarray) -> float:
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else float((ordered[mid - 1] + ordered[mid]) / 2)


@functools.lru_cache(maxsize=4096)
def _resample_median_cdf(n: int) -> np.ndarray:
    """P(the lower median of a bootstrap resample of n values is <= the j-th smallest), j = 1..n:
    at least (n+1)//2 of the n draws land at or below it, a Binomial(n, j/n) event. It depends on n
    only, so it is computed once per group size."""
    cdf = np.zeros(n)
    # outside +-8 standard deviations of n/2 the probability is 0 or 1 to double precision
    half_width = int(8 * math.sqrt(n)) + 2
    low, high = max(1, n // 2 - half_width), min(n, n // 2 + half_width)
    cdf[low - 1:high] = special.bdtrc((n + 1) // 2 - 1, n, np.arange(low, high + 1) / n)
    cdf[high:] = 1.0
    cdf.flags.writeable = False
    return cdf


def _bootstrap_medians(ordered: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draws of the median of a bootstrap resample of the sorted values, taken from its exact
    distribution (inverse CDF) instead of by resampling: the same distribution, at O(resamples)."""
    cdf = _resample_median_cdf(len(ordered))
    picks = np.minimum(np.searchsorted(cdf, rng.random(BOOTSTRAP_RESAMPLES)), len(ordered) - 1)
    return ordered[picks]


def compare_groups(a, b, key: str, kind: str = "ratio") -> Comparison | None:
    """Median of A against median of B: Mann-Whitney U p (two-sided) and a seeded bootstrap
    percentile interval for the ratio (kind="ratio") or difference (kind="difference") of medians.
    None when either group is smaller than MIN_GROUP."""
    a, b = np.sort(np.asarray(a, dtype=float)), np.sort(np.asarray(b, dtype=float))
    if len(a) < MIN_GROUP or len(b) < MIN_GROUP:
        return None
    median_a, median_b = _median_of_sorted(a), _median_of_sorted(b)
    p = mann_whitney(a, b)
    rng = np.random.default_rng(seed_for(key))
    boot_a, boot_b = _bootstrap_medians(a, rng), _bootstrap_medians(b, rng)
    if kind == "ratio":
        effect = median_a / median_b if median_b > 0 else None
        with np.errstate(divide="ignore", invalid="ignore"):
            ci = percentile_ci(boot_a / boot_b) if effect is not None else None
    else:
        effect = median_a - median_b
        ci = percentile_ci(boot_a - boot_b)
    return Comparison(len(a), len(b), median_a, median_b, effect, ci, p if math.isfinite(p) else 1.0)


@dataclass(frozen=True)
class Correlation:
    n: int
    rho: float
    ci: tuple[float, float]
    p: float


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank (scipy.stats.rankdata's default)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.concatenate(([0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1))
    ends = np.concatenate((starts[1:], [len(values)]))
    ranks = np.empty(len(values))
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    return ranks


def spearman(x, y) -> Correlation | None:
    """Spearman's rho with a Fisher-z interval (Bonett & Wright's variance for rank correlations)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n < 2 * MIN_GROUP or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    rho = float(np.corrcoef(average_ranks(x), average_ranks(y))[0, 1])
    rho = float(np.clip(rho, -0.999999, 0.999999))
    t = rho * math.sqrt((n - 2) / (1 - rho ** 2))
    p = float(2 * special.stdtr(n - 2, -abs(t)))    # scipy.stats.spearmanr's t approximation
    half = _Z * math.sqrt((1 + rho ** 2 / 2) / (n - 3))
    z = math.atanh(rho)
    return Correlation(n, rho, (math.tanh(z - half), math.tanh(z + half)), float(p))


def _log_choose(n, k):
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)


def hypergeom_tail(k: int, total: int, carriers: int, drawn: int) -> float:
    """P(X >= k) for X ~ Hypergeometric(total, carriers, drawn): Fisher's one-sided exact test
    that the drawn posts hold more carriers of a trait than chance would give."""
    x = np.arange(max(k, 0), min(carriers, drawn) + 1)
    if len(x) == 0:
        return 0.0
    log_pmf = _log_choose(carriers, x) + _log_choose(total - carriers, drawn - x) - _log_choose(total, drawn)
    return float(min(1.0, np.exp(log_pmf).sum()))


@dataclass(frozen=True)
class OverRepresentation:
    """How much more often a trait appears among selected posts (e.g. the worst fifth) than among the rest."""
    selected_with: int
    selected: int
    rest_with: int
    rest: int
    odds_ratio: float
    ci: tuple[float, float]
    p: float


def over_representation(with_trait: np.ndarray, selected: np.ndarray) -> list[OverRepresentation]:
    """One-sided Fisher exact test per trait (rows of with_trait, booleans over posts) for being
    over-represented among the selected posts; Woolf interval for the odds ratio (Haldane +0.5)."""
    with_trait = np.atleast_2d(np.asarray(with_trait, dtype=bool))
    selected = np.asarray(selected, dtype=bool)
    total, chosen = selected.size, int(selected.sum())
    k = (with_trait & selected).sum(axis=1)
    carriers = with_trait.sum(axis=1)
    p = [hypergeom_tail(int(k[i]), total, int(carriers[i]), chosen) for i in range(len(k))]
    a, b = k + 0.5, chosen - k + 0.5
    c, d = carriers - k + 0.5, total - chosen - (carriers - k) + 0.5
    log_or = np.log(a * d / (b * c))
    half = _Z * np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return [OverRepresentation(int(k[i]), chosen, int(carriers[i] - k[i]), total - chosen,
                               float(np.exp(log_or[i])), (float(np.exp(log_or[i] - half[i])),
                                                          float(np.exp(log_or[i] + half[i]))),
                               p[i])
            for i in range(len(k))]


@dataclass(frozen=True)
class Proportion:
    k: int
    n: int
    share: float
    ci: tuple[float, float]
    p: float


def proportion_above(k: int, n: int, expected: float) -> Proportion:
    """Is a share above `expected`? One-sided exact binomial test, P(X >= k); Wilson interval
    (the same numbers as scipy.stats.binomtest, without its per-call cost)."""
    p = float(special.bdtrc(k - 1, n, expected)) if k > 0 else 1.0
    z = float(special.ndtri(1 - _ALPHA / 2))
    centre = (k + z * z / 2) / (n + z * z)
    half = z * math.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    return Proportion(k, n, k / n, (centre - half, centre + half), p)


def none_in_recent(recent: int, historic_share: float) -> float:
    """P(a format with this historic share appears in none of `recent` independent posts)."""
    return float((1 - historic_share) ** recent)


def heterogeneity(estimates: list[float], errors: list[float]) -> float | None:
    """Cochran's Q test (p) that per-stratum estimates differ by more than their standard errors
    allow: Q = sum w (theta - weighted mean)^2, w = 1/se^2, against chi-square with k-1 df."""
    usable = [(t, e) for t, e in zip(estimates, errors) if e > 0 and math.isfinite(e)]
    if len(usable) < 2:
        return None
    theta = np.array([t for t, _ in usable])
    weight = 1 / np.array([e for _, e in usable]) ** 2
    pooled = float((weight * theta).sum() / weight.sum())
    q = float((weight * (theta - pooled) ** 2).sum())
    return float(special.chdtrc(len(usable) - 1, q))


@dataclass(frozen=True)
class LinearFit:
    """Ordinary least squares with the classical covariance s^2 (X'X)^+ and residual df."""
    beta: np.ndarray
    cov: np.ndarray
    df: int
    row_space: np.ndarray   # pinv(X) X: a contrast c can be estimated when c (pinv(X) X) = c


@dataclass(frozen=True)
class Estimate:
    value: float
    se: float
    p: float                # two-sided
    ci: tuple[float, float]


def least_squares(x: np.ndarray, y: np.ndarray) -> LinearFit | None:
    """OLS fit through one SVD (minimum-norm when columns are collinear); None without residual
    degrees of freedom."""
    u, singular, vt = np.linalg.svd(x, full_matrices=False)
    rank = int((singular > singular.max() * max(x.shape) * np.finfo(float).eps).sum())
    df = len(y) - rank
    if df < 1:
        return None
    u, singular, vt = u[:, :rank], singular[:rank], vt[:rank]
    beta = vt.T @ ((u.T @ y) / singular)
    residual = y - x @ beta
    scaled = vt.T / singular                       # (X'X)^+ = V S^-2 V'
    return LinearFit(beta, float(residual @ residual) / df * (scaled @ scaled.T), df, vt.T @ vt)


def contrast(fit: LinearFit, weights: np.ndarray) -> Estimate | None:
    """t test and t interval of a linear combination of the coefficients; None if the data cannot
    tell it apart (it is not in the row space of the design)."""
    if np.abs(weights @ fit.row_space - weights).max() > 1e-8:
        return None
    value = float(weights @ fit.beta)
    se = math.sqrt(max(float(weights @ fit.cov @ weights), 0.0))
    if se == 0:
        return None
    p = float(2 * special.stdtr(fit.df, -abs(value) / se))
    half = float(special.stdtrit(fit.df, 1 - _ALPHA / 2)) * se
    return Estimate(value, se, p, (value - half, value + half))


def block_test(fit: LinearFit, columns: list[int]) -> float | None:
    """Wald F test (p) that a block of coefficients (one factor's levels) is all zero."""
    if not columns:
        return None
    b = fit.beta[columns]
    covariance = fit.cov[np.ix_(columns, columns)]
    rank = int(np.linalg.matrix_rank(covariance))
    if rank == 0:
        return None
    statistic = float(b @ np.linalg.pinv(covariance) @ b) / rank
    return float(special.fdtrc(rank, fit.df, statistic))


def fixed_effect(estimates: list[Estimate]) -> Estimate | None:
    """Inverse-variance (fixed-effect) pooling of independent estimates, with a normal z test."""
    if not estimates:
        return None
    weights = np.array([1 / e.se ** 2 for e in estimates])
    value = float((weights * np.array([e.value for e in estimates])).sum() / weights.sum())
    se = 1 / math.sqrt(weights.sum())
    return Estimate(value, se, float(2 * special.ndtr(-abs(value) / se)), (value - _Z * se, value + _Z * se))


def bh_qvalues(pvalues: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q) for the whole family of comparisons made."""
    if not pvalues:
        return []
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="mergesort")
    scaled = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.empty(len(p))
    q[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])  # step-up: min over larger p
    return [float(v) for v in q]


def chi_square_independence(table: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-square test of independence for a contingency table (no continuity
    correction): (p, Cramér's V)."""
    table = np.asarray(table, dtype=float)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)
    return float(special.chdtrc(dof, statistic)), math.sqrt(statistic / (table.sum() * (min(table.shape) - 1)))


def excludes(ci: tuple[float, float] | None, null_value: float) -> bool:
    return ci is not None and (ci[0] > null_value or ci[1] < null_value)


def confidence(q: float | None, ci, null_value: float, smallest_group: int) -> str:
    """high: q < Q_HIGH, the interval excludes "no effect" and the smaller group has >= MIN_GROUP_HIGH
    posts; medium: q < Q_MEDIUM and the interval excludes "no effect"; low otherwise."""
    if q is None or not excludes(ci, null_value):
        return "low"
    if q < Q_HIGH and smallest_group >= MIN_GROUP_HIGH:
        return "high"
    return "medium" if q < Q_MEDIUM else "low"
